/**
 * webhook@v1 against a real HTTP server on loopback: the HMAC-SHA256 signature header matches
 * the body, batching sends JSON arrays of at most maxMessages, OAuth client credentials fetch a
 * token once and again after a 401, and failures come back in words (HTTP status with the
 * body's first line, connection refused). Also the PostgreSQL hole guard of the feeds (a row
 * committed late is waited for, a hole that never fills is passed after the wait), and the
 * routing of a destination's transform (a test double standing for the jq module, which is
 * tested on its own).
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';

import { DeliveryError, type Transform } from '../src/export/contracts.js';
import { createWebhookDestination, validateWebhookDestination } from '../src/export/destinations/webhook.js';
import { HOLE_WAIT_MS, HoleGuard, type FeedItem } from '../src/export/feeds.js';
import { applyTransform, type Prepared } from '../src/export/pipeline.js';

interface Hit {
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
}

const ctx = (n: number) => ({
  items: Array.from({ length: n }, () => ({ deviceId: 'd', messageSource: 'telemetry' })),
});

function config(body: Record<string, unknown>): Record<string, unknown> {
  const checked = validateWebhookDestination({ displayName: 'x', type: 'webhook@v1', ...body });
  assert.ok('config' in checked, JSON.stringify(checked));
  return checked.config;
}

describe('webhook@v1 delivery', () => {
  let server: Server;
  let base: string;
  const hits: Hit[] = [];
  let tokens = 0;
  let rejectNextWith401 = false;
  let failWith: number | undefined;

  before(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString();
        if (req.url === '/token') {
          tokens++;
          const form = new URLSearchParams(body);
          const ok =
            form.get('client_id') === 'cid' &&
            form.get('client_secret') === 'csecret' &&
            form.get('grant_type') === 'client_credentials';
          res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' });
          res.end(
            ok
              ? JSON.stringify({ access_token: `tok${tokens}`, expires_in: 3600 })
              : '{"error":"invalid_client"}',
          );
          return;
        }
        hits.push({ path: req.url ?? '', headers: req.headers, body });
        if (rejectNextWith401) {
          rejectNextWith401 = false;
          res.writeHead(401).end('token expired');
          return;
        }
        if (failWith !== undefined) {
          res
            .writeHead(failWith, { 'content-type': 'text/plain' })
            .end('Service Unavailable: maintenance\nmore');
          return;
        }
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  it('signs every body with HMAC-SHA256 of the destination secret', async () => {
    hits.length = 0;
    const secret = 'per-destination-secret-123';
    const d = createWebhookDestination(config({ url: `${base}/hook`, signature: { secret } }));
    await d.send([{ a: 1 }, { b: 2 }], ctx(2));
    await d.close();
    assert.equal(hits.length, 2);
    for (const h of hits) {
      const expected = `sha256=${createHmac('sha256', secret).update(h.body).digest('hex')}`;
      assert.equal(h.headers['x-gatehouse-signature'], expected);
    }
  });

  it('batches as JSON arrays of at most maxMessages', async () => {
    hits.length = 0;
    const d = createWebhookDestination(
      config({ url: `${base}/hook`, batching: { enabled: true, maxMessages: 2 } }),
    );
    await d.send([{ n: 1 }, { n: 2 }, { n: 3 }], ctx(3));
    await d.close();
    assert.deepEqual(
      hits.map((h) => JSON.parse(h.body) as unknown),
      [[{ n: 1 }, { n: 2 }], [{ n: 3 }]],
    );
  });

  it('OAuth client credentials: one token for many posts, a new one after a 401', async () => {
    hits.length = 0;
    tokens = 0;
    const d = createWebhookDestination(
      config({
        url: `${base}/hook`,
        authorization: { type: 'oauth', tokenUrl: `${base}/token`, clientId: 'cid', clientSecret: 'csecret' },
      }),
    );
    await d.send([{ n: 1 }], ctx(1));
    await d.send([{ n: 2 }], ctx(1));
    assert.equal(tokens, 1);
    assert.deepEqual(
      hits.map((h) => h.headers['authorization']),
      ['Bearer tok1', 'Bearer tok1'],
    );
    rejectNextWith401 = true;
    await assert.rejects(d.send([{ n: 3 }], ctx(1)), (err: unknown) => {
      assert.ok(err instanceof DeliveryError);
      assert.equal(err.message, 'HTTP 401: token expired');
      assert.equal(err.permanent, true);
      return true;
    });
    await d.send([{ n: 3 }], ctx(1));
    assert.equal(tokens, 2);
    assert.equal(hits.at(-1)!.headers['authorization'], 'Bearer tok2');
    await d.close();
  });

  it('a refused OAuth client and a 5xx are errors in words; a 5xx is not permanent', async () => {
    const bad = createWebhookDestination(
      config({
        url: `${base}/hook`,
        authorization: { type: 'oauth', tokenUrl: `${base}/token`, clientId: 'cid', clientSecret: 'wrong' },
      }),
    );
    await assert.rejects(
      bad.send([{}], ctx(1)),
      /OAuth token request: HTTP 401: \{"error":"invalid_client"\}/,
    );
    await bad.close();
    failWith = 503;
    const d = createWebhookDestination(config({ url: `${base}/hook` }));
    await assert.rejects(d.send([{}], ctx(1)), (err: unknown) => {
      assert.ok(err instanceof DeliveryError);
      assert.equal(err.message, 'HTTP 503: Service Unavailable: maintenance');
      assert.equal(err.permanent, false);
      return true;
    });
    failWith = undefined;
    await d.close();
  });
});

describe('the hole guard (PostgreSQL ids are not in commit order)', () => {
  const rows = (...ids: number[]) => ids.map((id) => ({ id }));

  it('passes consecutive ids, stops at a hole, and passes it once it stayed open long enough', () => {
    const g = new HoleGuard(true);
    assert.deepEqual(g.cut(10, rows(11, 12, 13), 0), rows(11, 12, 13));
    // 15 is visible, 14 is not (in flight): stop before the hole.
    assert.deepEqual(g.cut(13, rows(15, 16), 1000), []);
    assert.deepEqual(g.cut(13, rows(15, 16), 1000 + HOLE_WAIT_MS - 1), []);
    // 14 committed meanwhile: everything in order.
    assert.deepEqual(g.cut(13, rows(14, 15, 16), 1500), rows(14, 15, 16));
    // A hole that never fills (a rolled-back insert) is passed after the wait.
    assert.deepEqual(g.cut(16, rows(18), 2000), []);
    assert.deepEqual(g.cut(16, rows(18), 2000 + HOLE_WAIT_MS), rows(18));
    // A hole inside a batch cuts the batch there.
    assert.deepEqual(g.cut(18, rows(19, 21), 9000), rows(19));
  });

  it('does nothing on SQLite (one writer, commits in id order)', () => {
    assert.deepEqual(new HoleGuard(false).cut(0, rows(5, 9), 0), rows(5, 9));
  });
});

describe('transform routing', () => {
  const item: FeedItem = {
    id: 1,
    enqueuedAt: '2026-01-01T00:00:00.000Z',
    deviceId: 'd1',
    source: 'telemetry',
  };
  const prepared: Prepared[] = [
    {
      message: { messageSource: 'telemetry', deviceId: 'd1', telemetry: { a: 1, b: 2 } },
      device: undefined,
      item,
    },
    { message: { messageSource: 'telemetry', deviceId: 'd1', telemetry: { a: 3 } }, device: undefined, item },
  ];

  it('without a transform each message goes as formatted', async () => {
    const out = await applyTransform(prepared, undefined);
    assert.deepEqual(
      out.messages,
      prepared.map((p) => p.message),
    );
    assert.equal(out.items.length, 2);
  });

  it('a transform sees telemetry as an array of { name, value } and may output none or several', async () => {
    const seen: unknown[] = [];
    // Stands for a compiled jq program such as `.telemetry[] | select(.value > 1)`.
    const double: Transform = {
      apply: async (input) => {
        seen.push(input);
        const t = (input as { telemetry: Array<{ name: string; value: number }> }).telemetry;
        return t.filter((x) => x.value > 1);
      },
      close: () => undefined,
    };
    const out = await applyTransform(prepared, double);
    assert.deepEqual((seen[0] as { telemetry: unknown }).telemetry, [
      { name: 'a', value: 1 },
      { name: 'b', value: 2 },
    ]);
    assert.deepEqual(out.messages, [
      { name: 'b', value: 2 },
      { name: 'a', value: 3 },
    ]);
    assert.deepEqual(out.items, [
      { deviceId: 'd1', messageSource: 'telemetry' },
      { deviceId: 'd1', messageSource: 'telemetry' },
    ]);
  });
});
