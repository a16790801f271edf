/**
 * `gatehouse import` and `gatehouse serve --id-scope` as a user runs them: the built binary
 * against a real `gatehouse serve` process, with the server's fixture files (written from
 * Azure's documented shapes).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gatehouse } from './helpers/cli.js';
import { killServeProcesses, startServeProcess, type ServeProcess } from './helpers/serve-process.js';

const TOKEN = 'import-test-token-0123456789abcdef';
const FIXTURES = join(import.meta.dirname, '../../../server/test/fixtures/import');
const AZURE_SCOPE = '0ne00ABC123';

describe('gatehouse import', () => {
  let home: string;
  let serve: ServeProcess;
  const cli = (...args: string[]) => gatehouse(home, ...args, '--url', serve.url, '--token', TOKEN);

  before(async () => {
    home = mkdtempSync(join(tmpdir(), 'gatehouse-import-cli-'));
    serve = await startServeProcess({
      dataDir: join(home, 'data'),
      token: TOKEN,
      args: ['--id-scope', AZURE_SCOPE],
    });
  });
  after(async () => {
    await serve?.stop();
    killServeProcesses();
    rmSync(home, { recursive: true, force: true });
  });

  it('serve --id-scope starts the application with the Azure ID scope', () => {
    assert.equal(serve.idScope, AZURE_SCOPE);
  });

  it('--dry-run prints the plan and changes nothing; the import applies it; a second run changes nothing', () => {
    const file = join(FIXTURES, 'hub-export.jsonl');
    const dry = cli('import', 'hub', file, '--dry-run');
    assert.equal(dry.status, 0, dry.stderr);
    assert.match(dry.stdout, /created\s+device\s+thermostat-01\s+hub-export\.jsonl:1/);
    assert.match(dry.stdout, /4 created, 0 updated, 0 unchanged, 0 refused/);
    assert.match(dry.stdout, /Dry run: nothing was changed\./);
    const list = cli('device', 'list');
    assert.doesNotMatch(list.stdout, /thermostat-01/);

    const run = cli('import', 'hub', file);
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /Imported\./);
    assert.match(cli('device', 'list').stdout, /thermostat-01/);

    const again = cli('import', 'hub', file, '--json');
    assert.equal(again.status, 0, again.stderr);
    const plan = JSON.parse(again.stdout) as { summary: Record<string, number> };
    assert.deepEqual(plan.summary, { created: 0, updated: 0, unchanged: 4, refused: 0 });
  });

  it('a refused record: every refusal is printed with file:line, the error code last, exit 1, nothing imported', () => {
    const bad = join(home, 'bad.jsonl');
    writeFileSync(
      bad,
      [
        '{"id":"new-good","authentication":{"type":"none"}}',
        '{"id":"new-bad","authentication":{"type":"selfSigned","x509Thumbprint":{"primaryThumbprint":"nothex"}}}',
      ].join('\n') + '\n',
    );
    const r = cli('import', 'hub', bad);
    assert.equal(r.status, 1);
    assert.match(r.stdout, /refused\s+device\s+new-bad\s+bad\.jsonl:2\s+ERR_IMPORT_THUMBPRINT_INVALID/);
    assert.match(r.stderr, /^ERR_IMPORT_REFUSED: 1 record was refused/);
    assert.doesNotMatch(cli('device', 'list').stdout, /new-good/);
  });

  it('an unknown format or a missing file is a usage error', () => {
    const r = cli('import', 'aws', join(FIXTURES, 'hub-export.jsonl'));
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^ERR_CLI_USAGE: 'aws' is not an import format/);
    const missing = cli('import', 'hub', join(home, 'nope.jsonl'));
    assert.match(missing.stderr, /^ERR_CLI_READ_FILE/);
  });

  it('serve --id-scope with another scope than the database has is refused', async () => {
    await serve.stop();
    const r = gatehouse(
      home,
      'serve',
      '--data',
      join(home, 'data'),
      '--bind',
      '127.0.0.1',
      '--mqtt-port',
      '0',
      '--http-port',
      '0',
      '--https-port',
      '0',
      '--id-scope',
      '0ne00DEF456',
    );
    assert.equal(r.status, 1);
    assert.match(
      r.stderr,
      new RegExp(`^ERR_ID_SCOPE_CONFLICT: This database already has the ID scope ${AZURE_SCOPE}`),
    );
  });
});
