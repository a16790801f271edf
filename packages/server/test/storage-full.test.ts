/**
 * Disk full (HARDENING.md §7, D2–D3), on a real size-limited tmpfs holding the data folder: no
 * PUBACK for what was not committed, no crash, no corruption, an alarm in the log and in
 * /metrics, devices refused cleanly (CONNACK 3) while full, and ingestion back within 5 s of
 * space being freed. Needs root to mount tmpfs: skipped with a reason otherwise, required in CI.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import Database from 'better-sqlite3';
import type { MqttClient } from 'mqtt';

import { sasFleet, type SasFleet } from './helpers/sas-device.js';
import { startTestServer, type TestServer } from './helpers/test-server.js';

const required = process.env['CI'] === 'true' || process.env['GATEHOUSE_REQUIRE_TMPFS'] === '1';

function mountTmpfs(): { dir: string; skip?: string } {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-full-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=48m', 'tmpfs', dir], { stdio: 'pipe' });
    return { dir };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    const reason = `cannot mount a tmpfs (needs root): ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`;
    if (required) throw new Error(reason);
    return { dir, skip: reason };
  }
}

/** Fills the file system with `path` until a write fails; returns the bytes written. */
async function fill(path: string): Promise<number> {
  const file = await open(path, 'w');
  let written = 0;
  try {
    for (const size of [1 << 20, 64 << 10, 4 << 10, 512]) {
      const chunk = Buffer.alloc(size, 1);
      for (;;) {
        try {
          await file.write(chunk);
          written += size;
        } catch {
          break;
        }
      }
    }
  } finally {
    await file.close().catch(() => undefined);
  }
  return written;
}

function publish(
  client: MqttClient,
  id: string,
  body: string,
  timeoutMs: number,
): Promise<'acked' | 'no-ack'> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve('no-ack'), timeoutMs);
    client.publish(`devices/${id}/messages/events/`, body, { qos: 1 }, (err) => {
      clearTimeout(timer);
      resolve(err ? 'no-ack' : 'acked');
    });
  });
}

async function metric(server: TestServer, name: string): Promise<number> {
  const text = await (await fetch(`${server.baseUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(' ')[1]) : NaN;
}

const mount = mountTmpfs();

describe('disk full', { skip: mount.skip, timeout: 120_000 }, () => {
  let server: TestServer;
  let fleet: SasFleet;
  const filler = join(mount.dir, 'filler');
  let acked = 0;

  before(async () => {
    server = await startTestServer({ dataDir: join(mount.dir, 'data') });
    const group = await server.api<{ attestation: { symmetricKey: { primaryKey: string } } }>(
      'GET',
      '/api/enrollmentGroups/SAS-IoT-Devices',
    );
    fleet = sasFleet(server, group.body.attestation.symmetricKey.primaryKey);
  });
  after(async () => {
    await server?.stop().catch(() => undefined);
    execFileSync('umount', [mount.dir]);
    rmSync(mount.dir, { recursive: true, force: true });
  });

  it('acknowledges only what it stored, raises the alarm, refuses devices, and resumes within 5 s of space', async () => {
    const client = await fleet.connect('full-1');
    client.on('error', () => undefined);
    for (let i = 0; i < 5; i++)
      if ((await publish(client, 'full-1', JSON.stringify({ i }), 5000)) === 'acked') acked++;
    assert.equal(acked, 5, 'messages are stored while there is room');
    assert.equal(await metric(server, 'gatehouse_storage_full'), 0);

    await fill(filler);
    // Bodies of 8 KiB: the WAL needs pages the file system no longer has.
    const body = JSON.stringify({ pad: 'x'.repeat(8192) });
    const outcomes: string[] = [];
    // Until the first message that is not acknowledged (the connection then closes: no PUBACK).
    for (let i = 0; i < 50 && !outcomes.includes('no-ack'); i++)
      outcomes.push(await publish(client, 'full-1', body, 3000));
    const ackedWhileFull = outcomes.filter((o) => o === 'acked').length;
    acked += ackedWhileFull;
    assert.ok(
      outcomes.includes('no-ack'),
      `a message that could not be stored is not acknowledged (${outcomes.join(',')})`,
    );
    assert.equal(await metric(server, 'gatehouse_storage_full'), 1, 'the alarm is raised in /metrics');
    assert.ok((await metric(server, 'gatehouse_storage_full_failures_total')) >= 1);
    client.end(true);

    // Alive, and devices are refused cleanly: CONNACK 3 (server unavailable), which SDKs retry.
    assert.equal((await fetch(`${server.baseUrl}/healthz`)).status, 200);
    await assert.rejects(fleet.connect('full-1'), (err: Error & { code?: number }) => {
      assert.equal(err.code, 3, err.message);
      return true;
    });

    // Space freed: within 5 s a device connects and its message is acknowledged.
    await rm(filler);
    const freed = Date.now();
    let back: MqttClient | undefined;
    while (!back && Date.now() - freed < 5000) {
      back = await fleet.connect('full-1').catch(() => undefined);
      if (!back) await new Promise((r) => setTimeout(r, 200));
    }
    assert.ok(back, 'a device connects within 5 s of space being freed');
    assert.equal(await publish(back, 'full-1', JSON.stringify({ after: true }), 5000), 'acked');
    acked++;
    const seconds = (Date.now() - freed) / 1000;
    assert.ok(seconds < 5, `ingestion resumed in ${seconds} s`);
    assert.equal(await metric(server, 'gatehouse_storage_full'), 0, 'the alarm clears');
    await back.endAsync();
  });

  it('lost nothing that was acknowledged, and the database is intact', async () => {
    const stored = await server.api<{ value: unknown[] }>('GET', '/api/devices/full-1/telemetry?$top=1000');
    assert.equal(stored.status, 200, JSON.stringify(stored.body));
    await server.stop();
    const db = new Database(join(mount.dir, 'data', 'gatehouse.db'), { readonly: true });
    try {
      assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
      const rows = (
        db.prepare("select count(*) as n from telemetry where device_id = 'full-1'").get() as { n: number }
      ).n;
      assert.ok(rows >= acked, `${rows} stored ≥ ${acked} acknowledged`);
    } finally {
      db.close();
    }
  });
});
