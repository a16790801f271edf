import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';

import {
  dpsSasResource,
  hubSasResource,
  parseSharedAccessSignature,
  sasResourceMatches,
  signSharedAccessSignature,
  verifySharedAccessSignature,
  type ProtocolErrorCode,
} from '../src/index.js';
import { assertThrowsCode } from './helpers.js';

// Known-answer vectors produced by azure-iot-common 1.13.x `SharedAccessSignature.create`
// (the code the device SDK runs), frozen here so they do not depend on node_modules.
const KEY = 'Z2F0ZWhvdXNlLXRlc3QtZGV2aWNlLWtleS0wMTIzNDU2Nzg5YWJjZGVm';
const OTHER_KEY = Buffer.alloc(32, 7).toString('base64');
const SE = 1764352491;
const HUB_TOKEN =
  'SharedAccessSignature sr=localhost%3A18883%2Fdevices%2Fmy-sym-device&sig=iod%2FIiJDR1GJwM7NYtSxp8nvalsHZwvxWXQE%2BuMqCoM%3D&se=1764352491';
const DPS_TOKEN =
  'SharedAccessSignature sr=0ne00ABC123/registrations/my-sym-device&sig=g%2BWUiAtocqLK%2B4fKnJwaVne16bSqc8IOJ%2FWKCKlpUck%3D&skn=registration&se=1764352491';
const POLICY_TOKEN =
  'SharedAccessSignature sr=hub.example.com%2Fdevices%2Fdev-1&sig=aB4PR5oxpm8LcE%2BVAfN3YU%2FfuKOXMSVHeUnWMZtQ0%2Fo%3D&skn=pol%21cy%27%28x%29%2a&se=1764352491';

describe('signSharedAccessSignature (azure-iot-common format)', () => {
  const vectors = [
    {
      name: 'hub device token: sr = encodeURIComponent(host:port/devices/id), no skn',
      options: {
        resource: encodeURIComponent('localhost:18883/devices/my-sym-device'),
        key: KEY,
        expiry: SE,
      },
      expected: HUB_TOKEN,
    },
    {
      name: 'DPS token: raw sr, skn=registration',
      options: {
        resource: '0ne00ABC123/registrations/my-sym-device',
        key: KEY,
        expiry: SE,
        keyName: 'registration',
      },
      expected: DPS_TOKEN,
    },
    {
      name: "policy name escaped with !'()* (lower-case %2a like the SDK)",
      options: {
        resource: encodeURIComponent('hub.example.com/devices/dev-1'),
        key: KEY,
        expiry: SE,
        keyName: "pol!cy'(x)*",
      },
      expected: POLICY_TOKEN,
    },
  ];
  for (const v of vectors) {
    it(v.name, () => assert.equal(signSharedAccessSignature(v.options), v.expected));
  }

  it('matches a hand-rolled HMAC over the literal sr + "\\n" + se', () => {
    const sr = encodeURIComponent('localhost:18883/devices/my-sym-device');
    const sig = createHmac('sha256', Buffer.from(KEY, 'base64')).update(`${sr}\n${SE}`).digest('base64');
    assert.equal(parseSharedAccessSignature(HUB_TOKEN).sig, sig);
  });

  const require = createRequire(import.meta.url);
  let common:
    | {
        SharedAccessSignature: {
          create(sr: string, skn: string | undefined, key: string, se: number): object;
        };
      }
    | undefined;
  try {
    common = require('azure-iot-common') as typeof common;
  } catch {
    common = undefined;
  }
  it(
    'agrees with the installed azure-iot-common',
    { skip: common === undefined && 'azure-iot-common not installed' },
    () => {
      for (const [sr, skn] of [
        [encodeURIComponent('hub.example.com/devices/dev 1/modules/m'), undefined],
        ['0ne00ABC123/registrations/reg.1', 'registration'],
        [encodeURIComponent('h/devices/d'), 'iothubowner'],
      ] as const) {
        const expected = String(common?.SharedAccessSignature.create(sr, skn, KEY, 2_000_000_000));
        const options =
          skn === undefined
            ? { resource: sr, key: KEY, expiry: 2_000_000_000 }
            : { resource: sr, key: KEY, expiry: 2_000_000_000, keyName: skn };
        assert.equal(signSharedAccessSignature(options), expected);
      }
    },
  );

  it('refuses bad inputs', () => {
    assertThrowsCode(
      () => signSharedAccessSignature({ resource: 'r', key: 'not base64!', expiry: SE }),
      'ERR_SAS_BAD_KEY',
    );
    assertThrowsCode(
      () => signSharedAccessSignature({ resource: '', key: KEY, expiry: SE }),
      'ERR_PROTOCOL_INVALID_ARGUMENT',
    );
    assertThrowsCode(
      () => signSharedAccessSignature({ resource: 'r', key: KEY, expiry: 1.5 }),
      'ERR_PROTOCOL_INVALID_ARGUMENT',
    );
  });
});

