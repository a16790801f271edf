/**
 * `gatehouse simulate` against a real `gatehouse serve` process: 50 SAS devices from the default
 * group, a few X.509 devices from a verified root, a root that is not enrolled, and bad input.
 * It runs the built binary, as users do.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MAIN, ok } from './helpers/cli.js';
import { killServeProcesses, startServeProcess } from './helpers/serve-process.js';

const SIMULATE_MAIN = MAIN;

const TOKEN = 'simulate-test-token-0123456789abcdef';

interface Server {
  child: ChildProcess;
  httpPort: number;
  mqttPort: number;
  idScope: string;
  caPath: string;
}

interface Summary {
  template: string;
  devices: number;
  provisioned: number;
  connected: number;
  messagesSent: number;
  errors: number;
  registrationRefused: number;
  firstRefusal?: { deviceId: string; code: string; status?: number };
  stoppedBy: string;
}

interface Run {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

const children: ChildProcess[] = [];

function startServe(dataDir: string): Promise<Server> {
  return startServeProcess({ dataDir, token: TOKEN });
}

/** Runs `simulate <args>` as a child process (async, so the server in this process keeps answering). */
function simulate(cwd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SIMULATE_MAIN, 'simulate', ...args], {
      cwd,
      env: { ...process.env, GATEHOUSE_URL: '', GATEHOUSE_TOKEN: '', GATEHOUSE_DATA: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.on('error', reject);
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stdout, stderr });
    });
  });
}

function parseSummary(run: Run): Summary {
  try {
    return JSON.parse(run.stdout) as Summary;
  } catch {
    throw new Error(`no JSON summary (exit ${run.status}): ${run.stdout}\n${run.stderr}`);
  }
}

