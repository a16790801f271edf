/**
 * Failed sign-ins limited per client address and per user name (HARDENING.md W2, OWASP ASVS
 * 5.0 6.1.1 / 6.3.1), on a real server over real HTTP. The per-address limit counts every
 * failure from one address whatever the user names; the per-name hourly budget holds across
 * addresses; behind a reverse proxy named by --http-trust-proxy each forwarded client counts
 * apart, and X-Forwarded-For from anyone else is ignored.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ROLE_IDS } from '../src/app/roles.js';
import { addressKey } from '../src/app/sign-in-limits.js';
import { startTestServer, type TestServer } from './helpers/test-server.js';
import { expectApiError, PASSWORD, userSession, type HttpAnswer } from './helpers/users.js';
import { call } from './helpers/web-client.js';

const ADMIN_PASSWORD = 'admin-password-for-limits';

function signInFrom(server: TestServer, username: string, password: string, forwardedFor?: string) {
  return call(server, 'POST', '/api/session', forwardedFor ? { 'x-forwarded-for': forwardedFor } : {}, {
    username,
    password,
  });
}

function retryAfter(answer: HttpAnswer): number {
  const value = Number(answer.headers.get('retry-after'));
  assert.ok(Number.isInteger(value) && value >= 1, `retry-after ${answer.headers.get('retry-after')}`);
  return value;
}

describe('sign-in limit per client address (5 failures a minute by default)', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ adminPassword: ADMIN_PASSWORD, signInLimits: { ipFailures: 5 } });
  });
  after(() => server.stop());

  it('5 failures over 5 user names from one address, then that address is refused, even with a right password', async () => {
    await userSession(server, 'victim', [ROLE_IDS.operator]);
    for (let i = 0; i < 5; i++) {
      expectApiError(await signInFrom(server, `sprayed-${i}`, 'Winter2025!'), 401, 'ERR_SIGNIN_FAILED');
    }
    const refused = await signInFrom(server, 'victim@example.com', PASSWORD);
    expectApiError(refused, 429, 'ERR_SIGNIN_IP_THROTTLED', /from this address: try again in \d+ s/);
    assert.ok(retryAfter(refused) <= 60);
    expectApiError(await signInFrom(server, 'admin', ADMIN_PASSWORD), 429, 'ERR_SIGNIN_IP_THROTTLED');
  });
});

describe('sign-in limit per user name per hour (--sign-in-account-limit)', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({
      adminPassword: ADMIN_PASSWORD,
      signInLimits: { ipFailures: 100, accountFailures: 4 },
      httpTrustProxy: ['127.0.0.1'],
    });
  });
  after(() => server.stop());

  it('failures from 4 addresses exhaust one name for the hour; the retry-after is past the minute burst', async () => {
    await userSession(server, 'ground', [ROLE_IDS.operator]);
    const addresses = ['198.51.100.1', '198.51.100.2', '2001:db8:1::1', '2001:db8:2::1'];
    for (const [i, address] of addresses.entries()) {
      expectApiError(
        await signInFrom(server, 'ground@example.com', `wrong-${i}`, address),
        401,
        'ERR_SIGNIN_FAILED',
      );
    }
    const refused = await signInFrom(server, 'ground@example.com', PASSWORD, '203.0.113.9');
    expectApiError(refused, 429, 'ERR_SIGNIN_THROTTLED', /for this user name/);
    const seconds = retryAfter(refused);
    assert.ok(seconds > 60 && seconds <= 3600, `an hour's window, not a minute's: ${seconds} s`);
    // Another name from the same addresses is not affected.
    assert.equal((await signInFrom(server, 'admin', ADMIN_PASSWORD, '198.51.100.1')).status, 200);
  });
});

describe('--http-trust-proxy: the client address behind a reverse proxy', () => {
  const cases = [
    {
      name: 'trusted proxy: each forwarded client counts apart',
      trustProxy: ['127.0.0.1'],
      // 3 failures each from two clients: neither reaches 3+1.
      expectSecondClient: 401,
    },
    {
      name: 'no trusted proxy: X-Forwarded-For is ignored, both "clients" are 127.0.0.1',
      trustProxy: undefined,
      expectSecondClient: 429,
    },
    {
      name: 'another address trusted: the header from 127.0.0.1 is ignored',
      trustProxy: ['10.0.0.0/8'],
      expectSecondClient: 429,
    },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const server = await startTestServer({
        signInLimits: { ipFailures: 3 },
        ...(c.trustProxy ? { httpTrustProxy: c.trustProxy } : {}),
      });
      try {
        for (let i = 0; i < 3; i++) {
          expectApiError(
            await signInFrom(server, `a-${i}`, 'guess-guess', '192.0.2.10'),
            401,
            'ERR_SIGNIN_FAILED',
          );
        }
        const second = await signInFrom(server, 'b', 'guess-guess', '192.0.2.20');
        expectApiError(
          second,
          c.expectSecondClient,
          c.expectSecondClient === 401 ? 'ERR_SIGNIN_FAILED' : 'ERR_SIGNIN_IP_THROTTLED',
        );
        // The first client is refused in every case.
        expectApiError(
          await signInFrom(server, 'a-9', 'guess-guess', '192.0.2.10'),
          429,
          'ERR_SIGNIN_IP_THROTTLED',
        );
      } finally {
        await server.stop();
      }
    });
  }
});

describe('addressKey: which addresses count as one client', () => {
  const table: Array<[string, string]> = [
    ['192.0.2.1', '192.0.2.1'],
    ['::ffff:192.0.2.1', '192.0.2.1'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['2001:db8:1:2::9', '2001:db8:1:2::/64'],
    ['2001:0db8:0001:0002:ffff::1', '2001:db8:1:2::/64'],
    ['::1', '0:0:0:0::/64'],
  ];
  for (const [ip, key] of table) {
    it(`${ip} → ${key}`, () => assert.equal(addressKey(ip), key));
  }
});
