/**
 * `npm run fuzz -- crash`: "acknowledged means durable" under repeated SIGKILL (HARDENING.md
 * §7, D1). One data folder; each iteration starts `gatehouse serve` in its own process, streams
 * QoS 1 telemetry from an X.509 device with 50 messages in flight, kills the server at a random
 * moment (seeded), then opens the SQLite file itself: PRAGMA integrity_check must say ok and
 * every message the device saw acknowledged, in this or any earlier iteration, must be there.
 *
 * `npm run fuzz -- power-cut` (D2): the same stream, but what is examined is the disk as a power
 * cut would leave it. The data folder is an ext4 file system on a loop device (needs root); at
 * the random moment the server is stopped (SIGSTOP), the loop device's backing file is copied,
 * and the server is killed. The copy holds what the kernel had written to the block device and
 * nothing of what was still only in the file system's page cache: an un-fsynced write is gone,
 * as after a power cut (LazyFS's model at the block level). The copy is mounted (the ext4
 * journal replayed) and SQLite opens it (its WAL recovered); integrity and every acknowledged
 * message are checked there.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { createDeviceCertificate, createRootCa, type Issued } from '@gatehouse/pki';
import Database from 'better-sqlite3';

import { connectServeDevice, startServe, streamUntilKilled, type ServeProcess } from '../bench/util.js';
import { FuzzRecorder, type FuzzReport } from './fuzz-report.js';

const TOKEN = 'crash-loop-token-0123456789abcdef';
const DEVICE = 'crash-device';
const IN_FLIGHT = 50;

/** mulberry32: a small seeded generator, so a run's kill points can be replayed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function api(s: ServeProcess, method: string, path: string, body: unknown): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${s.httpPort}${path}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  await res.text();
  return res.status;
}

async function enroll(s: ServeProcess): Promise<Issued> {
  const root = await createRootCa({ commonName: 'crash-root' });
  await api(s, 'PUT', '/api/enrollmentGroups/crash', {
    displayName: 'crash',
    type: 'iot',
    attestation: { type: 'x509' },
  });
  const up = await api(s, 'PUT', '/api/enrollmentGroups/crash/certificates/primary', {
    certificate: root.certificate.pem,
    verified: true,
  });
  if (up !== 200) throw new Error(`root upload answered ${up}`);
  const leaf = await createDeviceCertificate({ commonName: DEVICE, issuer: root });
  const att = await api(s, 'PUT', `/api/devices/${DEVICE}/attestation`, {
    type: 'x509',
    x509: { clientCertificates: { primary: { certificate: leaf.certificate.pem } } },
  });
  if (att !== 200) throw new Error(`attestation answered ${att}`);
  return leaf;
}

/** Streams until the server is killed `killAfterMs` in; returns the sequence numbers acknowledged. */
async function streamUntilKilledAt(
  s: ServeProcess,
  leaf: Issued,
  firstSeq: number,
  killAfterMs: number,
  kill: () => void,
): Promise<number[]> {
  const client = await connectServeDevice(s, DEVICE, leaf);
  const { acked } = await streamUntilKilled(client, DEVICE, {
    firstSeq,
    inFlight: IN_FLIGHT,
    killWhen: () => new Promise((r) => setTimeout(r, killAfterMs)),
    kill,
  });
  return acked;
}

/** An ext4 file system in a sparse image file, mounted on a loop device under `root`. */
async function loopFileSystem(root: string): Promise<{ image: string; dir: string; unmount: () => void }> {
  const image = join(root, 'disk.img');
  const dir = join(root, 'data');
  await mkdir(dir);
  execFileSync('truncate', ['-s', '512M', image]);
  execFileSync('mkfs.ext4', ['-q', image]);
  execFileSync('mount', ['-o', 'loop', image, dir]);
  return { image, dir, unmount: () => execFileSync('umount', [dir]) };
}

/** Mounts a copy of the image, runs `check` on the folder, unmounts. */
function onCopy<T>(copy: string, mountAt: string, check: (dir: string) => T): T {
  execFileSync('mount', ['-o', 'loop', copy, mountAt]);
  try {
    return check(mountAt);
  } finally {
    execFileSync('umount', [mountAt]);
  }
}

