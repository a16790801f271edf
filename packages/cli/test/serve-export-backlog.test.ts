/**
 * `gatehouse serve --export-backlog` (GATEHOUSE_EXPORT_BACKLOG): the durations it takes, and a
 * value that is not one stops the start with one line naming it, before the data folder is
 * touched (the built binary).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

import { parseBacklog } from '../src/commands/serve.js';
import { serveRefused } from './helpers/cli.js';

describe('gatehouse serve: --export-backlog', () => {
  const root = mkdtempSync(join(tmpdir(), 'gatehouse-export-backlog-'));
  after(() => rmSync(root, { recursive: true, force: true }));

  it('reads hours, minutes, seconds and days', () => {
    assert.equal(parseBacklog('24h'), 24 * 3_600_000);
    assert.equal(parseBacklog('24'), 24 * 3_600_000);
    assert.equal(parseBacklog('90m'), 90 * 60_000);
    assert.equal(parseBacklog('3600s'), 3_600_000);
    assert.equal(parseBacklog('2d'), 2 * 86_400_000);
    assert.equal(parseBacklog('0.5h'), 1_800_000);
    for (const bad of ['0', '0h', '-1h', 'a day', '24 hours', '', '1w'])
      assert.equal(parseBacklog(bad), undefined, bad);
  });

  const cases: Array<{ args: string[]; env?: NodeJS.ProcessEnv; value: string }> = [
    { args: ['--export-backlog', 'forever'], value: 'forever' },
    { args: [], env: { GATEHOUSE_EXPORT_BACKLOG: '0h' }, value: '0h' },
  ];
  for (const [i, c] of cases.entries()) {
    it(`refuses ${c.args.join(' ') || JSON.stringify(c.env)}`, () => {
      const data = join(root, `d${i}`);
      const r = serveRefused(data, c.args, c.env);
      assert.notEqual(r.status, 0);
      assert.match(
        r.stderr,
        new RegExp(`ERR_CLI_INVALID_OPTION.*'${c.value}' is not a duration such as 24h`),
      );
      assert.equal(existsSync(data), false, 'the data folder is not created');
    });
  }
});
