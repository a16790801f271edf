#!/usr/bin/env node
// `node scripts/cpuprofile-summary.mjs FILE.cpuprofile [--top N]`: self time of a V8 CPU
// profile (`node --cpu-prof`) by function and by module (package or source file), the
// flat view of a flame graph, as markdown tables.
import { readFileSync } from 'node:fs';

const [file, ...rest] = process.argv.slice(2);
if (!file) {
  console.error('usage: node scripts/cpuprofile-summary.mjs FILE.cpuprofile [--top N]');
  process.exit(2);
}
const top = Number(rest[rest.indexOf('--top') + 1]) || 25;
const profile = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const self = new Map();
const dt = profile.timeDeltas;
for (let i = 0; i < profile.samples.length; i++) {
  const id = profile.samples[i];
  self.set(id, (self.get(id) ?? 0) + (dt[i] ?? 0));
}
const total = [...self.values()].reduce((a, b) => a + b, 0);

function moduleOf(url) {
  if (!url) return '(native / V8)';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 13).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  if (url.startsWith('node:')) return url;
  const pkg = /packages\/([^/]+)\/dist\/(.*)$/.exec(url);
  return pkg ? `@gatehouse/${pkg[1]} ${pkg[2]}` : url;
}

const fn = new Map();
const mod = new Map();
for (const [id, us] of self) {
  const n = byId.get(id);
  const cf = n.callFrame;
  const m = moduleOf(cf.url);
  const name = `${cf.functionName || '(anonymous)'} ${m}${cf.url ? `:${cf.lineNumber + 1}` : ''}`;
  fn.set(name, (fn.get(name) ?? 0) + us);
  const mk = cf.url ? m : cf.functionName.startsWith('(') ? cf.functionName : '(native / V8)';
  mod.set(mk, (mod.get(mk) ?? 0) + us);
}
const table = (title, map) => {
  const rows = [...map.entries()].sort((a, b) => b[1] - a[1]).slice(0, top);
  console.log(`\n| ${title} | ms | % |\n|---|---:|---:|`);
  for (const [k, us] of rows)
    console.log(`| ${k} | ${(us / 1000).toFixed(0)} | ${((100 * us) / total).toFixed(1)} |`);
};
// Inclusive (total) time of Gatehouse's own functions: each sample counts once per function on its stack.
const parent = new Map();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const inclusive = new Map();
for (let i = 0; i < profile.samples.length; i++) {
  const seen = new Set();
  for (let id = profile.samples[i]; id !== undefined; id = parent.get(id)) {
    const cf = byId.get(id).callFrame;
    if (!/packages\/[^/]+\/dist\//.test(cf.url)) continue;
    seen.add(`${cf.functionName || '(anonymous)'} ${moduleOf(cf.url)}:${cf.lineNumber + 1}`);
  }
  for (const k of seen) inclusive.set(k, (inclusive.get(k) ?? 0) + (dt[i] ?? 0));
}
const busy = total - (mod.get('(idle)') ?? 0);
console.log(`${file}: ${(total / 1000).toFixed(0)} ms sampled, ${(busy / 1000).toFixed(0)} ms busy`);
table('module', mod);
table('function (self)', fn);
table('Gatehouse function (inclusive)', inclusive);
