#!/usr/bin/env node
// `node scripts/heapsnapshot-summary.mjs FILE.heapsnapshot [--per N] [--top K]`: self size and
// count of a V8 heap snapshot by constructor (objects), or by type (strings, code, native), as a
// markdown table; with --per N, also bytes per N-th (e.g. per connection).
import { readFileSync } from 'node:fs';

const [file, ...rest] = process.argv.slice(2);
if (!file) {
  console.error('usage: node scripts/heapsnapshot-summary.mjs FILE.heapsnapshot [--per N] [--top K]');
  process.exit(2);
}
const opt = (name, fallback) => {
  const i = rest.indexOf(name);
  return i >= 0 ? Number(rest[i + 1]) : fallback;
};
const per = opt('--per', 0);
const top = opt('--top', 40);
const snap = JSON.parse(readFileSync(file, 'utf8'));
const meta = snap.snapshot.meta;
const fields = meta.node_fields;
const types = meta.node_types[0];
const F = fields.length;
const iType = fields.indexOf('type');
const iName = fields.indexOf('name');
const iSize = fields.indexOf('self_size');
const nodes = snap.nodes;
const strings = snap.strings;
const groups = new Map();
let total = 0;
for (let i = 0; i < nodes.length; i += F) {
  const type = types[nodes[i + iType]];
  const size = nodes[i + iSize];
  total += size;
  let key;
  if (type === 'object' || type === 'closure' || type === 'native')
    key = `${type}: ${strings[nodes[i + iName]]}`;
  else if (type === 'hidden' || type === 'array' || type === 'code')
    key = `${type}: ${strings[nodes[i + iName]].slice(0, 40)}`;
  else key = `(${type})`;
  const g = groups.get(key) ?? { count: 0, size: 0 };
  g.count++;
  g.size += size;
  groups.set(key, g);
}
console.log(`${file}: ${(total / 2 ** 20).toFixed(1)} MiB in ${nodes.length / F} nodes`);
console.log(
  `\n| constructor / type | count | self KiB |${per ? ' bytes per unit |' : ''}\n|---|---:|---:|${per ? '---:|' : ''}`,
);
for (const [k, g] of [...groups].sort((a, b) => b[1].size - a[1].size).slice(0, top)) {
  console.log(
    `| ${k.replace(/\|/g, '\\|')} | ${g.count} | ${(g.size / 1024).toFixed(0)} |${per ? ` ${(g.size / per).toFixed(0)} |` : ''}`,
  );
}