describe('parseSharedAccessSignature', () => {
  it('parses the hub token, keeping sr literal and decoding sig', () => {
    assert.deepEqual(parseSharedAccessSignature(HUB_TOKEN), {
      sr: 'localhost%3A18883%2Fdevices%2Fmy-sym-device',
      sig: 'iod/IiJDR1GJwM7NYtSxp8nvalsHZwvxWXQE+uMqCoM=',
      se: SE,
    });
  });

  it('parses the DPS token with skn', () => {
    assert.deepEqual(parseSharedAccessSignature(DPS_TOKEN), {
      sr: '0ne00ABC123/registrations/my-sym-device',
      sig: 'g+WUiAtocqLK+4fKnJwaVne16bSqc8IOJ/WKCKlpUck=',
      skn: 'registration',
      se: SE,
    });
  });

  it('decodes skn', () => {
    assert.equal(parseSharedAccessSignature(POLICY_TOKEN).skn, "pol!cy'(x)*");
  });

  it('accepts any field order, extra whitespace, unknown fields and an un-encoded sig', () => {
    const t = parseSharedAccessSignature(
      '  SharedAccessSignature   se=1764352491&foo=bar&skn=registration&sig=g+WUiAtocqLK+4fKnJwaVne16bSqc8IOJ/WKCKlpUck=&sr=0ne00ABC123/registrations/my-sym-device ',
    );
    assert.deepEqual(t, parseSharedAccessSignature(DPS_TOKEN));
  });

  const refusals: Array<[string, string, ProtocolErrorCode]> = [
    ['wrong prefix', 'Bearer sr=a&sig=AAAA&se=1', 'ERR_SAS_MALFORMED'],
    ['prefix only', 'SharedAccessSignature', 'ERR_SAS_MALFORMED'],
    ['lower-case prefix', 'sharedaccesssignature sr=a&sig=AAAA&se=1', 'ERR_SAS_MALFORMED'],
    ['two field lists', 'SharedAccessSignature sr=a&sig=AAAA se=1', 'ERR_SAS_MALFORMED'],
    ['field without =', 'SharedAccessSignature sr=a&sig=AAAA&se=1&oops', 'ERR_SAS_MALFORMED'],
    ['empty segment', 'SharedAccessSignature sr=a&&sig=AAAA&se=1', 'ERR_SAS_MALFORMED'],
    ['empty field name', 'SharedAccessSignature sr=a&=x&sig=AAAA&se=1', 'ERR_SAS_MALFORMED'],
    ['bad skn escape', 'SharedAccessSignature sr=a&sig=AAAA&se=1&skn=%E0%A4%A', 'ERR_SAS_MALFORMED'],
    ['too long', `SharedAccessSignature sr=${'a'.repeat(5000)}&sig=AAAA&se=1`, 'ERR_SAS_MALFORMED'],
    ['missing sr', 'SharedAccessSignature sig=AAAA&se=1', 'ERR_SAS_MISSING_FIELD'],
    ['missing sig', 'SharedAccessSignature sr=a&se=1', 'ERR_SAS_MISSING_FIELD'],
    ['missing se', 'SharedAccessSignature sr=a&sig=AAAA', 'ERR_SAS_MISSING_FIELD'],
    ['empty sr', 'SharedAccessSignature sr=&sig=AAAA&se=1', 'ERR_SAS_MISSING_FIELD'],
    ['duplicate sr', 'SharedAccessSignature sr=a&sr=b&sig=AAAA&se=1', 'ERR_SAS_DUPLICATE_FIELD'],
    ['duplicate se', 'SharedAccessSignature sr=a&sig=AAAA&se=1&se=2', 'ERR_SAS_DUPLICATE_FIELD'],
    [
      'duplicate unknown field',
      'SharedAccessSignature sr=a&x=1&x=2&sig=AAAA&se=1',
      'ERR_SAS_DUPLICATE_FIELD',
    ],
    ['se not a number', 'SharedAccessSignature sr=a&sig=AAAA&se=soon', 'ERR_SAS_BAD_EXPIRY'],
    ['se fractional', 'SharedAccessSignature sr=a&sig=AAAA&se=1.5', 'ERR_SAS_BAD_EXPIRY'],
    ['se negative', 'SharedAccessSignature sr=a&sig=AAAA&se=-1', 'ERR_SAS_BAD_EXPIRY'],
    ['se leading zero', 'SharedAccessSignature sr=a&sig=AAAA&se=0123', 'ERR_SAS_BAD_EXPIRY'],
    [
      'se beyond safe integer',
      'SharedAccessSignature sr=a&sig=AAAA&se=99999999999999999999',
      'ERR_SAS_BAD_EXPIRY',
    ],
    ['sig not base64', 'SharedAccessSignature sr=a&sig=not*base64&se=1', 'ERR_SAS_BAD_SIGNATURE_ENCODING'],
    ['sig bad padding', 'SharedAccessSignature sr=a&sig=AAA&se=1', 'ERR_SAS_BAD_SIGNATURE_ENCODING'],
    [
      'sig bad percent-encoding',
      'SharedAccessSignature sr=a&sig=AA%2&se=1',
      'ERR_SAS_BAD_SIGNATURE_ENCODING',
    ],
  ];
  for (const [name, text, code] of refusals) {
    it(`refuses ${name} with ${code}`, () => assertThrowsCode(() => parseSharedAccessSignature(text), code));
  }
});

