/**
 * The harness of the admin command tests (admin.test.ts): `gatehouse serve` in its own
 * process with a user's clean environment, the CLI run as users run it, and a DPS
 * registration over MQTT/TLS.
 */
import { execFile, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { MAIN } from './cli.js';
import { startServeProcess } from './serve-process.js';

/** The built binary, as users run it. */
export const ADMIN_MAIN = MAIN;

export const TOKEN = 'admin-test-token-0123456789abcdef';

export interface Result {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** The environment of a user who has set nothing: no GATEHOUSE_URL, _TOKEN or _DATA. */
export function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of ['GATEHOUSE_URL', 'GATEHOUSE_TOKEN', 'GATEHOUSE_DATA', 'GATEHOUSE_ADMIN_TOKEN'])
    delete env[name];
  return { ...env, ...extra };
}

/** Runs `gatehouse <args>` in `cwd` without blocking the event loop (the MQTT client lives here). */
export function run(main: string, cwd: string, env: NodeJS.ProcessEnv, args: string[]): Promise<Result> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [main, ...args],
      { cwd, env: cleanEnv(env), encoding: 'utf8', timeout: 60_000 },
      (err, stdout, stderr) => {
        const status = err ? (typeof err.code === 'number' ? err.code : null) : 0;
        resolve({ status, stdout, stderr });
      },
    );
  });
}

export interface Serve {
  child: ChildProcess;
  /** The folder that holds gatehouse-data/, where a user would run the commands. */
  home: string;
  dataDir: string;
  url: string;
  mqttPort: number;
  idScope: string;
  caPath: string;
}

export async function startServe(): Promise<Serve> {
  const home = mkdtempSync(join(tmpdir(), 'gatehouse-admin-'));
  const dataDir = join(home, 'gatehouse-data');
  mkdirSync(dataDir);
  const s = await startServeProcess({
    dataDir,
    token: TOKEN,
    baseEnv: cleanEnv(),
    args: ['--dps-retry-after', '1'],
  });
  return {
    child: s.child,
    home,
    dataDir,
    url: s.url,
    mqttPort: s.mqttPort,
    idScope: s.idScope,
    caPath: s.caPath,
  };
}

export function stopServe(s: Serve): Promise<void> {
  return new Promise((resolve) => {
    if (s.child.exitCode !== null) return resolve();
    s.child.once('exit', () => resolve());
    s.child.kill('SIGTERM');
  });
}

/** A port nothing listens on: bound, then released. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  await new Promise((r) => server.close(r));
  return port;
}

export interface DpsReply {
  status: number;
  body: Record<string, unknown>;
}

/**
 * The DPS exchange over MQTT/TLS (PROTOCOL.md §1): register, then poll the operation until it
 * is no longer `assigning`. Resolves to the last reply, or to the refusal.
 */
export async function registerOverMqtt(
  s: Serve,
  registrationId: string,
  cert: string,
  key: string,
): Promise<DpsReply> {
  const client = mqtt.connect(`mqtts://127.0.0.1:${s.mqttPort}`, {
    protocolVersion: 4,
    clientId: registrationId,
    username: `${s.idScope}/registrations/${registrationId}/api-version=2019-03-31`,
    clean: true,
    reconnectPeriod: 0,
    ca: readFileSync(s.caPath),
    servername: 'localhost',
    cert,
    key,
  });
  try {
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
    });
    const replies: DpsReply[] = [];
    let wake: (() => void) | undefined;
    client.on('message', (topic, payload) => {
      const status = Number(/\$dps\/registrations\/res\/(\d+)\//.exec(topic)?.[1]);
      replies.push({ status, body: JSON.parse(payload.toString()) as Record<string, unknown> });
      wake?.();
    });
    const next = async (): Promise<DpsReply> => {
      const deadline = Date.now() + 15_000;
      while (replies.length === 0) {
        if (Date.now() > deadline) throw new Error('no DPS reply within 15 s');
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(r, 200);
        });
      }
      return replies.shift()!;
    };
    await client.subscribeAsync('$dps/registrations/res/#', { qos: 1 });
    await client.publishAsync(
      '$dps/registrations/PUT/iotdps-register/?$rid=1',
      JSON.stringify({ registrationId }),
      { qos: 1 },
    );
    let reply = await next();
    if (reply.status !== 202) return reply;
    const operationId = String(reply.body['operationId']);
    for (let rid = 2; rid < 30; rid++) {
      await new Promise((r) => setTimeout(r, 300));
      await client.publishAsync(
        `$dps/registrations/GET/iotdps-get-operationstatus/?$rid=${rid}&operationId=${operationId}`,
        '',
        { qos: 1 },
      );
      reply = await next();
      if (reply.status !== 202) return reply;
    }
    return reply;
  } finally {
    await client.endAsync(true).catch(() => undefined);
  }
}
