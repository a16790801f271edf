/**
 * `gatehouse device-group …` and `gatehouse job …` as a user runs them: the built binary against
 * a real `gatehouse serve` process. The devices are known but never connect, so a command job
 * fails them all (offline), `job rerun` makes a new job of the failed ones, and a property job
 * waits for acknowledgements that never come until it is stopped.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MAIN } from './helpers/cli.js';
import { killServeProcesses, startServeProcess, type ServeProcess } from './helpers/serve-process.js';

const TOKEN = 'jobs-cli-test-token-0123456789abcdef';
const ENV = 'dtmi:gatehouse:EnvironmentalSensor;1';

interface Result {
  status: number | null;
  stdout: string;
  stderr: string;
}

describe('gatehouse device-group / job against a running server', () => {
  let s: ServeProcess;
  let home: string;
  const run = (...args: string[]): Promise<Result> =>
    new Promise((resolve) => {
      const env: NodeJS.ProcessEnv = { ...process.env, GATEHOUSE_URL: s.url, GATEHOUSE_TOKEN: TOKEN };
      delete env['GATEHOUSE_DATA'];
      execFile(
        process.execPath,
        [MAIN, ...args],
        { cwd: home, env, encoding: 'utf8', timeout: 60_000 },
        (err, stdout, stderr) =>
          resolve({ status: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr }),
      );
    });
  const ok = async (...args: string[]): Promise<string> => {
    const r = await run(...args);
    assert.equal(r.status, 0, `gatehouse ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };

  before(async () => {
    home = mkdtempSync(join(tmpdir(), 'gatehouse-jobs-cli-'));
    s = await startServeProcess({ dataDir: join(home, 'gatehouse-data'), token: TOKEN });
    for (const id of ['lamp-1', 'lamp-2']) await ok('device', 'create', id, '--template', ENV);
  });
  after(async () => {
    await s?.stop();
    killServeProcesses();
    rmSync(home, { recursive: true, force: true });
  });

  it('device-group create, list, show; a bad filter names the position', async () => {
    const created = await ok(
      'device-group',
      'create',
      'lamps',
      '--name',
      'Lamps',
      '--filter',
      `SELECT * FROM devices WHERE $template = "${ENV}"`,
    );
    assert.match(created, /Device group lamps saved; it selects 2 devices now\./);
    assert.match(await ok('device-group', 'list'), /lamps\s+Lamps\s+SELECT \* FROM devices/);
    const shown = await ok('device-group', 'show', 'lamps');
    assert.match(shown, /lamp-1/);
    assert.match(shown, /lamp-2/);
    const bad = await run('device-group', 'create', 'bad', '--filter', 'SELECT * FROM devices WHERE $id =');
    assert.notEqual(bad.status, 0);
    assert.match(
      bad.stderr,
      /^ERR_DEVICE_QUERY_INVALID: filter: expected a value .* at position 34 \(the end of the query\)/m,
    );
  });

  it('job create --command --wait: offline devices fail; job rerun makes a job of the failed ones', async () => {
    const out = await ok(
      'job',
      'create',
      'blink-all',
      '--group',
      'lamps',
      '--command',
      'blink',
      '--request',
      '2',
      '--wait',
    );
    assert.match(out, /Job blink-all: complete/);
    assert.match(out, /0 completed, 2 failed, 0 pending of 2/);
    assert.match(out, /lamp-1\s+failed\s+ERR_DEVICE_OFFLINE/);
    const rerun = await ok('job', 'rerun', 'blink-all', 'blink-again', '--wait');
    assert.match(rerun, /Job blink-again reruns blink-all on its 2 failed devices\./);
    assert.match(rerun, /Rerun of\s+blink-all/);
    const list = await ok('job', 'list');
    assert.match(list, /blink-all/);
    assert.match(list, /blink-again/);
  });

  it('job create --property, stop, show, resume; refusals print the code first', async () => {
    const out = await ok(
      'job',
      'create',
      'dim',
      '--group',
      'lamps',
      '--property',
      'brightness=2',
      '--batch',
      '1',
    );
    assert.match(out, /Job dim started over 2 devices\./);
    assert.match(await ok('job', 'stop', 'dim'), /Job dim: stopped/);
    const shown = await ok('job', 'show', 'dim');
    assert.match(shown, /DEVICE\s+STATUS/);
    assert.match(await ok('job', 'resume', 'dim'), /Job dim resumed\./);
    await ok('job', 'stop', 'dim');
    const wrongType = await run(
      'job',
      'create',
      'bad',
      '--group',
      'lamps',
      '--property',
      'brightness="high"',
    );
    assert.notEqual(wrongType.status, 0);
    assert.match(wrongType.stderr, /^ERR_JOB_INVALID: data\[0\]\.value: property 'brightness'/m);
    const noGroup = await run(
      'job',
      'create',
      'bad',
      '--group',
      'nope',
      '--command',
      'blink',
      '--template',
      ENV,
    );
    assert.match(noGroup.stderr, /^ERR_JOB_INVALID: group: device group 'nope' does not exist/m);
    const twoKinds = await run(
      'job',
      'create',
      'bad',
      '--group',
      'lamps',
      '--command',
      'blink',
      '--property',
      'a=1',
    );
    assert.match(twoKinds.stderr, /^ERR_CLI_MISSING_OPTION/m);
  });
});
