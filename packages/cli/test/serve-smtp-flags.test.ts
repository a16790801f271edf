/**
 * `gatehouse serve --smtp-url` (and GATEHOUSE_SMTP_URL), with the built binary: a URL that is
 * malformed, or not smtp:/smtps:, or names no host, stops the start with one line naming the
 * flag, before the data folder is touched.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

import { serveRefused } from './helpers/cli.js';

describe('gatehouse serve: --smtp-url', () => {
  const root = mkdtempSync(join(tmpdir(), 'gatehouse-smtp-flags-'));
  after(() => rmSync(root, { recursive: true, force: true }));

  const cases: Array<{ args: string[]; env?: NodeJS.ProcessEnv; message: RegExp }> = [
    {
      args: ['--smtp-url', 'mail.example.com:25'],
      message: /--smtp-url: the scheme must be smtp or smtps, not mail\.example\.com/,
    },
    { args: ['--smtp-url', 'not a url'], message: /--smtp-url: 'not a url' is not a URL/ },
    {
      args: ['--smtp-url', 'http://mail.example.com'],
      message: /--smtp-url: the scheme must be smtp or smtps, not http/,
    },
    { args: [], env: { GATEHOUSE_SMTP_URL: 'smtp://' }, message: /--smtp-url: 'smtp:\/\/' names no host/ },
  ];
  for (const [i, c] of cases.entries()) {
    it(`refuses ${c.args.join(' ') || JSON.stringify(c.env)}`, () => {
      const data = join(root, `d${i}`);
      const r = serveRefused(data, c.args, c.env);
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, /ERR_CLI_INVALID_OPTION/);
      assert.match(r.stderr, c.message);
      assert.equal(existsSync(data), false, 'the data folder is not created');
    });
  }
});
