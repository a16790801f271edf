/**
 * `gatehouse serve --retention-days / --rollup-retention-days / --audit-retention-days` (and their GATEHOUSE_*
 * variables), with the built binary: a value that is not a positive number of days stops the
 * start with one line naming it, before the data folder is touched.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

import { serveRefused } from './helpers/cli.js';

describe('gatehouse serve: retention flags', () => {
  const root = mkdtempSync(join(tmpdir(), 'gatehouse-retention-flags-'));
  after(() => rmSync(root, { recursive: true, force: true }));

  const cases: Array<{ args: string[]; env?: NodeJS.ProcessEnv; value: string }> = [
    { args: ['--rollup-retention-days', '0'], value: '0' },
    { args: ['--rollup-retention-days', 'a-year'], value: 'a-year' },
    { args: [], env: { GATEHOUSE_ROLLUP_RETENTION_DAYS: '-5' }, value: '-5' },
    { args: ['--retention-days', 'never'], value: 'never' },
    { args: [], env: { GATEHOUSE_RETENTION_DAYS: '0' }, value: '0' },
    { args: ['--audit-retention-days', 'forever'], value: 'forever' },
    { args: [], env: { GATEHOUSE_AUDIT_RETENTION_DAYS: '0' }, value: '0' },
  ];
  for (const [i, c] of cases.entries()) {
    it(`refuses ${c.args.join(' ') || JSON.stringify(c.env)}`, () => {
      const data = join(root, `d${i}`);
      const r = serveRefused(data, c.args, c.env);
      assert.notEqual(r.status, 0);
      assert.match(
        r.stderr,
        new RegExp(`ERR_CLI_INVALID_OPTION.*'${c.value}' is not a positive number of days`),
      );
      assert.equal(existsSync(data), false, 'the data folder is not created');
    });
  }
});
