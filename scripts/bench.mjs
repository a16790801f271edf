#!/usr/bin/env node
// `npm run bench -- <name> [options]`: runs packages/server/dist/bench/<name>.js.
import { existsSync, readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('../packages/server/dist/bench/', import.meta.url));
const [name, ...rest] = process.argv.slice(2);
const available = existsSync(dir)
  ? readdirSync(dir)
      .filter(
        (f) =>
          f.endsWith('.js') &&
          ![
            'util.js',
            'tls-echo-server.js',
            'lean-client.js',
            'mosquitto.js',
            'fleet.js',
            'cluster-harness.js',
            'cluster-fleet.js',
          ].includes(f) &&
          !f.includes('-worker'),
      )
      .map((f) => f.slice(0, -3))
  : [];
if (!name || !available.includes(name)) {
  console.error(`usage: npm run bench -- <${available.join('|')}> [options]`);
  process.exit(2);
}
const r = spawnSync(process.execPath, [`${dir}${name}.js`, ...rest], { stdio: 'inherit' });
process.exit(r.status ?? 1);
