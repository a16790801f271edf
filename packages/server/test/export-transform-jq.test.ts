/**
 * The export transform runs Debian's jq (transform-jq.ts): IoT Central's own example programs
 * (D-XFORM, EXPORT_RULES.md §2.8) on its pre-transformation message give its documented
 * outputs; none and several outputs per message; a program that does not compile is refused with
 * jq's message and the user's line; a runtime error rejects that message only; a crashed or
 * runaway jq is replaced and the messages behind it still come through; jq sees no environment.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';

import type { Transform } from '../src/export/contracts.js';
import {
  compileTransform,
  TransformCompileError,
  TransformRuntimeError,
} from '../src/export/transform-jq.js';

/** D-XFORM's pre-transformation telemetry message (Smart Knee Brace). */
const KNEE = {
  applicationId: '93d68c98-9a22-4b28-94d1-06625d4c3d0f',
  device: {
    id: '31edabe6-e0b9-4c83-b0df-d12e95745b9f',
    name: 'Scripted Device - 31edabe6-e0b9-4c83-b0df-d12e95745b9f',
    cloudProperties: [],
    properties: { reported: [{ id: 'urn:x:FirmwareVersion:1', name: 'FirmwareVersion', value: 1.0 }] },
    templateId: 'urn:sbq3croo:modelDefinition:nf7st1wn3',
    templateName: 'Smart Knee Brace',
  },
  telemetry: [
    {
      id: 'urn:continuousPatientMonitoringTemplate:Smart_Knee_Brace_6wm:Acceleration:1',
      name: 'Acceleration',
      value: { x: 19.212770659918583, y: 20.596296675217335, z: 54.04859440697045 },
    },
    {
      id: 'urn:continuousPatientMonitoringTemplate:Smart_Knee_Brace_6wm:RangeOfMotion:1',
      name: 'RangeOfMotion',
      value: 110,
    },
  ],
  enqueuedTime: '2021-03-23T19:55:56.971Z',
  enrichments: { 'your-enrichment-key': 'enrichment-value' },
  messageProperties: { prop1: 'prop-value' },
  messageSource: 'telemetry',
};

/** D-XFORM scenario 2: one message carrying the readings of two sub-devices. */
const PARENT = {
  applicationId: '570c2d7b-d72e-4ad1-aaf4-ad9b727daa47',
  enqueuedTime: '1909-10-10T07:11:56.078161042Z',
  messageSource: 'telemetry',
  telemetry: [
    {
      id: 'dtmi:sample1:data;1',
      name: 'data',
      value: [
        { id: 'subdevice1', values: { running: true, cycleCount: 2315 } },
        { id: 'subdevice2', values: { running: false, cycleCount: 824567 } },
      ],
    },
    { id: 'dtmi:sample1:parentStatus;1', name: 'parentStatus', value: 'healthy' },
  ],
  device: { id: '9xwhr7khkfri', name: 'wireless port', properties: { reported: [] }, cloudProperties: [] },
};

const open: Transform[] = [];
async function compile(program: string, timeoutMs?: number): Promise<Transform> {
  const t = await compileTransform(program, timeoutMs === undefined ? {} : { timeoutMs });
  open.push(t);
  return t;
}
after(() => open.forEach((t) => t.close()));

describe('jq transform: IoT Central example programs', () => {
  it('`.` passes the message through unchanged', async () => {
    assert.deepEqual(await (await compile('.')).apply(KNEE), [KNEE]);
  });

  it('text outside ASCII passes through and jq string functions count characters', async () => {
    const t = await compile('[.n, (.n | length), (.n | test("é"))]');
    assert.deepEqual(await t.apply({ n: 'Température ✓ 😀' }), [['Température ✓ 😀', 15, true]]);
  });

  it('example 1, `.telemetry[]`: one output per telemetry entry', async () => {
    assert.deepEqual(await (await compile('.telemetry[]')).apply(KNEE), KNEE.telemetry);
  });

  it('example 2: the telemetry array as an object keyed by name', async () => {
    const t = await compile('.telemetry | map({ key: .name, value: .value }) | from_entries');
    assert.deepEqual(await t.apply(KNEE), [{ Acceleration: KNEE.telemetry[0]!.value, RangeOfMotion: 110 }]);
  });

  it('example 3: import "iotc" and iotc::find, degrees to radians', async () => {
    const t = await compile(`import "iotc" as iotc;
{
  rangeOfMotion: (
    .telemetry
    | iotc::find(.name == "RangeOfMotion").value
    | . * 3.14159265358979323846 / 180
  )
}`);
    assert.deepEqual(await t.apply(KNEE), [{ rangeOfMotion: 1.9198621771937625 }]);
  });

  it('the export example of the REST docs (EX-P dataexports_exports_get.json)', async () => {
    const t = await compile(
      '{ ApplicationId: .applicationId, Component: .component, DeviceName: .device.name }',
    );
    assert.deepEqual(await t.apply(KNEE), [
      { ApplicationId: KNEE.applicationId, Component: null, DeviceName: KNEE.device.name },
    ]);
  });

  it('scenario 2: a message split into one row per sub-device, with a trailing comma', async () => {
    const t = await compile(`import "iotc" as iotc;
{
    enqueuedTime: .enqueuedTime,
    deviceId: .device.id,
    parentStatus: .telemetry | iotc::find(.name == "parentStatus").value,
} + (
    .telemetry
    | iotc::find(.name == "data").value[]
    | {
        subdeviceId: .id,
        running: .values.running,
        cycleCount: .values.cycleCount
    }
)`);
    const common = { enqueuedTime: PARENT.enqueuedTime, deviceId: '9xwhr7khkfri', parentStatus: 'healthy' };
    assert.deepEqual(await t.apply(PARENT), [
      { ...common, subdeviceId: 'subdevice1', running: true, cycleCount: 2315 },
      { ...common, subdeviceId: 'subdevice2', running: false, cycleCount: 824567 },
    ]);
  });
});

