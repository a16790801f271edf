#!/usr/bin/env node
// Runs the commands of README.md's journey, as a user types them, against a fresh data folder:
// `npm run build && node scripts/readme-journey.mjs [--keep]`. The blocks to run carry an
// HTML comment marker (`<!-- journey: <step>, … -->`, see
// packages/cli/test/helpers/readme-journey-extract.ts); packages/cli/test/readme-journey.test.ts
// runs the same journey in `npm test`. The work folder is removed unless --keep or a step failed.
import { rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runJourney } from '../packages/cli/dist/test/helpers/readme-journey-run.js';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
const keep = process.argv.includes('--keep');

const journey = await runJourney({ root, log: (line) => console.log(line) });
await journey.stop();
const failed = journey.steps.find((s) => !s.ok);
if (failed) {
  console.error(
    `\nstep "${failed.name}" failed: ${failed.reason ?? 'see its output'}\n--- output ---\n${failed.output}`,
  );
  console.error(`(the work folder is kept: ${journey.workDir})`);
  process.exit(1);
}
for (const s of journey.steps) console.log(`${s.name}: ${s.signal ?? `exit ${s.exitCode}`}`);
if (keep) console.log(`work folder: ${journey.workDir}`);
else rmSync(journey.workDir, { recursive: true, force: true });
