/**
 * The mosquitto conformance-table runner (`npm run fuzz -- mosquitto-table --data DIR`) on a
 * table of our own in its format (mosquitto's cases are not shipped here): a must-disconnect
 * case the gateway refuses passes, one it lets through is counted as failed with the answers
 * it accepted, an "expect ok" case that stays open is counted open, and groups are counted
 * by their MQTT version.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { startFuzzServer, type FuzzServer } from '../fuzz/fuzz-server.js';
import { groupVersion, runMosquittoTable } from '../fuzz/mosquitto-table.js';

const TABLE = [
  {
    group: 'v3.1.1 PINGREQ',
    tests: [
      // Refused by the packet rules: a PINGREQ has a remaining length of 0.
      { name: 'C0 long', ver: 4, msgs: [{ type: 'send', payload: 'C0 01 00' }] },
      // Answered, and the connection stays open.
      {
        name: 'C0 valid',
        ver: 4,
        expect_disconnect: false,
        msgs: [
          { type: 'send', payload: 'C0 00' },
          { type: 'recv', payload: 'D0 00' },
        ],
      },
      // Marked must-disconnect on purpose: a valid PINGREQ is not closed, so this case fails.
      { name: 'C0 wrongly expected to close', ver: 4, msgs: [{ type: 'send', payload: 'C0 00' }] },
    ],
  },
  {
    group: 'v3.1.1 PUBLISH',
    tests: [
      // A device-topic QoS 1 PUBLISH is accepted (PUBACK) where the case expects a disconnect:
      // a failure that names the PUBACK.
      { name: 'telemetry wrongly expected to close', ver: 4, msgs: [{ type: 'send', payload: 'PUBLISH' }] },
    ],
  },
  { group: 'v3.1.1 disabled', disable: true, tests: [{ name: 'never run', msgs: [] }] },
  {
    group: 'v5.0   CONNECT',
    tests: [
      {
        name: '10 ok',
        connect: false,
        expect_disconnect: false,
        msgs: [{ type: 'send', payload: '10 0E 0004 4D515454 05 02 000A 00 0001 70' }],
      },
    ],
  },
];

describe('the mosquitto conformance-table runner', () => {
  let fuzz: FuzzServer;
  let dir: string;
  before(async () => {
    fuzz = await startFuzzServer();
    dir = await mkdtemp(join(tmpdir(), 'gatehouse-mosq-table-'));
    // The telemetry case needs the fuzz device's topic: a QoS 1 PUBLISH, packet id 1, '{}'.
    const topic = Buffer.from(`devices/${fuzz.context.deviceId}/messages/events/`);
    const body = Buffer.concat([
      Buffer.from([topic.length >> 8, topic.length & 0xff]),
      topic,
      Buffer.from([0, 1]),
      Buffer.from('{}'),
    ]);
    const publish = Buffer.concat([Buffer.from([0x32, body.length]), body]).toString('hex');
    const table = JSON.parse(JSON.stringify(TABLE).replace('"PUBLISH"', JSON.stringify(publish)));
    await writeFile(join(dir, 'OURS.json'), JSON.stringify(table));
  });
  after(async () => {
    await fuzz?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('passes the refused case, fails the two let through, counts open and refused-at-CONNECT cases', async () => {
    const report = await runMosquittoTable(fuzz.server.gateway, fuzz.context, dir);
    const v4 = report.byVersion['v3.1.1']!;
    assert.equal(v4.mustDisconnect, 3);
    assert.equal(v4.disconnectedNothingExtra, 1);
    assert.equal(v4.byReason['protocol-violation'], 1);
    assert.equal(v4.byReason['still open'], 2);
    assert.equal(v4.expectOk, 1);
    assert.equal(v4.expectOkStillOpen, 1);
    assert.deepEqual(
      report.findings.map((f) => [f.name, f.closed, f.extraAccepts]),
      [
        ['v3.1.1 PINGREQ C0 wrongly expected to close', false, []],
        ['v3.1.1 PUBLISH telemetry wrongly expected to close', false, ['puback']],
      ],
    );
    // MQTT 5 is refused at CONNECT (CONNACK refusal, then closed).
    assert.deepEqual(report.byVersion['v5.0'], {
      mustDisconnect: 0,
      disconnectedNothingExtra: 0,
      byReason: {},
      expectOk: 1,
      expectOkStillOpen: 0,
      expectOkClosedByReason: { 'connect-refused': 1 },
    });
  });

  it('reads the MQTT version from the group name', () => {
    assert.equal(groupVersion('v3.1   CONNECT'), 3);
    assert.equal(groupVersion('v3.1.1 CONNECT'), 4);
    assert.equal(groupVersion('v5.0   PUBLISH'), 5);
    assert.equal(groupVersion('REGRESSIONS'), 4);
  });

  it('refuses a folder without case files', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'gatehouse-mosq-empty-'));
    await assert.rejects(
      runMosquittoTable(fuzz.server.gateway, fuzz.context, empty),
      /holds no \*\.json case files/,
    );
    await rm(empty, { recursive: true, force: true });
  });
});
