import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { startServer, type RunningServer, type ServerOptions } from '../../src/index.js';
import { dropTestDatabase, testDatabaseFor } from './postgres.js';

export const TEST_ADMIN_TOKEN = 'test-admin-token-0123456789abcdef';

export interface TestServer extends RunningServer {
  baseUrl: string;
  api<T = unknown>(
    method: string,
    path: string,
    body?: unknown,
    token?: string,
  ): Promise<{ status: number; body: T; headers: Headers }>;
  stop(): Promise<void>;
}

/**
 * A real server on loopback with a throwaway data folder. The MQTT port is 0
 * unless a test drives the Azure SDK (which only speaks to 8883).
 */
export async function startTestServer(overrides: Partial<ServerOptions> = {}): Promise<TestServer> {
  const dataDir = overrides.dataDir ?? (await mkdtemp(join(tmpdir(), 'gatehouse-test-')));
  // GATEHOUSE_TEST_SERVER_STORE=postgres runs every real-server test on PostgreSQL (from
  // GATEHOUSE_TEST_DATABASE_URL): the same tests prove the queries portable. The database
  // belongs to the data folder, so a test that restarts a server on its folder finds its state.
  const ownDatabase =
    overrides.databaseUrl === undefined && process.env['GATEHOUSE_TEST_SERVER_STORE'] === 'postgres'
      ? await testDatabaseFor(dataDir)
      : undefined;
  const server = await startServer({
    dataDir,
    hostName: 'localhost',
    bindHost: '127.0.0.1',
    mqttPort: 0,
    httpPort: 0,
    httpsPort: 0,
    adminToken: TEST_ADMIN_TOKEN,
    logger: pino({ level: process.env['GATEHOUSE_TEST_LOG'] ?? 'silent' }),
    dpsRetryAfterSeconds: 0.1,
    // Every test client is 127.0.0.1: the per-address sign-in limit would join unrelated tests'
    // failures. The tests of that limit set it (sign-in-limits.test.ts).
    signInLimits: { ipFailures: 10_000 },
    ...(ownDatabase ? { databaseUrl: ownDatabase.url } : {}),
    ...overrides,
  });
  const baseUrl = `http://127.0.0.1:${server.http.port}`;
  return {
    ...server,
    baseUrl,
    async api(method, path, body, token = TEST_ADMIN_TOKEN) {
      const res = await httpCall(baseUrl, method, path, { authorization: `Bearer ${token}` }, body);
      return { ...res, body: res.body as never };
    },
    async stop() {
      await server.close();
      if (!overrides.dataDir) await rm(dataDir, { recursive: true, force: true });
      // With the folder it made goes the folder's database.
      if (ownDatabase && !overrides.dataDir) await dropTestDatabase(ownDatabase.name);
    },
  };
}

/**
 * One HTTP call to `baseUrl + path` with exactly `headers` (and the JSON content type when
 * there is a body); the answer's body parsed as JSON when it is JSON, else its text.
 */
export async function httpCall(
  baseUrl: string,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: unknown,
): Promise<{ status: number; body: unknown; headers: Headers }> {
  const res = await fetch(baseUrl + path, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    /* not JSON */
  }
  return { status: res.status, body: parsed, headers: res.headers };
}