describe('verifySharedAccessSignature', () => {
  const now = SE - 60;

  it('accepts the hub token and reports the matching key index', () => {
    assert.equal(verifySharedAccessSignature(parseSharedAccessSignature(HUB_TOKEN), { keys: [KEY], now }), 0);
    assert.equal(
      verifySharedAccessSignature(parseSharedAccessSignature(HUB_TOKEN), { keys: [OTHER_KEY, KEY], now }),
      1,
    );
  });

  it('accepts the DPS token (raw sr)', () => {
    assert.equal(
      verifySharedAccessSignature(parseSharedAccessSignature(DPS_TOKEN), { keys: [KEY, OTHER_KEY], now }),
      0,
    );
  });

  it('literal-sr rule: the decoded hub sr does not verify', () => {
    const t = parseSharedAccessSignature(HUB_TOKEN);
    assertThrowsCode(
      () => verifySharedAccessSignature({ ...t, sr: decodeURIComponent(t.sr) }, { keys: [KEY], now }),
      'ERR_SAS_BAD_SIGNATURE',
    );
  });

  it('literal-sr rule: the encoded DPS sr does not verify', () => {
    const t = parseSharedAccessSignature(DPS_TOKEN);
    assertThrowsCode(
      () => verifySharedAccessSignature({ ...t, sr: encodeURIComponent(t.sr) }, { keys: [KEY], now }),
      'ERR_SAS_BAD_SIGNATURE',
    );
  });

  it('refuses a wrong key, a tampered se and a truncated signature', () => {
    const t = parseSharedAccessSignature(HUB_TOKEN);
    assertThrowsCode(
      () => verifySharedAccessSignature(t, { keys: [OTHER_KEY], now }),
      'ERR_SAS_BAD_SIGNATURE',
    );
    assertThrowsCode(
      () => verifySharedAccessSignature({ ...t, se: SE + 1 }, { keys: [KEY], now }),
      'ERR_SAS_BAD_SIGNATURE',
    );
    assertThrowsCode(
      () => verifySharedAccessSignature({ ...t, sig: 'AAAA' }, { keys: [KEY], now }),
      'ERR_SAS_BAD_SIGNATURE',
    );
  });

  it('refuses se <= now with ERR_SAS_EXPIRED, honouring clock skew', () => {
    const t = parseSharedAccessSignature(HUB_TOKEN);
    assertThrowsCode(() => verifySharedAccessSignature(t, { keys: [KEY], now: SE }), 'ERR_SAS_EXPIRED');
    assertThrowsCode(
      () => verifySharedAccessSignature(t, { keys: [KEY], now: SE + 3600 }),
      'ERR_SAS_EXPIRED',
    );
    assert.equal(verifySharedAccessSignature(t, { keys: [KEY], now: SE - 0.001 }), 0);
    assert.equal(verifySharedAccessSignature(t, { keys: [KEY], now: SE + 10, clockSkewSeconds: 30 }), 0);
  });

  it('checks the signature before the expiry (a forged expired token is BAD_SIGNATURE)', () => {
    const t = parseSharedAccessSignature(HUB_TOKEN);
    assertThrowsCode(
      () => verifySharedAccessSignature(t, { keys: [OTHER_KEY], now: SE + 1 }),
      'ERR_SAS_BAD_SIGNATURE',
    );
  });

  it('refuses an empty or non-base64 key list with ERR_SAS_BAD_KEY', () => {
    const t = parseSharedAccessSignature(HUB_TOKEN);
    assertThrowsCode(() => verifySharedAccessSignature(t, { keys: [], now }), 'ERR_SAS_BAD_KEY');
    assertThrowsCode(() => verifySharedAccessSignature(t, { keys: ['%%%'], now }), 'ERR_SAS_BAD_KEY');
  });

  it('round-trips sign → parse → verify', () => {
    const text = signSharedAccessSignature({
      resource: dpsSasResource('0ne1', 'r'),
      key: OTHER_KEY,
      expiry: 100,
      keyName: 'registration',
    });
    assert.equal(
      verifySharedAccessSignature(parseSharedAccessSignature(text), { keys: [KEY, OTHER_KEY], now: 99 }),
      1,
    );
  });
});