describe('gatehouse simulate', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'gatehouse-simulate-'));
  const work = mkdtempSync(join(tmpdir(), 'gatehouse-simulate-work-'));
  let server: Server;

  const api = async <T>(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; body: T }> => {
    const res = await fetch(`http://127.0.0.1:${server.httpPort}/${path}`, {
      method,
      headers: {
        authorization: `Bearer ${TOKEN}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, body: (text === '' ? undefined : JSON.parse(text)) as T };
  };

  const common = (): string[] => [
    '--mqtt-port',
    String(server.mqttPort),
    '--id-scope',
    server.idScope,
    '--ca',
    server.caPath,
  ];

  before(async () => {
    server = await startServe(dataDir);
  });

  after(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    killServeProcesses();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  });

  it('runs 50 devices of the SAS-IoT-Devices group: all provisioned and connected, telemetry stored, no error', async () => {
    const group = await api<{ attestation: { symmetricKey: { primaryKey: string } } }>(
      'GET',
      'api/enrollmentGroups/SAS-IoT-Devices',
    );
    assert.equal(group.status, 200);
    const key = group.body.attestation.symmetricKey.primaryKey;
    const run = await simulate(work, [
      '--devices',
      '50',
      '--group-key',
      key,
      '--interval',
      '200ms',
      '--duration',
      '3s',
      '--json',
      ...common(),
    ]);
    assert.equal(run.status, 0, run.stderr);
    const summary = parseSummary(run);
    assert.equal(summary.template, 'environmental-sensor');
    assert.equal(summary.devices, 50);
    assert.equal(summary.provisioned, 50);
    assert.equal(summary.connected, 50);
    assert.equal(summary.errors, 0);
    assert.equal(summary.stoppedBy, 'duration');
    assert.ok(summary.messagesSent >= 50, `at least one message per device, got ${summary.messagesSent}`);
    for (let n = 1; n <= 50; n++) {
      const temp = await api<{ value: number }>('GET', `api/devices/sim-${n}/telemetry/temp`);
      assert.equal(temp.status, 200, `sim-${n} has a temp`);
      assert.ok(temp.body.value >= 60 && temp.body.value <= 90, `sim-${n} temp ${temp.body.value}`);
    }
    const humid = await api<{ value: number }>('GET', 'api/devices/sim-1/telemetry/humid');
    assert.ok(humid.body.value >= 30 && humid.body.value <= 70);
  });

  it('issues device certificates from a verified root (X.509 group) and runs thermostats; learns the ID scope from the API', async () => {
    ok(work, 'cert', 'root', 'simroot');
    const put = await api('PUT', 'api/enrollmentGroups/simgroup', {
      displayName: 'simgroup',
      type: 'iot',
      attestation: { type: 'x509' },
    });
    assert.ok(put.status < 300, JSON.stringify(put.body));
    const cert = await api('PUT', 'api/enrollmentGroups/simgroup/certificates/primary', {
      certificate: readFileSync(join(work, 'simroot_cert.pem'), 'utf8'),
      verified: true,
    });
    assert.ok(cert.status < 300, JSON.stringify(cert.body));
    const run = await simulate(
      work,
      [
        '--template',
        'thermostat',
        '--devices',
        '3',
        '--root',
        'simroot',
        '--prefix',
        'xdev',
        '--interval',
        '200ms',
        '--duration',
        '1s',
        '--json',
        '--mqtt-port',
        String(server.mqttPort),
        '--data',
        dataDir,
      ],
      { GATEHOUSE_URL: `http://127.0.0.1:${server.httpPort}`, GATEHOUSE_TOKEN: TOKEN },
    );
    assert.equal(run.status, 0, run.stderr);
    const summary = parseSummary(run);
    assert.equal(summary.template, 'thermostat');
    assert.equal(summary.provisioned, 3);
    assert.equal(summary.connected, 3);
    assert.equal(summary.errors, 0);
    for (let n = 1; n <= 3; n++) {
      const t = await api<{ value: number }>('GET', `api/devices/xdev-${n}/telemetry/temperature`);
      assert.equal(t.status, 200);
      assert.ok(t.body.value >= 15 && t.body.value <= 30);
    }
  });

  it('counts registration refusals of a root in no enrollment group and prints the first with its status', async () => {
    ok(work, 'cert', 'root', 'strayroot');
    const run = await simulate(work, [
      '--devices',
      '2',
      '--root',
      'strayroot',
      '--prefix',
      'stray',
      '--interval',
      '1s',
      '--duration',
      '1s',
      ...common(),
    ]);
    assert.equal(run.status, 1, run.stdout + run.stderr);
    assert.match(run.stderr, /ERR_DEVICE_REGISTRATION_REFUSED: stray-\d: .*status 401/);
    assert.match(run.stdout, /connected\s+0\/2/);
    assert.match(run.stdout, /refused\s+2/);
  });

  it('answers a command and acknowledges a writable property while running', async () => {
    const group = await api<{ attestation: { symmetricKey: { primaryKey: string } } }>(
      'GET',
      'api/enrollmentGroups/SAS-IoT-Devices',
    );
    const running = simulate(work, [
      '--devices',
      '1',
      '--prefix',
      'cmd',
      '--group-key',
      group.body.attestation.symmetricKey.primaryKey,
      '--interval',
      '500ms',
      '--duration',
      '6s',
      '--json',
      ...common(),
    ]);
    let connected = false;
    for (let i = 0; i < 100 && !connected; i++) {
      await new Promise((r) => setTimeout(r, 100));
      connected = (await api('GET', 'api/devices/cmd-1/telemetry/temp')).status === 200;
    }
    assert.ok(connected, 'cmd-1 sends telemetry');
    const blink = await api<{ responseCode: number; response: unknown }>(
      'POST',
      'api/devices/cmd-1/commands/blink',
      { request: 3 },
    );
    assert.equal(blink.body.responseCode, 200);
    assert.deepEqual(blink.body.response, { status: 'Blinking LED every 3 seconds' });
    const diag = await api<{ responseCode: number }>('POST', 'api/devices/cmd-1/commands/rundiagnostics', {});
    assert.equal(diag.body.responseCode, 202);
    await api('PATCH', 'api/devices/cmd-1/properties', { brightness: 7 });
    let ack: unknown;
    for (let i = 0; i < 50 && ack === undefined; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const props = await api<{ $metadata?: { brightness?: { ackCode?: number } } }>(
        'GET',
        'api/devices/cmd-1/properties',
      );
      ack = props.body.$metadata?.brightness?.ackCode;
    }
    assert.equal(ack, 200);
    const twin = await api<{ state?: unknown }>('GET', 'api/devices/cmd-1/properties');
    assert.equal(twin.body.state, 'true');
    const run = await running;
    assert.equal(run.status, 0, run.stderr);
    assert.equal(parseSummary(run).errors, 0);
  });

  it('stops cleanly on SIGINT and prints the summary', async () => {
    const group = await api<{ attestation: { symmetricKey: { primaryKey: string } } }>(
      'GET',
      'api/enrollmentGroups/SAS-IoT-Devices',
    );
    const child = spawn(
      process.execPath,
      [
        SIMULATE_MAIN,
        'simulate',
        '--devices',
        '2',
        '--prefix',
        'sig',
        '--group-key',
        group.body.attestation.symmetricKey.primaryKey,
        '--interval',
        '200ms',
        ...common(),
      ],
      { cwd: work, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    children.push(child);
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    for (let i = 0; i < 100; i++) {
      await new Promise((r) => setTimeout(r, 100));
      if ((await api('GET', 'api/devices/sig-2/telemetry/temp')).status === 200) break;
    }
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.kill('SIGINT');
    assert.equal(await exited, 0);
    assert.match(stdout, /stopped by Ctrl-C/);
    assert.match(stdout, /connected\s+2\/2/);
  });

  it('trusts the server the way Node programs do: NODE_EXTRA_CA_CERTS or GATEHOUSE_CA, no --ca or --data needed', async () => {
    const group = await api<{ attestation: { symmetricKey: { primaryKey: string } } }>(
      'GET',
      'api/enrollmentGroups/SAS-IoT-Devices',
    );
    const key = group.body.attestation.symmetricKey.primaryKey;
    // `work` has no gatehouse-data folder: only the environment says whom to trust.
    const args = (prefix: string): string[] => [
      '--devices',
      '1',
      '--group-key',
      key,
      '--prefix',
      prefix,
      '--interval',
      '200ms',
      '--duration',
      '1s',
      '--json',
      '--mqtt-port',
      String(server.mqttPort),
      '--id-scope',
      server.idScope,
    ];
    for (const [variable, prefix] of [
      ['NODE_EXTRA_CA_CERTS', 'extra'],
      ['GATEHOUSE_CA', 'ghca'],
    ] as const) {
      const run = await simulate(work, args(prefix), { [variable]: server.caPath });
      assert.equal(run.status, 0, `${variable}: ${run.stderr}`);
      const summary = parseSummary(run);
      assert.equal(summary.connected, 1, `${variable}: ${run.stdout}`);
      assert.equal(summary.errors, 0, `${variable}: ${run.stdout}`);
    }

    // Named but unreadable: refused before connecting, naming the variable.
    for (const variable of ['NODE_EXTRA_CA_CERTS', 'GATEHOUSE_CA']) {
      const missing = await simulate(work, args('missing'), { [variable]: join(work, 'no-such-ca.pem') });
      assert.equal(missing.status, 1);
      // Node itself only warns about a missing NODE_EXTRA_CA_CERTS file; the error is the last line.
      const last = missing.stderr.trim().split('\n').at(-1) ?? '';
      const { error } = JSON.parse(last) as { error: { code: string; message: string } };
      assert.equal(error.code, 'ERR_CLI_READ_FILE');
      assert.match(error.message, new RegExp(`^Cannot read .*${variable}.* \\(ENOENT\\)`));
    }

    // Nothing to trust but Node's own store: the TLS refusal says what was trusted.
    const untrusted = await simulate(work, args('untrusted'), { NODE_EXTRA_CA_CERTS: '' });
    assert.equal(untrusted.status, 1);
    const summary = parseSummary(untrusted);
    assert.equal(summary.connected, 0);
    assert.match(JSON.stringify(summary), /trusted: Node's CA store/);
  });

  it('refuses bad input before connecting', async () => {
    const neither = await simulate(work, ['--devices', '2', ...common()]);
    assert.equal(neither.status, 1);
    assert.match(neither.stderr, /^ERR_CLI_MISSING_OPTION: /);
    const both = await simulate(work, ['--root', 'simroot', '--group-key', 'AAAA', ...common()]);
    assert.match(both.stderr, /^ERR_CLI_INVALID_OPTION: /);
    const interval = await simulate(work, ['--group-key', 'AAAA', '--interval', 'soon', ...common()]);
    assert.match(interval.stderr, /^ERR_CLI_INVALID_OPTION: .*--interval/);
    const devices = await simulate(work, ['--group-key', 'AAAA', '--devices', '0', ...common()]);
    assert.match(devices.stderr, /^ERR_CLI_INVALID_OPTION: .*--devices/);
    const noRoot = await simulate(work, ['--root', 'missing', ...common()]);
    assert.match(noRoot.stderr, /^ERR_CLI_PARENT_NOT_FOUND: /);
    const noCa = await simulate(work, [
      '--group-key',
      'AAAA',
      '--id-scope',
      'x',
      '--data',
      join(work, 'nope'),
    ]);
    assert.match(noCa.stderr, /^ERR_CLI_READ_FILE: /);
    const json = await simulate(work, ['--devices', '2', '--json', ...common()]);
    assert.equal(
      (JSON.parse(json.stderr) as { error: { code: string } }).error.code,
      'ERR_CLI_MISSING_OPTION',
    );
  });
});
