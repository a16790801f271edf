// The supported Node.js lines (README, .ci/run) against what every package and every locked
// dependency declares: `npm ci` warns (EBADENGINE) when a dependency's `engines` excludes the
// running Node.js, as cookie@2 (>=22) did under light-my-request.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { test } from 'node:test';

const root = process.env['GATEHOUSE_REPO_ROOT'] ?? join(import.meta.dirname, '../../../..');
// npm's own range matcher (the one that decides EBADENGINE).
const semver = createRequire(join(root, 'package.json'))('semver') as {
  satisfies(version: string, range: string): boolean;
};

const ENGINES = '^20.19.0 || ^22.13.0 || >=24';
/** The first release of each supported line, and the newest the machine or CI runs. */
const FLOORS = ['20.19.0', '22.13.0', '24.0.0'];

interface Manifest {
  name?: string;
  version?: string;
  engines?: { node?: string };
}
const read = (file: string) => JSON.parse(readFileSync(join(root, file), 'utf8')) as Manifest;

test('every package.json declares the supported Node.js lines', () => {
  const files = [
    'package.json',
    ...readdirSync(join(root, 'packages')).map((p) => `packages/${p}/package.json`),
  ];
  for (const file of files) assert.equal(read(file).engines?.node, ENGINES, file);
  for (const v of FLOORS) assert.ok(semver.satisfies(v, ENGINES), v);
  assert.ok(!semver.satisfies('20.18.3', ENGINES), 'older 20.x is outside (the toolchain needs 20.19)');
  assert.ok(
    semver.satisfies(process.versions.node, ENGINES),
    `the tests run on a supported Node.js (${process.version})`,
  );
});

test('no locked dependency refuses a supported Node.js line (npm ci prints no EBADENGINE)', () => {
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, Manifest>;
  };
  const refusals: string[] = [];
  for (const [path, entry] of Object.entries(lock.packages)) {
    const range = entry.engines?.node;
    if (!range) continue;
    for (const v of FLOORS)
      if (!semver.satisfies(v, range)) refusals.push(`${path}@${entry.version}: ${range} excludes ${v}`);
  }
  assert.deepEqual(refusals, []);
});
