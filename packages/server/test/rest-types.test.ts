/**
 * `@gatehouse/server/rest-types` is what the web app imports the REST shapes from. The declarations
 * of every file it re-exports must import nothing: one import of a service, of Node.js or of the
 * database driver would pull their declarations (and Node's globals) into the browser build's
 * type check.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';

const SRC = new URL('../../src/', import.meta.url);

describe('rest-types: the web app type-only entry point', () => {
  const entry = readFileSync(new URL('rest-types.ts', SRC), 'utf8');

  it('re-exports types only', () => {
    assert.doesNotMatch(entry, /^export \{/m, 'type exports only');
    assert.doesNotMatch(entry, /^import /m);
  });

  it('its compiled declarations reach only each other: no package, no Node.js, no global types', () => {
    const dist = new URL('../src/', import.meta.url);
    const seen = new Set<string>();
    const queue = ['rest-types.d.ts'];
    while (queue.length > 0) {
      const file = queue.pop()!;
      if (seen.has(file)) continue;
      seen.add(file);
      const dts = readFileSync(new URL(file, dist), 'utf8');
      assert.doesNotMatch(dts, /reference types=/, `${file} references global types`);
      // Static imports and re-exports, and the import("…") types tsc writes for inferred types.
      for (const m of dts.matchAll(/(?:from\s+|import\s*\(\s*|import\s+)['"]([^'"]+)['"]/g)) {
        const spec = m[1]!;
        assert.ok(spec.startsWith('./') || spec.startsWith('../'), `${file} imports the package '${spec}'`);
        queue.push(new URL(spec.replace(/\.js$/, '.d.ts'), new URL(file, dist)).href.slice(dist.href.length));
      }
    }
    assert.ok(seen.has('hub/hub-api.d.ts') && seen.has('app/dtdl-summary.d.ts'), [...seen].join(', '));
    // The services are never reached: only the shapes.
    for (const file of seen) assert.doesNotMatch(file, /service|store|sqlite/, file);
  });
});
