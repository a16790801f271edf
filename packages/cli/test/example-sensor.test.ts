/**
 * examples/environmental-sensor as a user runs it: a real `gatehouse serve` process, then
 * `node examples/environmental-sensor/run.mjs`, which reads the data folder, asks the REST API
 * for the ID scope and the SAS-IoT-Devices key, and starts the tutorial's sensor. Checked from
 * the REST API: telemetry, the reported state, a command and a writable-property ack.
 *
 * The Azure SDK variant only connects to port 8883, so it holds the same port lock file as
 * the server package's SDK tests (packages/server/test/helpers/port-lock.ts).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { acquirePortLock } from './helpers/port-lock.js';
import { after, describe, it } from 'node:test';
import { MAIN } from './helpers/cli.js';

/** dist/test/example-sensor.test.js → the repository root. */
const ROOT = process.env.GATEHOUSE_REPO_ROOT ?? fileURLToPath(new URL('../../../../', import.meta.url));
const RUN = join(ROOT, 'examples', 'environmental-sensor', 'run.mjs');
const TOKEN = 'example-sensor-token-0123456789abcdef';

/** Holds the port lock (helpers/port-lock.ts) while `fn` runs. */
async function withPortLock<T>(port: number, fn: () => Promise<T>): Promise<T> {
  const release = await acquirePortLock(port);
  try {
    return await fn();
  } finally {
    release();
  }
}

const children: ChildProcess[] = [];
const dirs: string[] = [];

interface Serve {
  child: ChildProcess;
  url: string;
  dataDir: string;
}

