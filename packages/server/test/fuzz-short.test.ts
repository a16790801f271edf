/**
 * The fuzzers at CI size, each with a fixed seed (`npm run fuzz` runs them long, with new
 * seeds): the gateway in process, the real TLS listener, every REST operation, and the PKI
 * readers. Each must come back with no finding: no uncaught exception, no input slower than
 * 100 ms, every connection closed after its peer left, a good device still connecting after a
 * batch over TLS, no 5xx, no refused-input accepted, the two certificate readers agreeing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { crashLoop } from '../fuzz/crash-loop.js';
import { fuzzMqtt } from '../fuzz/fuzz-mqtt.js';
import { fuzzPki } from '../fuzz/fuzz-pki.js';
import type { FuzzReport } from '../fuzz/fuzz-report.js';
import { fuzzRest } from '../fuzz/fuzz-rest.js';
import { FUZZ_TOKEN, startFuzzServer, type FuzzServer } from '../fuzz/fuzz-server.js';
import { fuzzMqttOverTls } from '../fuzz/fuzz-tls.js';

function clean(report: FuzzReport): void {
  assert.ok(report.inputs > 0, 'the fuzzer ran inputs');
  assert.deepEqual(
    report.findings,
    [],
    `${report.target} findings:\n${JSON.stringify(report.findings, null, 2)}`,
  );
}

describe('fuzzers, seeded CI runs', { timeout: 240_000 }, () => {
  let fuzz: FuzzServer;
  before(async () => {
    fuzz = await startFuzzServer();
  });
  after(async () => fuzz?.stop());

  it('mqtt in process: 1,500 conversations reach DPS and hub sessions without a finding', async () => {
    const report = await fuzzMqtt({
      gateway: fuzz.server.gateway,
      context: fuzz.context,
      runs: 1500,
      seed: 20261205,
    });
    clean(report);
    // The seeds are valid conversations: many got past CONNECT and were answered.
    assert.ok(
      (report['bytesWritten'] as number) > 1500,
      `the gateway answered (${String(report['bytesWritten'])} bytes)`,
    );
  });

  it('mqtt over TLS: 400 conversations in two batches, a good device connecting after each', async () => {
    const report = await fuzzMqttOverTls({ fuzz, runs: 400, seed: 20261205, batch: 200, parallel: 16 });
    clean(report);
    assert.equal(report['healthChecks'], 2);
  });

  it('rest: 600 calls over every OpenAPI operation and the create-delete-use sequences, every answer as documented', async () => {
    const report = await fuzzRest({ baseUrl: fuzz.baseUrl, token: FUZZ_TOKEN, runs: 600, seed: 20261205 });
    clean(report);
    const statuses = report['statuses'] as Record<string, number>;
    assert.ok((statuses['4xx'] ?? 0) > 0 && (statuses['2xx'] ?? 0) > 0, JSON.stringify(statuses));
    const links = report['links'] as { resources: number; calls: number };
    assert.equal(links.resources, 10);
    assert.ok(links.calls > 80, `${links.calls} calls on created and deleted resources`);
  });

  it('pki: 3,000 mutated certificates and keys, the fast reader agreeing with the general parser', async () => {
    const report = await fuzzPki({ runs: 3000, seed: 20261205 });
    clean(report);
    assert.ok(
      (report['comparedWithGeneralParser'] as number) > 50,
      'mutated certificates OpenSSL accepts were compared',
    );
  });

  it('crash: 3 SIGKILLs at random points of a QoS 1 stream lose nothing acknowledged, integrity ok', async () => {
    const report = await crashLoop({ iterations: 3, seed: 20261205 });
    clean(report);
    assert.ok((report['acknowledged'] as number) > 0, 'messages were acknowledged before the kills');
  });
});
