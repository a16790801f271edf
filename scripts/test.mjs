#!/usr/bin/env node
// Runs every compiled test file (packages/*/dist/test/**/*.test.js) in one
// `node --test` invocation, so the runner prints one summary for the whole
// repository. Pass package folders or compiled test files to restrict the run:
// `node scripts/test.mjs packages/pki packages/server/dist/test/hub-sdk.test.js`.
// `--skip-list FILE` leaves out the test files FILE names (one base name at the start of
// each line; `#` lines are comments), as the Node.js 24 CI run does (scripts/node24-skip.txt).
import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
const args = process.argv.slice(2);
let skipped = new Set();
const skipAt = args.indexOf('--skip-list');
if (skipAt >= 0) {
  const listFile = args[skipAt + 1];
  if (listFile === undefined) {
    console.error('--skip-list needs a file');
    process.exit(2);
  }
  const lines = readFileSync(resolve(listFile), 'utf8').split('\n');
  skipped = new Set(
    lines.filter((l) => l.trim() !== '' && !l.startsWith('#')).map((l) => l.trim().split(/\s+/)[0]),
  );
  args.splice(skipAt, 2);
}
const filter = process.env.TEST_FILTER;
const roots =
  args.length > 0
    ? args.map((a) => resolve(a))
    : readdirSync(join(root, 'packages')).map((p) => join(root, 'packages', p));

function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) walk(full, out);
    else if (name.endsWith('.test.js')) out.push(full);
  }
  return out;
}

const files = [];
for (const pkg of roots) {
  if (pkg.endsWith('.test.js')) {
    files.push(pkg);
    continue;
  }
  const testDir = join(pkg, 'dist', 'test');
  if (existsSync(testDir)) walk(testDir, files);
}
const unknown = [...skipped].filter((name) => !files.some((f) => f.endsWith(`/${name}`)));
if (unknown.length > 0) {
  console.error(`--skip-list names test files that do not exist: ${unknown.join(', ')}`);
  process.exit(2);
}
const kept = files.filter((f) => !skipped.has(f.slice(f.lastIndexOf('/') + 1)));
if (skipped.size > 0)
  console.log(`leaving out ${files.length - kept.length} test files named in the skip list`);
const selected = filter ? kept.filter((f) => f.includes(filter)) : kept;
if (selected.length === 0) {
  console.error('no test files found: run `npm run build` first');
  process.exit(1);
}
const result = spawnSync(process.execPath, ['--test', '--test-reporter=spec', ...selected], {
  stdio: 'inherit',
  cwd: root,
  // Every JSON answer of the REST API checked against its documented schema (api/response-check.ts).
  env: { GATEHOUSE_CHECK_RESPONSES: '1', ...process.env, GATEHOUSE_REPO_ROOT: root },
});
process.exit(result.status ?? 1);