describe('jq transform: none, several, order, errors', () => {
  it('`empty` and a failed select give no output; several outputs keep their order', async () => {
    assert.deepEqual(await (await compile('empty')).apply(KNEE), []);
    const hot = await compile('select(.telemetry[0].value > 30)');
    assert.deepEqual(
      await Promise.all([
        hot.apply({ telemetry: [{ value: 10 }] }),
        hot.apply({ telemetry: [{ value: 40 }] }),
      ]),
      [[], [{ telemetry: [{ value: 40 }] }]],
    );
    assert.deepEqual(await (await compile('range(5)')).apply(null), [0, 1, 2, 3, 4]);
  });

  it('many messages in flight each get their own outputs', async () => {
    const t = await compile('.n as $n | range($n) | $n');
    const answers = await Promise.all(Array.from({ length: 200 }, (_, n) => t.apply({ n: n % 4 })));
    answers.forEach((a, n) => assert.deepEqual(a, Array(n % 4).fill(n % 4)));
  });

  const refused: [string, string, RegExp, number | undefined][] = [
    ['a syntax error on line 3', '.a\n| .b\n| ]', /syntax error, unexpected INVALID_CHARACTER \(line 3\)/, 3],
    [
      'an unknown function',
      '.telemetry\n| nosuchfunction(1)',
      /nosuchfunction\/1 is not defined \(line 2\)/,
      2,
    ],
    ['an unfinished pipe', '.a |', /syntax error/, 1],
    ['a module other than iotc', 'import "other" as o;\n.', /Only the IoT Central module/, 1],
    ['a data import', 'import "iotc" as $data;\n.', /Only the IoT Central module/, 1],
    ['an empty program', '  # nothing\n', /empty/, undefined],
  ];
  for (const [name, program, message, line] of refused) {
    it(`refuses ${name} with a TransformCompileError`, async () => {
      await assert.rejects(compileTransform(program), (err: unknown) => {
        assert.ok(err instanceof TransformCompileError, String(err));
        assert.match(err.message, message);
        assert.equal(err.line, line);
        assert.doesNotMatch(err.message, /__gatehouse/);
        return true;
      });
    });
  }

  it('a runtime error rejects that message only, in jq words', async () => {
    const t = await compile('.telemetry[] | .value + 1');
    const [bad, good] = await Promise.allSettled([
      t.apply({ telemetry: [{ value: 'x' }] }),
      t.apply({ telemetry: [{ value: 1 }] }),
    ]);
    assert.equal(bad.status, 'rejected');
    assert.ok(bad.reason instanceof TransformRuntimeError);
    assert.match(String(bad.reason.message), /string \("x"\) and number \(1\) cannot be added/);
    assert.deepEqual(good, { status: 'fulfilled', value: [2] });
    const custom = await compile('if .bad then error("bad reading") else . end');
    await assert.rejects(custom.apply({ bad: true }), /jq error on this message: bad reading/);
    await assert.rejects(
      compile('input').then((t2) => t2.apply(1)),
      /input is not available in a transform/,
    );
  });

  it('a jq that stops (halt_error) is restarted: that message is rejected, the next ones pass', async () => {
    const t = await compile('if .stop then "bye\\n" | halt_error(1) else .n end');
    const results = await Promise.allSettled([
      t.apply({ n: 1 }),
      t.apply({ stop: true }),
      t.apply({ n: 2 }),
      t.apply({ n: 3 }),
    ]);
    assert.deepEqual(results[0], { status: 'fulfilled', value: [1] });
    assert.equal(results[1].status, 'rejected');
    assert.match(String((results[1] as PromiseRejectedResult).reason), /jq stopped on this message \(bye\)/);
    assert.deepEqual(results.slice(2), [
      { status: 'fulfilled', value: [2] },
      { status: 'fulfilled', value: [3] },
    ]);
    assert.deepEqual(await t.apply({ n: 4 }), [4]);
  });

  it('a program that never ends on one message is stopped after the timeout', async () => {
    const t = await compile('if .loop then last(repeat(1)) else .n end', 300);
    const [loop, next] = await Promise.allSettled([t.apply({ loop: true }), t.apply({ n: 7 })]);
    assert.match(String((loop as PromiseRejectedResult).reason), /ran longer than 300 ms/);
    assert.deepEqual(next, { status: 'fulfilled', value: [7] });
  });

  it('jq sees none of the server environment', async () => {
    process.env['GATEHOUSE_SECRET_FOR_TEST'] = 'do-not-leak';
    const t = await compile('[$ENV, env]');
    assert.deepEqual(await t.apply(null), [[{}, {}]]);
  });

  it('close() rejects what is pending and refuses new messages', async () => {
    const t = await compileTransform('.');
    t.close();
    await assert.rejects(t.apply(1), /closed/);
  });
});
