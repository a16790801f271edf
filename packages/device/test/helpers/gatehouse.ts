/**
 * A real Gatehouse server on loopback (STYLE.md §8: port 0, read back) with a throwaway data
 * folder, started like packages/server/test/helpers/test-server.ts. `restart()` stops it and
 * starts it again on the same data folder and MQTT port, so devices can reconnect.
 */
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { startServer, type RunningServer } from '@gatehouse/server';

export const ADMIN_TOKEN = 'device-sdk-test-admin-token-0123456789';

export interface Gatehouse {
  server: RunningServer;
  idScope: string;
  mqttPort: number;
  /** PEM of the CA that signed the server certificate. */
  ca: string;
  api<T = unknown>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }>;
  /** Stop only (the data folder stays), to test reconnects; `start()` brings it back. */
  stopOnly(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export async function startGatehouse(): Promise<Gatehouse> {
  const dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-device-test-'));
  let mqttPort = 0;
  let running: RunningServer | undefined;
  const boot = async (): Promise<RunningServer> => {
    const server = await startServer({
      dataDir,
      hostName: 'localhost',
      bindHost: '127.0.0.1',
      mqttPort,
      httpPort: 0,
      adminToken: ADMIN_TOKEN,
      logger: pino({ level: process.env['GATEHOUSE_TEST_LOG'] ?? 'silent' }),
      dpsRetryAfterSeconds: 0.1,
    });
    mqttPort = server.mqtt.port;
    return server;
  };
  running = await boot();
  const ca = await readFile(running.serverCaPath as string, 'utf8');
  const g: Gatehouse = {
    server: running,
    idScope: running.idScope,
    mqttPort,
    ca,
    async api<T>(method: string, path: string, body?: unknown) {
      if (!running) throw new Error('the server is stopped');
      const res = await fetch(`http://127.0.0.1:${running.http.port}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${ADMIN_TOKEN}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        /* not JSON */
      }
      return { status: res.status, body: parsed as T };
    },
    async stopOnly() {
      await running?.close();
      running = undefined;
    },
    async start() {
      running = await boot();
      g.server = running;
    },
    async stop() {
      await running?.close();
      running = undefined;
      await rm(dataDir, { recursive: true, force: true });
    },
  };
  return g;
}

/** Poll `read` until `ok` holds (REST reflects device actions asynchronously). */
export async function eventually<T>(
  read: () => Promise<T>,
  ok: (v: T) => boolean,
  what: string,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = await read();
  while (!ok(last)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 100));
    last = await read();
  }
  return last;
}

/** Resolve with the arguments of the next `event` that satisfies `ok`. */
export function nextEvent<A extends unknown[]>(
  emitter: { on(e: string, l: (...a: A) => void): unknown; off(e: string, l: (...a: A) => void): unknown },
  event: string,
  ok: (...args: A) => boolean = () => true,
  timeoutMs = 20_000,
): Promise<A> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, listener);
      reject(new Error(`no '${event}' event within ${timeoutMs} ms`));
    }, timeoutMs);
    const listener = (...args: A): void => {
      if (!ok(...args)) return;
      clearTimeout(timer);
      emitter.off(event, listener);
      resolve(args);
    };
    emitter.on(event, listener);
  });
}

/** Wait until the hub's persistent session of `deviceId` holds `filter` (the SUBSCRIBE landed). */
export async function subscribed(g: Gatehouse, deviceId: string, filter: string): Promise<void> {
  await eventually(
    () => g.server.db.selectFrom('hub_sessions').select('filter').where('device_id', '=', deviceId).execute(),
    (rows) => rows.some((r) => r.filter === filter),
    `subscription ${filter} of ${deviceId}`,
  );
}
