#!/usr/bin/env node
// Copies the UI screenshots the README shows from the UI tests' artefacts
// (test-artifacts/screenshots, written by packages/server/test/ui-*.test.ts)
// into docs/screenshots. Run the UI tests first:
//   npm run build && TEST_FILTER=ui- node scripts/test.mjs && node scripts/update-screenshots.mjs
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
const from = join(root, 'test-artifacts', 'screenshots');
const to = join(root, 'docs', 'screenshots');
const SHOWN = [
  'admin-connection.png',
  'admin-group-x509.png',
  'admin-journey-device.png',
  'devices-connect-x509.png',
  'devices-properties.png',
  'devices-refusals.png',
  'devices-dashboard.png',
  'admin-certificates.png',
  'devices-phone-device.png',
];
mkdirSync(to, { recursive: true });
const missing = SHOWN.filter((name) => !existsSync(join(from, name)));
if (missing.length > 0) {
  console.error(`missing in ${from}: ${missing.join(', ')} (run the UI tests first)`);
  process.exit(1);
}
for (const name of SHOWN) copyFileSync(join(from, name), join(to, name));
console.log(`copied ${SHOWN.length} screenshots to docs/screenshots`);