async function startServe(mqttPort: number): Promise<Serve> {
  const dataDir = mkdtempSync(join(tmpdir(), 'gatehouse-example-'));
  dirs.push(dataDir);
  const child = spawn(
    process.execPath,
    [
      MAIN,
      'serve',
      '--data',
      dataDir,
      '--bind',
      '127.0.0.1',
      '--mqtt-port',
      String(mqttPort),
      '--http-port',
      '0',
      '--https-port',
      '0',
      '--dps-retry-after',
      '1',
      '--log-level',
      'warn',
    ],
    { env: { ...process.env, GATEHOUSE_ADMIN_TOKEN: TOKEN }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  children.push(child);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const deadline = Date.now() + 30_000;
  while (!/Administrator API token/.test(out)) {
    if (child.exitCode !== null) throw new Error(`serve exited early: ${out}`);
    if (Date.now() > deadline) throw new Error(`serve printed no banner: ${out}`);
    await sleep(50);
  }
  const httpPort = Number(/http:\/\/localhost:(\d+)\//.exec(out)?.[1]);
  return { child, url: `http://127.0.0.1:${httpPort}`, dataDir };
}

function stop(s: Serve): Promise<void> {
  if (s.child.exitCode !== null || s.child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    s.child.once('exit', () => resolve());
    s.child.kill('SIGTERM');
  });
}

interface Properties {
  state?: unknown;
  name?: unknown;
  $metadata?: Record<string, { ackCode?: number; ackVersion?: number; desiredVersion?: number }>;
}
interface Command {
  responseCode?: number;
  response?: unknown;
}

async function api<T>(s: Serve, path: string, init: RequestInit = {}): Promise<{ status: number; body: T }> {
  const res = await fetch(`${s.url}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/**
 * Runs the example for `seconds`, and while it runs checks what an operator sees: the reported
 * state, a blink command, a writable `name` acknowledged with ac/av, and stored telemetry.
 */
async function runExample(
  s: Serve,
  deviceId: string,
  extra: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<void> {
  const child = spawn(process.execPath, [RUN, '--seconds', '5', '--device-id', deviceId, ...extra], {
    cwd: ROOT,
    env: {
      ...process.env,
      GATEHOUSE_DATA: s.dataDir,
      GATEHOUSE_URL: s.url,
      GATEHOUSE_ADMIN_TOKEN: '',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const device = `/api/devices/${deviceId}`;
  try {
    await waitFor('the reported state', async () => {
      if (child.exitCode !== null) throw new Error(`run.mjs exited early (${child.exitCode}): ${out}`);
      const r = await api<Properties>(s, `${device}/properties`);
      return r.status === 200 && r.body.state === 'true' ? true : undefined;
    });

    const blink = await api<Command>(s, `${device}/commands/blink`, {
      method: 'POST',
      body: JSON.stringify({ request: 2 }),
    });
    assert.equal(blink.status, 201, JSON.stringify(blink.body));
    assert.equal(blink.body.responseCode, 200);
    assert.deepEqual(blink.body.response, { status: 'Blinking LED every 2 seconds' });

    const patch = await api<Properties>(s, `${device}/properties`, {
      method: 'PATCH',
      body: JSON.stringify({ name: 'Kitchen' }),
    });
    assert.equal(patch.status, 202, JSON.stringify(patch.body));
    const acked = await waitFor('the name ack', async () => {
      const r = await api<Properties>(s, `${device}/properties`);
      return r.body.$metadata?.name?.ackCode === 200 ? r.body : undefined;
    });
    assert.equal(acked.name, 'Kitchen');
    assert.equal(acked.$metadata?.name?.ackVersion, acked.$metadata?.name?.desiredVersion);

    assert.equal(await exited, 0, out);
    const temp = await api<{ value: unknown }>(s, `${device}/telemetry/temp`);
    assert.equal(temp.status, 200, JSON.stringify(temp.body));
    assert.equal(typeof temp.body.value, 'number');
    const humid = await api<{ value: number }>(s, `${device}/telemetry/humid`);
    assert.equal(humid.status, 200);
    assert.ok(humid.body.value >= 70 && humid.body.value <= 80, String(humid.body.value));
    const history = await api<{ value: unknown[] }>(s, `${device}/telemetry?name=temp`);
    assert.ok(
      history.body.value.length >= 2,
      `telemetry every second: ${history.body.value.length} messages`,
    );
    const properties = await api<Properties>(s, `${device}/properties`);
    assert.equal(properties.body.state, 'true');
  } catch (err) {
    (err as Error).message += `\n--- run.mjs output ---\n${out}`;
    throw err;
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
}

describe('examples/environmental-sensor', { concurrency: false }, () => {
  after(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('runs with the real Azure IoT SDK on 8883 (SAS from the SAS-IoT-Devices group)', async () => {
    await withPortLock(8883, async () => {
      const s = await startServe(8883);
      try {
        await runExample(s, 'sensor-azure', []);
      } finally {
        await stop(s);
      }
    });
  });

  it('runs with @gatehouse/device on the port the server reports (--sdk gatehouse)', async () => {
    const s = await startServe(0);
    try {
      await runExample(s, 'sensor-gatehouse', ['--sdk', 'gatehouse']);
    } finally {
      await stop(s);
    }
  });

  it('trusts GATEHOUSE_CA when the data folder has no server-ca.pem, and refuses a CA file that is missing', async () => {
    const s = await startServe(0);
    try {
      // A folder with the token only: the CA comes from GATEHOUSE_CA.
      const tokenOnly = mkdtempSync(join(tmpdir(), 'gatehouse-example-token-'));
      dirs.push(tokenOnly);
      copyFileSync(join(s.dataDir, 'admin-token'), join(tokenOnly, 'admin-token'));
      await runExample(s, 'sensor-ghca', ['--sdk', 'gatehouse'], {
        GATEHOUSE_DATA: tokenOnly,
        GATEHOUSE_CA: join(s.dataDir, 'server-ca.pem'),
      });
      for (const variable of ['GATEHOUSE_CA', 'NODE_EXTRA_CA_CERTS']) {
        const missing = spawnSync(process.execPath, [RUN, '--seconds', '1', '--sdk', 'gatehouse'], {
          cwd: tokenOnly,
          encoding: 'utf8',
          env: {
            ...process.env,
            GATEHOUSE_DATA: '',
            GATEHOUSE_URL: s.url,
            GATEHOUSE_ADMIN_TOKEN: TOKEN,
            GATEHOUSE_CA: '',
            [variable]: join(tokenOnly, 'no-such-ca.pem'),
          },
        });
        assert.equal(missing.status, 2, missing.stderr);
        assert.match(missing.stderr, new RegExp(`run\\.mjs: .*no-such-ca\\.pem \\(${variable}\\) not found`));
      }
    } finally {
      await stop(s);
    }
  });
});