export async function crashLoop(o: {
  iterations: number;
  seed: number;
  powerCut?: boolean;
}): Promise<FuzzReport> {
  const rec = new FuzzRecorder(o.powerCut ? 'power-cut' : 'crash', o.seed);
  const rand = random(o.seed);
  const root = await mkdtemp(join(tmpdir(), o.powerCut ? 'gatehouse-power-' : 'gatehouse-crash-'));
  const disk = o.powerCut ? await loopFileSystem(root) : undefined;
  const dataDir = disk?.dir ?? root;
  const copy = join(root, 'copy.img');
  const copyMount = join(root, 'copy');
  if (disk) await mkdir(copyMount);
  const acknowledged = new Set<number>();
  let seq = 0;
  let leaf: Issued | undefined;
  let killMin = Infinity;
  let killMax = 0;
  let stored = 0;
  let rowsStored = 0;
  let integrityOk = 0;
  try {
    for (let i = 0; i < o.iterations; i++) {
      rec.begin(i);
      const killAfterMs = Math.round(20 + rand() * 1500);
      killMin = Math.min(killMin, killAfterMs);
      killMax = Math.max(killMax, killAfterMs);
      const s = await startServe(dataDir, TOKEN);
      try {
        leaf ??= await enroll(s);
        const acked = await streamUntilKilledAt(s, leaf, seq, killAfterMs, () => {
          if (!disk) return s.child.kill('SIGKILL');
          // The power cut: nothing more reaches the disk from the server, the block device is
          // copied as it is, then the process goes.
          s.child.kill('SIGSTOP');
          execFileSync('cp', ['--sparse=always', disk.image, copy]);
          return s.child.kill('SIGKILL');
        });
        for (const n of acked) acknowledged.add(n);
        seq = Math.max(seq, ...acked, seq) + IN_FLIGHT + 1;
      } catch (err) {
        s.child.kill('SIGKILL');
        rec.add('iteration-failed', err instanceof Error ? err.message : String(err), i);
      }
      await new Promise<void>((resolve) =>
        s.child.exitCode !== null || s.child.signalCode !== null
          ? resolve()
          : s.child.once('exit', () => resolve()),
      );
      const examine = (dir: string) => {
        // The power-cut copy is opened for writing: SQLite recovers its WAL as after a reboot.
        const db = new Database(join(dir, 'gatehouse.db'), { readonly: !disk });
        try {
          const check = db.pragma('integrity_check', { simple: true });
          if (check !== 'ok') rec.add('integrity', String(check), i);
          else integrityOk++;
          const rows = db
            .prepare('select cast(body as text) as body from telemetry where device_id = ?')
            .all(DEVICE) as {
            body: string;
          }[];
          const have = new Set(rows.map((r) => (JSON.parse(r.body) as { seq: number }).seq));
          stored = have.size;
          rowsStored = rows.length;
          const lost = [...acknowledged].filter((n) => !have.has(n));
          if (lost.length > 0)
            rec.add(
              'lost-acknowledged',
              `${lost.length} acknowledged messages missing, e.g. ${lost.slice(0, 5).join(', ')}`,
              i,
            );
        } finally {
          db.close();
        }
      };
      if (!disk) examine(dataDir);
      else {
        try {
          onCopy(copy, copyMount, examine);
        } catch (err) {
          rec.add('copy-unreadable', err instanceof Error ? err.message : String(err), i);
        }
        await rm(copy, { force: true });
      }
    }
  } finally {
    disk?.unmount();
    await rm(root, { recursive: true, force: true });
  }
  return rec.finish({
    ...(disk ? { powerCut: true } : {}),
    iterations: o.iterations,
    acknowledged: acknowledged.size,
    stored,
    // Rows beyond one per sequence number. The client never sends a number twice (each
    // iteration starts past the last one), so any duplicate is written by the server.
    duplicates: rowsStored - stored,
    integrityOk,
    killAfterMs: { min: killMin, max: killMax },
  });
}
