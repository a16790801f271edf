/** The pure parts of `gatehouse simulate`: durations, templates and writable-property acks. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDuration } from '../src/commands/simulate/index.js';
import { acknowledgeDesired, createBehaviour } from '../src/commands/simulate/templates.js';

describe('simulate: parseDuration', () => {
  it('reads ms, s, m, h and bare seconds', () => {
    assert.equal(parseDuration('200ms', '--interval', 10), 200);
    assert.equal(parseDuration('1s', '--interval', 10), 1000);
    assert.equal(parseDuration('1.5s', '--interval', 10), 1500);
    assert.equal(parseDuration('2m', '--interval', 10), 120_000);
    assert.equal(parseDuration('1h', '--interval', 10), 3_600_000);
    assert.equal(parseDuration('3', '--interval', 10), 3000);
  });
  it('refuses text, negative and too short durations with ERR_CLI_INVALID_OPTION', () => {
    for (const bad of ['soon', '-1s', '5ms', '', '1d']) {
      assert.throws(() => parseDuration(bad, '--interval', 10), { code: 'ERR_CLI_INVALID_OPTION' });
    }
  });
});

describe('simulate: templates', () => {
  it('environmental-sensor: temp 60–90 °F, humid 30–70 %, state "true", LED commands', async () => {
    const d = createBehaviour('environmental-sensor');
    for (let i = 0; i < 1000; i++) {
      const t = d.telemetry() as { temp: number; humid: number };
      assert.ok(t.temp >= 60 && t.temp <= 90);
      assert.ok(t.humid >= 30 && t.humid <= 70);
    }
    assert.deepEqual(d.reported(), { state: 'true' });
    const req = { methodName: 'x', requestId: '1' };
    assert.deepEqual(await d.methods.blink?.(2, req), {
      status: 200,
      payload: { status: 'Blinking LED every 2 seconds' },
    });
    assert.equal((await d.methods.turnon?.(null, req))?.status, 200);
    assert.equal((await d.methods.turnoff?.(null, req))?.status, 200);
    assert.equal((await d.methods.rundiagnostics?.(null, req))?.status, 202);
  });
  it('thermostat: temperature 15–30 °C, maxTempSinceLastReboot, getMaxMinReport', async () => {
    const d = createBehaviour('thermostat');
    const seen: number[] = [];
    for (let i = 0; i < 100; i++) {
      const t = (d.telemetry() as { temperature: number }).temperature;
      assert.ok(t >= 15 && t <= 30);
      seen.push(t);
    }
    assert.deepEqual(d.changedReported(), { maxTempSinceLastReboot: Math.max(...seen) });
    assert.equal(d.changedReported(), undefined);
    const report = await d.methods.getMaxMinReport?.(null, { methodName: 'getMaxMinReport', requestId: '1' });
    assert.equal(report?.status, 200);
    const p = report?.payload as Record<string, unknown>;
    assert.equal(p.maxTemp, Math.max(...seen));
    assert.equal(p.minTemp, Math.min(...seen));
    assert.equal(typeof p.avgTemp, 'number');
    assert.equal(typeof p.startTime, 'string');
    assert.equal(typeof p.endTime, 'string');
  });
  it('acknowledges each writable property with ac 200 and the desired version', () => {
    assert.deepEqual(acknowledgeDesired({ targetTemperature: 22, $version: 4 }, 4), {
      targetTemperature: { value: 22, ac: 200, ad: 'completed', av: 4 },
    });
  });
});
