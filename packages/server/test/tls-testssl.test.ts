/**
 * testssl.sh (Debian's) against both device ports (HARDENING.md §4, T1): protocols, cipher
 * categories, forward secrecy and renegotiation, with no finding of severity MEDIUM or above.
 * It takes a minute or two, so CI runs it once (GATEHOUSE_TESTSSL=skip on the second Node run);
 * skipped with a reason where testssl is not installed, required with GATEHOUSE_REQUIRE_TESTSSL=1.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { startTestServer, type TestServer } from './helpers/test-server.js';

function skipReason(): string | undefined {
  if (process.env['GATEHOUSE_TESTSSL'] === 'skip') return 'GATEHOUSE_TESTSSL=skip (run once per CI run)';
  try {
    execFileSync('sh', ['-c', 'command -v testssl'], { stdio: 'pipe' });
    return undefined;
  } catch {
    if (process.env['GATEHOUSE_REQUIRE_TESTSSL'] === '1')
      throw new Error('testssl is required (GATEHOUSE_REQUIRE_TESTSSL=1) but not installed');
    return 'testssl not installed (apt-get install testssl.sh)';
  }
}

interface Finding {
  id: string;
  severity: string;
  finding: string;
}

function testssl(port: number, json: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(
      'testssl',
      [
        '--quiet',
        '--color',
        '0',
        '--warnings',
        'batch',
        '--severity',
        'MEDIUM',
        '--jsonfile',
        json,
        '--ip',
        '127.0.0.1',
        '-p',
        '-s',
        '-f',
        '-R',
        `localhost:${port}`,
      ],
      { timeout: 600_000 },
      (err, stdout) => (err && !stdout ? reject(err) : resolve()),
    );
  });
}

describe('testssl.sh against the device ports', { skip: skipReason(), timeout: 900_000 }, () => {
  let server: TestServer;
  let dir: string;
  before(async () => {
    server = await startTestServer();
    dir = await mkdtemp(join(tmpdir(), 'gatehouse-testssl-'));
  });
  after(async () => {
    await server?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  for (const listener of ['mqtt', 'https'] as const) {
    it(`${listener}: no finding of severity MEDIUM or above`, async () => {
      const port = listener === 'mqtt' ? server.mqtt.port : server.https!.port;
      const json = join(dir, `${listener}.json`);
      await testssl(port, json);
      const findings = JSON.parse(await readFile(json, 'utf8')) as Finding[];
      // testssl lists what it checked at the chosen severity and above; the scan itself is
      // proven by its protocol lines being present only when offered, so look at severities.
      const serious = findings.filter((f) => ['MEDIUM', 'HIGH', 'CRITICAL'].includes(f.severity));
      assert.deepEqual(serious, [], JSON.stringify(serious, null, 2));
      assert.ok(!findings.some((f) => f.id === 'scanProblem'), JSON.stringify(findings));
    });
  }
});