describe('sasResourceMatches', () => {
  const table: Array<[string, string, boolean]> = [
    ['localhost%3A18883%2Fdevices%2Fmy-sym-device', hubSasResource('localhost:18883', 'my-sym-device'), true],
    ['localhost:18883/devices/my-sym-device', hubSasResource('localhost:18883', 'my-sym-device'), true],
    ['HUB.Example.com%2Fdevices%2Fdev-1', hubSasResource('hub.example.com', 'dev-1'), true],
    ['hub.example.com%2Fdevices%2Fdev-1%2F', hubSasResource('hub.example.com', 'dev-1'), true],
    [
      'hub.example.com%2Fdevices%2Fdev-1%2Fmodules%2Fm',
      hubSasResource('hub.example.com', 'dev-1', 'm'),
      true,
    ],
    ['0ne00ABC123/registrations/my-sym-device', dpsSasResource('0ne00ABC123', 'my-sym-device'), true],
    ['hub.example.com%2Fdevices%2Fdev-2', hubSasResource('hub.example.com', 'dev-1'), false],
    ['hub.example.com%2Fdevices%2Fdev-10', hubSasResource('hub.example.com', 'dev-1'), false],
    ['hub.example.com%2Fdevices', hubSasResource('hub.example.com', 'dev-1'), false],
    ['0ne00ABC123/registrations/other', dpsSasResource('0ne00ABC123', 'my-sym-device'), false],
    ['hub.example.com%2Fdevices%2Fdev-1%ZZ', hubSasResource('hub.example.com', 'dev-1'), false],
    ['', '', false],
  ];
  for (const [sr, expected, result] of table) {
    it(`${JSON.stringify(sr)} vs ${JSON.stringify(expected)} → ${result}`, () =>
      assert.equal(sasResourceMatches(sr, expected), result));
  }
});
