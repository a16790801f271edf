/**
 * SIGTERM drains a real `gatehouse serve` process with connected MQTT devices: `/readyz`
 * turns 503 `draining`, the MQTT port stops accepting, the devices are disconnected no faster
 * than `--drain-rate`, and the process exits 0.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

import type { MqttClient } from 'mqtt';

import { connectSasDevice, sasGroupKey } from './helpers/sas-devices.js';
import { killServeProcesses, startServeProcess } from './helpers/serve-process.js';

const TOKEN = 'drain-test-token-0123456789abcdef';
const DEVICES = 6;
const RATE = 4;

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

describe('gatehouse serve: SIGTERM drains', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'gatehouse-drain-'));
  after(() => {
    killServeProcesses();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it(`fails /readyz, stops accepting, disconnects ${DEVICES} devices at ${RATE}/s, exits 0`, async () => {
    const s = await startServeProcess({
      dataDir,
      token: TOKEN,
      args: ['--drain-rate', String(RATE), '--log-level', 'info'],
    });
    const key = await sasGroupKey(s, TOKEN);
    const devices: MqttClient[] = [];
    for (let i = 0; i < DEVICES; i++) devices.push(await connectSasDevice(s, key, `drain-${i}`));
    assert.equal((await fetch(`${s.url}/readyz`)).status, 200);

    const closedAt: number[] = [];
    const allClosed = Promise.all(
      devices.map(
        (d) => new Promise<void>((resolve) => d.once('close', () => (closedAt.push(Date.now()), resolve()))),
      ),
    );
    const exited = new Promise<number | null>((resolve) => s.child.once('exit', (code) => resolve(code)));
    const sent = Date.now();
    s.child.kill('SIGTERM');

    // While devices are still leaving, the node says so and takes no one new.
    await new Promise((r) => setTimeout(r, 300));
    const ready = await fetch(`${s.url}/readyz`);
    assert.equal(ready.status, 503);
    assert.deepEqual(await ready.json(), { status: 'draining' });
    assert.equal((await fetch(`${s.url}/healthz`)).status, 200, 'still alive while draining');
    assert.equal(await refused(s.mqttPort), true, 'the MQTT port no longer accepts');

    await allClosed;
    assert.equal(await exited, 0);
    const spread = Math.max(...closedAt) - Math.min(...closedAt);
    // 6 devices at 4/s: one every 250 ms, so ≥ 1.25 s from the first to the last (some slack).
    assert.ok(spread >= ((DEVICES - 1) * 1000) / RATE - 150, `disconnections spread over ${spread} ms`);
    for (const t of closedAt) {
      const inOneSecond = closedAt.filter((u) => u >= t && u < t + 1000).length;
      assert.ok(inOneSecond <= RATE + 1, `${inOneSecond} disconnections within one second`);
    }
    assert.match(s.out(), /draining: devices disconnected/);
    assert.ok(Date.now() - sent < 15_000);
  });
});
