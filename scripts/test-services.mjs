#!/usr/bin/env node
// Throwaway PostgreSQL, Redis and RabbitMQ for the tests, on free loopback ports.
//
//   eval "$(node scripts/test-services.mjs start)"   # prints `export` lines
//   node scripts/test-services.mjs start postgres redis   # only these (postgres, redis, rabbitmq)
//   node scripts/test-services.mjs stop                # uses GATEHOUSE_TEST_SERVICES_DIR
//
// PostgreSQL: a fresh cluster (initdb) in a temp folder, listening on 127.0.0.1 only, trust
// authentication (loopback, throwaway), fsync and synchronous_commit on (the durability tests
// rely on a committed row surviving). PostgreSQL refuses to run as root, so as root the server
// runs as the `postgres` user. Redis: no persistence (`--save ''`, no AOF), 127.0.0.1 only.
// RabbitMQ (the amqp@v1 export destination): a node of its own (name, AMQP port, distribution
// port and epmd port all fresh, epmd and every listener on 127.0.0.1), data and logs in the temp
// folder, an amqps listener too (a throwaway CA made with openssl; its PEM file is exported), no
// plugins, a 1 MB disk-free limit so a nearly full CI disk does not block publishers.
// A missing binary is a one-line note on stderr and no export line, unless
// GATEHOUSE_REQUIRE_POSTGRES / GATEHOUSE_REQUIRE_REDIS / GATEHOUSE_REQUIRE_RABBITMQ is 1: then it
// is a failure.
import { spawnSync } from 'node:child_process';
import {
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const mode = process.argv[2] ?? 'start';

function fail(message) {
  console.error(`test-services: ${message}`);
  process.exit(1);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** The newest /usr/lib/postgresql/<v>/bin, or GATEHOUSE_PG_BIN, or the PATH. */
function postgresBin() {
  if (process.env.GATEHOUSE_PG_BIN) return process.env.GATEHOUSE_PG_BIN;
  const base = '/usr/lib/postgresql';
  if (existsSync(base)) {
    const versions = readdirSync(base)
      .filter((v) => existsSync(join(base, v, 'bin', 'pg_ctl')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions[0]) return join(base, versions[0], 'bin');
  }
  const which = spawnSync('sh', ['-c', 'command -v pg_ctl'], { encoding: 'utf8' });
  return which.status === 0 ? join(which.stdout.trim(), '..') : undefined;
}

function hasCommand(name) {
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
}

const asRoot = process.getuid?.() === 0;

/** Runs a PostgreSQL binary, as `postgres` when we are root. */
function runPg(bin, args) {
  const [cmd, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, args];
  const r = spawnSync(cmd, argv, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${bin} ${args[0] ?? ''} failed: ${(r.stderr || r.stdout).trim()}`);
  return r;
}

function ownForPostgres(path) {
  if (!asRoot) return;
  const id = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  if (id.status !== 0) throw new Error('running as root needs a `postgres` user (PostgreSQL refuses root)');
  chownSync(path, Number(id.stdout), Number(gid.stdout));
}

async function startPostgres(dir) {
  const bin = postgresBin();
  if (!bin || !existsSync(join(bin, 'initdb')))
    return { skipped: 'PostgreSQL binaries not found (apt-get install postgresql)' };
  const data = join(dir, 'pg');
  const port = await freePort();
  ownForPostgres(dir);
  // C locale: text sorts by bytes, like SQLite's default collation.
  runPg(join(bin, 'initdb'), [
    '-D',
    data,
    '-U',
    'postgres',
    '--auth-local=trust',
    '--auth-host=trust',
    '-E',
    'UTF8',
    '--locale=C',
  ]);
  const conf = [
    "listen_addresses = '127.0.0.1'",
    `port = ${port}`,
    `unix_socket_directories = '${dir}'`,
    'fsync = on',
    'synchronous_commit = on',
    'max_connections = 200',
  ].join('\n');
  writeFileSync(join(data, 'postgresql.auto.conf'), conf + '\n');
  ownForPostgres(join(data, 'postgresql.auto.conf'));
  runPg(join(bin, 'pg_ctl'), ['start', '-w', '-t', '60', '-D', data, '-l', join(dir, 'postgres.log')]);
  writeFileSync(join(dir, 'pg-bin'), bin);
  return { url: `postgres://postgres@127.0.0.1:${port}/postgres` };
}

function ping(port) {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('error', () => resolve(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (d) => {
      socket.destroy();
      resolve(d.toString().startsWith('+PONG'));
    });
  });
}

async function startRedis(dir) {
  if (!hasCommand('redis-server'))
    return { skipped: 'redis-server not found (apt-get install redis-server)' };
  const port = await freePort();
  const pidfile = join(dir, 'redis.pid');
  const r = spawnSync(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--daemonize',
      'yes',
      '--pidfile',
      pidfile,
      '--dir',
      dir,
      '--logfile',
      join(dir, 'redis.log'),
    ],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`redis-server failed: ${(r.stderr || r.stdout).trim()}`);
  for (let i = 0; i < 100; i++) {
    if (await ping(port)) return { url: `redis://127.0.0.1:${port}` };
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new Error(`redis-server did not answer PING on port ${port} (see ${join(dir, 'redis.log')})`);
}

const RABBITMQ_BIN = '/usr/lib/rabbitmq/bin';

/** The environment every RabbitMQ command of this throwaway node runs with. */
function rabbitEnv(dir, ports) {
  const base = join(dir, 'rabbitmq');
  return {
    ...process.env,
    HOME: base,
    RABBITMQ_NODENAME: `gatehouse${ports.amqp}@localhost`,
    RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
    RABBITMQ_NODE_PORT: String(ports.amqp),
    RABBITMQ_DIST_PORT: String(ports.dist),
    ERL_EPMD_ADDRESS: '127.0.0.1',
    ERL_EPMD_PORT: String(ports.epmd),
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: '-kernel inet_dist_use_interface {127,0,0,1}',
    RABBITMQ_MNESIA_BASE: join(base, 'mnesia'),
    RABBITMQ_LOG_BASE: join(base, 'log'),
    RABBITMQ_CONFIG_FILE: join(base, 'rabbitmq'),
    RABBITMQ_ADVANCED_CONFIG_FILE: join(base, 'advanced.config'),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(base, 'enabled_plugins'),
    RABBITMQ_PID_FILE: join(base, 'rabbitmq.pid'),
  };
}

async function startRabbitmq(dir) {
  if (!existsSync(join(RABBITMQ_BIN, 'rabbitmq-server')))
    return { skipped: 'rabbitmq-server not found (apt-get install rabbitmq-server)' };
  const ports = {
    amqp: await freePort(),
    amqps: await freePort(),
    dist: await freePort(),
    epmd: await freePort(),
  };
  const base = join(dir, 'rabbitmq');
  mkdirSync(base, { recursive: true });
  const tls = rabbitTls(base);
  writeFileSync(
    join(base, 'rabbitmq.conf'),
    [
      `listeners.tcp.default = 127.0.0.1:${ports.amqp}`,
      `listeners.ssl.default = 127.0.0.1:${ports.amqps}`,
      `ssl_options.cacertfile = ${tls.ca}`,
      `ssl_options.certfile = ${tls.cert}`,
      `ssl_options.keyfile = ${tls.key}`,
      'ssl_options.verify = verify_none',
      'ssl_options.fail_if_no_peer_cert = false',
      'disk_free_limit.absolute = 1MB',
      '',
    ].join('\n'),
  );
  writeFileSync(join(base, 'enabled_plugins'), '[].\n');
  writeFileSync(join(dir, 'rabbitmq-ports'), JSON.stringify(ports));
  const env = rabbitEnv(dir, ports);
  const r = spawnSync(join(RABBITMQ_BIN, 'rabbitmq-server'), ['-detached'], { env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`rabbitmq-server failed: ${(r.stderr || r.stdout).trim()}`);
  // `rabbitmqctl await_startup` gives up on a node that has not registered with epmd yet, so
  // wait for the AMQP listener instead: it opens once the broker has booted.
  for (let i = 0; i < 1200; i++) {
    if (await answersAmqp(ports.amqp))
      return {
        url: `amqp://guest:guest@127.0.0.1:${ports.amqp}`,
        tlsUrl: `amqps://guest:guest@127.0.0.1:${ports.amqps}`,
        ca: tls.ca,
      };
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new Error(`RabbitMQ did not open port ${ports.amqp} within 120 s (see ${join(base, 'log')})`);
}

/** True when the port answers the AMQP 0-9-1 protocol header with a frame (Connection.Start). */
function answersAmqp(port) {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write(Buffer.from([65, 77, 81, 80, 0, 0, 9, 1])));
    socket.once('data', (d) => done(d[0] === 1));
  });
}

/** A throwaway CA and a server certificate for 127.0.0.1 (openssl), for the amqps listener. */
function rabbitTls(base) {
  const ca = join(base, 'ca.pem');
  const caKey = join(base, 'ca-key.pem');
  const cert = join(base, 'server.pem');
  const key = join(base, 'server-key.pem');
  const csr = join(base, 'server.csr');
  const ext = join(base, 'server.ext');
  writeFileSync(ext, 'subjectAltName = IP:127.0.0.1\nextendedKeyUsage = serverAuth\n');
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const steps = [
    [
      'req',
      '-x509',
      ...ec,
      '-keyout',
      caKey,
      '-out',
      ca,
      '-days',
      '2',
      '-subj',
      '/CN=gatehouse-test-amqp-ca',
    ],
    ['req', ...ec, '-keyout', key, '-out', csr, '-subj', '/CN=127.0.0.1'],
    [
      'x509',
      '-req',
      '-in',
      csr,
      '-CA',
      ca,
      '-CAkey',
      caKey,
      '-CAcreateserial',
      '-out',
      cert,
      '-days',
      '2',
      '-extfile',
      ext,
    ],
  ];
  for (const args of steps) {
    const r = spawnSync('openssl', args, { encoding: 'utf8' });
    if (r.status !== 0)
      throw new Error(`openssl ${args[0]} failed: ${(r.stderr || r.stdout || String(r.error)).trim()}`);
  }
  return { ca, cert, key };
}

function stopRabbitmq(dir) {
  const portsFile = join(dir, 'rabbitmq-ports');
  if (!existsSync(portsFile)) return;
  const ports = JSON.parse(readFileSync(portsFile, 'utf8'));
  const env = rabbitEnv(dir, ports);
  // With the pid file, `stop` returns once the Erlang VM has exited.
  const pidFile = env.RABBITMQ_PID_FILE;
  const args = ['-n', env.RABBITMQ_NODENAME, 'stop', ...(existsSync(pidFile) ? [pidFile] : [])];
  const r = spawnSync(join(RABBITMQ_BIN, 'rabbitmqctl'), args, { env, encoding: 'utf8' });
  if (r.status !== 0) console.error(`test-services: rabbitmqctl stop: ${(r.stderr || r.stdout).trim()}`);
  // The node started its own epmd on a port of ours; it outlives the node unless told to stop.
  spawnSync('epmd', ['-port', String(ports.epmd), '-kill'], { env, stdio: 'ignore' });
}

function stop(dir) {
  if (!dir || !existsSync(dir)) return;
  stopRabbitmq(dir);
  const redisPid = join(dir, 'redis.pid');
  if (existsSync(redisPid)) {
    const pid = Number(readFileSync(redisPid, 'utf8').trim());
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
  const binFile = join(dir, 'pg-bin');
  if (existsSync(binFile) && existsSync(join(dir, 'pg', 'postmaster.pid'))) {
    try {
      runPg(join(readFileSync(binFile, 'utf8'), 'pg_ctl'), [
        'stop',
        '-w',
        '-m',
        'fast',
        '-D',
        join(dir, 'pg'),
      ]);
    } catch (err) {
      console.error(`test-services: ${err.message}`);
    }
  }
  rmSync(dir, { recursive: true, force: true });
}

if (mode === 'stop') {
  stop(process.argv[3] ?? process.env.GATEHOUSE_TEST_SERVICES_DIR);
} else if (mode === 'start') {
  const names = process.argv.slice(3);
  const wanted = (name) => names.length === 0 || names.includes(name);
  const unknown = names.filter((n) => !['postgres', 'redis', 'rabbitmq'].includes(n));
  if (unknown.length > 0) fail(`unknown service ${unknown.join(', ')} (postgres | redis | rabbitmq)`);
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-services-'));
  const lines = [`export GATEHOUSE_TEST_SERVICES_DIR='${dir}'`];
  try {
    if (wanted('postgres')) {
      const pg = await startPostgres(dir);
      if (pg.url) lines.push(`export GATEHOUSE_TEST_DATABASE_URL='${pg.url}'`);
      else if (process.env.GATEHOUSE_REQUIRE_POSTGRES === '1') throw new Error(pg.skipped);
      else console.error(`test-services: ${pg.skipped}; PostgreSQL tests will be skipped`);
    }
    if (wanted('redis')) {
      const redis = await startRedis(dir);
      if (redis.url) lines.push(`export GATEHOUSE_TEST_REDIS_URL='${redis.url}'`);
      else if (process.env.GATEHOUSE_REQUIRE_REDIS === '1') throw new Error(redis.skipped);
      else console.error(`test-services: ${redis.skipped}; Redis tests will be skipped`);
    }
    if (wanted('rabbitmq')) {
      const rabbit = await startRabbitmq(dir);
      if (rabbit.url) {
        lines.push(`export GATEHOUSE_TEST_AMQP_URL='${rabbit.url}'`);
        lines.push(`export GATEHOUSE_TEST_AMQPS_URL='${rabbit.tlsUrl}'`);
        lines.push(`export GATEHOUSE_TEST_AMQPS_CA='${rabbit.ca}'`);
      } else if (process.env.GATEHOUSE_REQUIRE_RABBITMQ === '1') throw new Error(rabbit.skipped);
      else console.error(`test-services: ${rabbit.skipped}; RabbitMQ tests will be skipped`);
    }
  } catch (err) {
    stop(dir);
    fail(err.message);
  }
  console.log(lines.join('\n'));
} else {
  fail(`unknown mode '${mode}' (start | stop)`);
}
