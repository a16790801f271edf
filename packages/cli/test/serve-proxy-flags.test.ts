/**
 * `gatehouse serve --proxy-protocol/--proxy-trusted` refusals, with the built binary: a
 * half-given or malformed PROXY configuration stops the start with one line, before the data
 * folder is touched.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { after, describe, it } from 'node:test';

import { MAIN } from './helpers/cli.js';

function serve(args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(
    process.execPath,
    [
      MAIN,
      'serve',
      '--bind',
      '127.0.0.1',
      '--mqtt-port',
      '0',
      '--http-port',
      '0',
      '--https-port',
      '0',
      ...args,
    ],
    { encoding: 'utf8', timeout: 30_000, env: { ...process.env, ...env } },
  );
  return { status: r.status, stderr: r.stderr };
}

describe('gatehouse serve: PROXY protocol flags', () => {
  const root = mkdtempSync(join(tmpdir(), 'gatehouse-proxy-flags-'));
  after(() => rmSync(root, { recursive: true, force: true }));

  const cases: Array<{ name: string; args: string[]; env?: NodeJS.ProcessEnv; code: RegExp }> = [
    {
      name: '--proxy-protocol v2 without --proxy-trusted',
      args: ['--proxy-protocol', 'v2'],
      code: /^ERR_PROXY_TRUSTED_REQUIRED: .*--proxy-trusted/,
    },
    {
      name: '--proxy-trusted without --proxy-protocol',
      args: ['--proxy-trusted', '10.0.0.0/8'],
      code: /^ERR_PROXY_TRUSTED_REQUIRED: /,
    },
    {
      name: 'a bad CIDR among several',
      args: [
        '--proxy-protocol',
        'v2',
        '--proxy-trusted',
        '10.0.0.0/8',
        '--proxy-trusted',
        '127.0.0.1,10.0.0.0/40',
      ],
      code: /^ERR_PROXY_TRUSTED_INVALID: --proxy-trusted '10\.0\.0\.0\/40'/,
    },
    {
      name: 'a bad CIDR from GATEHOUSE_PROXY_TRUSTED',
      args: [],
      env: { GATEHOUSE_PROXY_PROTOCOL: 'v2', GATEHOUSE_PROXY_TRUSTED: 'lb.example' },
      code: /^ERR_PROXY_TRUSTED_INVALID: /,
    },
    {
      name: 'a version other than v2',
      args: ['--proxy-protocol', 'v1', '--proxy-trusted', '127.0.0.1'],
      code: /^ERR_CLI_(USAGE|INVALID_OPTION): /,
    },
  ];
  for (const c of cases) {
    it(`refuses ${c.name}`, () => {
      const data = join(root, c.name.replace(/\W+/g, '-'));
      const r = serve(['--data', data, ...c.args], c.env);
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, c.code);
      assert.equal(r.stderr.trim().split('\n').length, 1, 'one line');
      assert.equal(existsSync(data), false, 'nothing is created');
    });
  }
});
