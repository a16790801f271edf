/**
 * The live event streams (server-sent events): `GET /api/events` and
 * `GET /api/devices/{id}/events` over a real socket, fed by a real hub and MQTT devices.
 * Frames, heartbeats, per-device filtering, unsubscription on client close (no leaked
 * listeners), authentication (header, `?access_token=` on these routes only, roles) and the
 * server closing with streams open.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';

import { redactUrl } from '../src/api/build-api.js';
import type { HubEvent } from '../src/hub/hub-api.js';
import { expectError, OPERATOR } from './helpers/api-harness.js';
import { apiHubHarness, openSse, type ApiHubHarness, type SseClient } from './helpers/api-hub-harness.js';
import { eventually } from './helpers/hub-harness.js';
import { ADMIN_SECRET } from './helpers/api-harness.js';

const ADMIN = { authorization: `Bearer ${ADMIN_SECRET}` };

describe('REST live events (server-sent events)', () => {
  let h: ApiHubHarness;
  let base: string;
  let baseline: number;
  const streams: SseClient[] = [];
  const open = async (path: string, headers: Record<string, string> = ADMIN) => {
    const s = await openSse(base, path, headers);
    streams.push(s);
    return s;
  };

  before(async () => {
    h = await apiHubHarness({ sseHeartbeatMs: 50 });
    base = await h.listen();
    baseline = h.hub.hub.events.listenerCount;
  });
  after(async () => {
    for (const s of streams) s.close();
    await h.close();
  });

  it('GET /api/events streams a device telemetry as `event: telemetry` with the HubEvent as data', async () => {
    const s = await open('/api/events?api-version=2022-07-31');
    assert.equal(s.status, 200);
    assert.match(String(s.headers['content-type']), /^text\/event-stream/);
    assert.equal(s.headers['cache-control'], 'no-cache, no-transform');
    assert.match(String(s.headers['x-ms-request-id']), /^[0-9a-f-]{36}$/);

    const client = await h.connect('sse-1');
    await s.next((f) => f.event === 'connected' && (f.data as HubEvent).deviceId === 'sse-1');
    await client.publishAsync('devices/sse-1/messages/events/alert=yes', JSON.stringify({ temp: 22.5 }), {
      qos: 1,
    });
    const frame = await s.next((f) => f.event === 'telemetry');
    const event = frame.data as Extract<HubEvent, { type: 'telemetry' }>;
    assert.equal(event.type, 'telemetry');
    assert.equal(event.deviceId, 'sse-1');
    assert.deepEqual(event.body, { temp: 22.5 });
    assert.deepEqual(event.properties, { alert: 'yes' });
    assert.equal(event.component, null);
    assert.ok(!Number.isNaN(Date.parse(event.enqueuedTime)));

    // REST changes are events too.
    assert.equal((await h.call('PATCH', '/api/devices/sse-1/properties', { target: 1 })).statusCode, 202);
    await s.next((f) => f.event === 'desiredProperties');
    assert.equal((await h.call('PATCH', '/api/devices/sse-1', { displayName: 'x' })).statusCode, 200);
    const changed = await s.next((f) => f.event === 'deviceChanged');
    assert.equal((changed.data as { change: string }).change, 'updated');
    await client.endAsync();
    await s.next((f) => f.event === 'disconnected' && (f.data as HubEvent).deviceId === 'sse-1');
  });

  it('a stream reopened with Last-Event-ID replays the stored telemetry it missed, once, then goes on live', async () => {
    const client = await h.connect('sse-resume');
    const first = await open('/api/devices/sse-resume/events');
    await client.publishAsync('devices/sse-resume/messages/events/', JSON.stringify({ n: 1 }), { qos: 1 });
    const one = await first.next((f) => f.event === 'telemetry');
    assert.match(one.id ?? '', /^\d{4}-\d{2}-\d{2}T[\d:.]+Z\/\d+$/);
    assert.equal(one.id?.split('/')[1], String((one.data as { id?: number }).id));
    first.close();
    // Sent while nobody watched: only the store has them.
    for (const n of [2, 3]) {
      await client.publishAsync('devices/sse-resume/messages/events/', JSON.stringify({ n }), { qos: 1 });
    }
    const resumed = await open('/api/devices/sse-resume/events', { ...ADMIN, 'last-event-id': one.id! });
    await resumed.until(() => resumed.frames.filter((f) => f.event === 'telemetry').length === 2);
    await client.publishAsync('devices/sse-resume/messages/events/', JSON.stringify({ n: 4 }), { qos: 1 });
    await resumed.until(() => resumed.frames.filter((f) => f.event === 'telemetry').length === 3);
    await delay(100);
    const telemetry = resumed.frames.filter((f) => f.event === 'telemetry');
    assert.deepEqual(
      telemetry.map((f) => (f.data as { body: unknown }).body),
      [{ n: 2 }, { n: 3 }, { n: 4 }],
      'the missed messages in order, the one already seen not again, then live',
    );
    const ids = telemetry.map((f) => Number(f.id?.split('/')[1]));
    assert.ok(
      ids.every((id, i) => i === 0 || id > ids[i - 1]!),
      `ids grow: ${ids.join(',')}`,
    );

    // A Last-Event-ID this server did not write is a fresh stream: nothing replayed.
    const fresh = await open('/api/devices/sse-resume/events', { ...ADMIN, 'last-event-id': 'not-ours' });
    await client.publishAsync('devices/sse-resume/messages/events/', JSON.stringify({ n: 5 }), { qos: 1 });
    await fresh.until(() => fresh.frames.some((f) => f.event === 'telemetry'));
    await delay(100);
    assert.deepEqual(
      fresh.frames.filter((f) => f.event === 'telemetry').map((f) => (f.data as { body: unknown }).body),
      [{ n: 5 }],
    );
    await client.endAsync();
  });

  it('sends a comment heartbeat', async () => {
    const s = await open('/api/events');
    await s.until(() => s.comments.filter((c) => c === 'heartbeat').length >= 2, 2000);
    assert.equal(s.comments[0], 'stream open');
  });

  it('a device stream receives only that device’s events', async () => {
    const mine = await h.connect('sse-mine');
    const other = await h.connect('sse-other');
    const s = await open('/api/devices/sse-mine/events');
    assert.equal(s.status, 200);
    await other.publishAsync('devices/sse-other/messages/events/', JSON.stringify({ n: 1 }), { qos: 1 });
    await mine.publishAsync('devices/sse-mine/messages/events/', JSON.stringify({ n: 2 }), { qos: 1 });
    await other.publishAsync('devices/sse-other/messages/events/', JSON.stringify({ n: 3 }), { qos: 1 });
    await mine.publishAsync('devices/sse-mine/messages/events/', JSON.stringify({ n: 4 }), { qos: 1 });
    await s.until(() => s.frames.filter((f) => f.event === 'telemetry').length === 2);
    assert.deepEqual(
      s.frames.filter((f) => f.event === 'telemetry').map((f) => (f.data as { body: unknown }).body),
      [{ n: 2 }, { n: 4 }],
    );
    assert.ok(s.frames.every((f) => (f.data as HubEvent).deviceId === 'sse-mine'));
  });

  it('unsubscribes from the hub when the client goes away (no leaked listeners)', async () => {
    for (const s of streams.splice(0)) s.close();
    await eventually(() => h.hub.hub.events.listenerCount === baseline);
    const a = await open('/api/events');
    const b = await open('/api/devices/sse-mine/events');
    assert.equal(h.hub.hub.events.listenerCount, baseline + 2);
    a.close();
    b.close();
    await eventually(() => h.hub.hub.events.listenerCount === baseline);
    // Many short-lived clients leave nothing behind either.
    for (let i = 0; i < 10; i++) (await open('/api/events')).close();
    await eventually(() => h.hub.hub.events.listenerCount === baseline);
  });

  it('refuses an unauthenticated stream with 401 (JSON envelope, no stream)', async () => {
    expectError(await h.call('GET', '/api/events', undefined, null), 401, 'ERR_UNAUTHENTICATED');
    expectError(
      await h.call('GET', '/api/devices/sse-mine/events', undefined, null),
      401,
      'ERR_UNAUTHENTICATED',
    );
    const s = await openSse(base, '/api/events', {});
    assert.equal(s.status, 401);
    assert.equal((JSON.parse(s.body) as { error: { code: string } }).error.code, 'ERR_UNAUTHENTICATED');
    const bad = await openSse(base, '/api/events?access_token=wrong-secret', {});
    assert.equal(bad.status, 401);
    assert.equal(h.hub.hub.events.listenerCount, baseline);
  });

  it('takes ?access_token= (Bearer secret or SharedAccessSignature text) on the event routes', async () => {
    const { secret, sas } = await h.api.token('viewer', [OPERATOR]);
    const bySecret = await open(`/api/events?access_token=${encodeURIComponent(secret)}`, {});
    assert.equal(bySecret.status, 200, 'an Operator may read the events');
    const bySas = await open(`/api/devices/sse-mine/events?access_token=${encodeURIComponent(sas)}`, {});
    assert.equal(bySas.status, 200);
    const admin = await open(`/api/events?access_token=${ADMIN_SECRET}`, {});
    assert.equal(admin.status, 200);
    const client = await h.connect('sse-token');
    await client.publishAsync('devices/sse-token/messages/events/', JSON.stringify({ ok: true }), { qos: 1 });
    await bySecret.next((f) => f.event === 'telemetry' && (f.data as HubEvent).deviceId === 'sse-token');
    // The secret never reaches the log.
    assert.ok(!JSON.stringify(h.api.logLines).includes(secret), 'access_token is redacted from the logs');
    assert.ok(
      h.api.logLines.some((l) => JSON.stringify(l).includes('access_token=[redacted]')),
      'the request is still logged',
    );
  });

  it('redacts access_token from the log in every spelling the query parser decodes to it', async () => {
    const { secret } = await h.api.token('spelled', [OPERATOR]);
    // [query before the secret, authenticates?]: whatever authenticates must be redacted.
    const spellings: Array<[string, boolean]> = [
      ['access_token=', true],
      ['access%5Ftoken=', true],
      ['access%5ftoken=', true],
      ['%61ccess_token=', true],
      ['%61%63%63%65%73%73%5F%74%6F%6B%65%6E=', true],
      ['api-version=1&access%5Ftoken=', true],
      ['ACCESS_TOKEN=', false],
      ['Access%5FToken=', false],
      ['x=1?access_token=', false],
      ['x=1;access_token=', false],
    ];
    for (const [query, authenticates] of spellings) {
      const before = h.api.logLines.length;
      const s = await openSse(base, `/api/events?${query}${secret}`, {});
      s.close();
      assert.equal(s.status, authenticates ? 200 : 401, query);
      await eventually(() => h.api.logLines.length > before);
      const logged = JSON.stringify(h.api.logLines.slice(before));
      assert.ok(!logged.includes(secret), `the secret reached the log with ?${query}: ${logged}`);
      assert.ok(logged.includes('=[redacted]'), `?${query} is logged with the value redacted`);
    }
  });

  it('redactUrl: a table of URLs as logged', () => {
    const cases: Array<[string, string]> = [
      ['/api/events', '/api/events'],
      ['/api/events?access_token=s3cret', '/api/events?access_token=[redacted]'],
      ['/api/events?access%5Ftoken=s3cret', '/api/events?access%5Ftoken=[redacted]'],
      ['/api/events?a=1&%61ccess_token=s3cret&b=2', '/api/events?a=1&%61ccess_token=[redacted]&b=2'],
      ['/api/events?access_token=s3=cr%3Det', '/api/events?access_token=[redacted]'],
      [
        '/api/events?access_token=a&access_token=b',
        '/api/events?access_token=[redacted]&access_token=[redacted]',
      ],
      ['/api/events?access%ZZtoken=s3cret', '/api/events?access%ZZtoken=s3cret'],
      ['/api/events?token=s3cret', '/api/events?token=s3cret'],
      ['/api/access_token=x', '/api/access_token=x'],
    ];
    for (const [url, logged] of cases) assert.equal(redactUrl(url), logged, url);
  });

  it('a stream ends within a heartbeat once its credentials no longer authenticate', async () => {
    const password = 'stream-user-password';
    const signIn = async (id: string): Promise<string> => {
      const put = await h.call('PUT', `/api/users/${id}`, {
        type: 'email',
        email: `${id}@example.com`,
        roles: [{ role: OPERATOR }],
        password,
      });
      assert.equal(put.statusCode, 200, put.body);
      const res = await h.call('POST', '/api/session', { username: `${id}@example.com`, password }, null);
      assert.equal(res.statusCode, 200, res.body);
      return res.json<{ token: string }>().token;
    };
    const hash = (token: string) => createHash('sha256').update(token).digest('hex');
    // [what ends the credentials, the credentials (Bearer secret), how the stream sends them]
    const cases: Array<[string, () => Promise<string>, (secret: string) => Promise<void>]> = [
      [
        'sign-out',
        () => signIn('stream-signout'),
        async (token) => {
          const res = await h.call('DELETE', '/api/session', undefined, `Bearer ${token}`);
          assert.equal(res.statusCode, 204);
        },
      ],
      [
        'session expiry',
        () => signIn('stream-expiry'),
        async (token) => {
          await h.api.db
            .updateTable('user_sessions')
            .set({ expires_at: new Date(Date.now() - 1000).toISOString() })
            .where('token_hash', '=', hash(token))
            .execute();
        },
      ],
      [
        'user deleted',
        () => signIn('stream-deleted'),
        async () => assert.equal((await h.call('DELETE', '/api/users/stream-deleted')).statusCode, 204),
      ],
      [
        'password set by an administrator',
        () => signIn('stream-reset'),
        async () => {
          const res = await h.call('PATCH', '/api/users/stream-reset', { password: 'another-password' });
          assert.equal(res.statusCode, 200);
        },
      ],
      [
        'API token revoked',
        async () => (await h.api.token('stream-revoked', [OPERATOR])).secret,
        async () => assert.equal((await h.call('DELETE', '/api/apiTokens/stream-revoked')).statusCode, 204),
      ],
    ];
    for (const [what, credentials, end] of cases) {
      for (const how of ['query', 'header'] as const) {
        const secret = await credentials();
        const s =
          how === 'query'
            ? await open(`/api/events?access_token=${encodeURIComponent(secret)}`, {})
            : await open('/api/events', { authorization: `Bearer ${secret}` });
        assert.equal(s.status, 200, `${what} (${how})`);
        // Alive while the credentials are: heartbeats keep coming.
        await s.until(() => s.comments.filter((c) => c === 'heartbeat').length >= 2, 2000);
        await end(secret);
        const ended = await Promise.race([
          s.ended.then(() => true),
          delay(1000).then(() => false), // 20 heartbeats of 50 ms
        ]);
        assert.ok(ended, `the stream outlived the credentials after ${what} (${how})`);
        // The client's reconnect is refused.
        const again =
          how === 'query'
            ? await openSse(base, `/api/events?access_token=${encodeURIComponent(secret)}`, {})
            : await openSse(base, '/api/events', { authorization: `Bearer ${secret}` });
        assert.equal(again.status, 401, `${what} (${how})`);
      }
    }
    for (const s of streams.splice(0)) s.close();
    await eventually(() => h.hub.hub.events.listenerCount === baseline);
  });

  it('does not take ?access_token= on any other route', async () => {
    const q = `?access_token=${ADMIN_SECRET}`;
    for (const [method, url] of [
      ['GET', '/api/devices'],
      ['GET', '/api/devices/sse-mine'],
      ['GET', '/api/devices/sse-mine/telemetry'],
      ['GET', '/api/devices/sse-mine/properties'],
      ['POST', '/api/devices/sse-mine/messages'],
      ['GET', '/api/apiTokens'],
      ['GET', '/api/nothing-here'],
    ] as const) {
      expectError(await h.call(method, `${url}${q}`, undefined, null), 401, 'ERR_UNAUTHENTICATED');
    }
  });

  it('a device stream of an unknown or invalid device answers 404 / 400 before streaming', async () => {
    const listeners = h.hub.hub.events.listenerCount;
    expectError(await h.call('GET', '/api/devices/nobody/events'), 404, 'ERR_DEVICE_NOT_FOUND');
    expectError(await h.call('GET', '/api/devices/-bad/events'), 400, 'ERR_INVALID_ID');
    assert.equal(h.hub.hub.events.listenerCount, listeners);
  });
});

describe('REST live events: server shutdown', () => {
  it('closing the API ends open streams instead of waiting for the clients', async () => {
    const h = await apiHubHarness();
    try {
      const base = await h.listen();
      const baseline = h.hub.hub.events.listenerCount;
      const s = await openSse(base, '/api/events', ADMIN);
      assert.equal(s.status, 200);
      assert.equal(h.hub.hub.events.listenerCount, baseline + 1);
      const started = Date.now();
      await h.api.app.close();
      await s.ended;
      assert.ok(Date.now() - started < 2000, `close took ${Date.now() - started} ms`);
      assert.equal(h.hub.hub.events.listenerCount, baseline);
    } finally {
      await h.close();
    }
  });
});
