import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { renderErrorsDoc } from '../src/errors-doc.js';
import { CLI_ERRORS } from '../src/errors.js';

const root = process.env['GATEHOUSE_REPO_ROOT'] ?? join(import.meta.dirname, '../../../..');

test('docs/errors.md is what the code says (run `npm run docs:errors` after changing an error table)', () => {
  const committed = readFileSync(join(root, 'docs/errors.md'), 'utf8');
  assert.equal(committed, renderErrorsDoc());
});

function sources(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) sources(full, out);
    else if (name.endsWith('.ts')) out.push(full);
  }
  return out;
}

test('every ERR_ code used in the source is documented', () => {
  const doc = renderErrorsDoc();
  const missing = new Set<string>();
  for (const pkg of ['pki', 'protocol', 'server', 'device', 'cli']) {
    for (const file of sources(join(root, 'packages', pkg, 'src'))) {
      for (const m of readFileSync(file, 'utf8').matchAll(/['"`](ERR_[A-Z0-9_]+)['"`]/g)) {
        if (!doc.includes(`\`${m[1]}\``)) missing.add(`${m[1]} (${file.slice(root.length + 1)})`);
      }
    }
  }
  assert.deepEqual([...missing], []);
});

test('the CLI table covers the codes the CLI raises', () => {
  for (const code of Object.keys(CLI_ERRORS)) assert.match(code, /^ERR_[A-Z_]+$/);
});
