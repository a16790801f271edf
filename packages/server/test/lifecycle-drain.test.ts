/**
 * The drain's pacing with fake devices (the real-process test is the CLI's serve-drain test):
 * readiness turns `draining` and the listeners stop accepting before the first device is
 * closed, and the closes follow the rate, including rates below one per tick.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { pino } from 'pino';

import { drainDevices } from '../src/lifecycle/drain.js';
import { Readiness } from '../src/lifecycle/readiness.js';

function fleet(n: number) {
  const live = new Set<{ id: number; close(reason: string): void }>();
  const events: Array<{ at: number; what: string }> = [];
  for (let id = 0; id < n; id++)
    live.add({
      id,
      // Like a socket: the device leaves the registry a moment after close().
      close(reason) {
        events.push({ at: Date.now(), what: reason });
        setTimeout(() => live.delete(this), 5);
      },
    });
  return { live, events };
}

describe('drainDevices', () => {
  for (const { rate, devices } of [
    { rate: 20, devices: 10 },
    { rate: 5, devices: 4 },
  ]) {
    it(`${devices} devices at ${rate}/s: draining first, then paced closes`, async () => {
      const { live, events } = fleet(devices);
      const readiness = new Readiness();
      let stoppedAt: number | undefined;
      const started = Date.now();
      const result = await drainDevices({
        readiness,
        stopAccepting: () => {
          assert.equal(readiness.draining, true, 'readiness fails before the port closes');
          stoppedAt = Date.now();
        },
        devices: () => live,
        ratePerSecond: rate,
        logger: pino({ level: 'silent' }),
      });
      assert.equal(result.disconnected, devices);
      assert.equal(events.length, devices, 'each device is closed once');
      assert.ok(events.every((e) => e.what === 'server draining'));
      assert.ok(stoppedAt !== undefined && stoppedAt <= events[0]!.at);
      const minimum = ((devices - 1) * 1000) / rate;
      assert.ok(Date.now() - started >= minimum - 60, `took ${Date.now() - started} ms, at least ${minimum}`);
    });
  }

  it('ends at once when no device is connected', async () => {
    const result = await drainDevices({
      readiness: new Readiness(),
      stopAccepting: () => undefined,
      devices: () => [],
      ratePerSecond: 500,
      logger: pino({ level: 'silent' }),
    });
    assert.equal(result.disconnected, 0);
    assert.ok(result.ms < 50);
  });
});
