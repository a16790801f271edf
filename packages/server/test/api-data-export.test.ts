/**
 * `/api/dataExport/…` on a real server: IoT Central's shapes, secrets masked, and every bad
 * input of issue 12 that concerns exports and destinations answered with a 4xx naming the
 * field, with nothing changed.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { startTestServer, type TestServer } from './helpers/test-server.js';
import { startWebhookReceiver, type WebhookReceiver } from './helpers/webhook-receiver.js';

type ErrorBody = { error: { code: string; message: string } };
const V = '?api-version=2022-10-31-preview';

describe('data export REST API', () => {
  let server: TestServer;
  let hook: WebhookReceiver;

  before(async () => {
    server = await startTestServer();
    hook = await startWebhookReceiver();
  });
  after(async () => {
    await hook?.close();
    await server?.stop();
  });

  const snapshot = async () => ({
    destinations: (await server.api('GET', `/api/dataExport/destinations${V}`)).body,
    exports: (await server.api('GET', `/api/dataExport/exports${V}`)).body,
  });

  it('creates a webhook destination as IoT Central answers it, secrets masked', async () => {
    const r = await server.api<Record<string, unknown>>('PUT', `/api/dataExport/destinations/dest1${V}`, {
      displayName: 'Webhook with secrets',
      type: 'webhook@v1',
      url: hook.url,
      headerCustomizations: {
        'x-custom-region': { value: 'westcentralus', secret: false },
        'x-api-key': { value: 'header-secret-value', secret: true },
      },
      queryCustomizations: { code: { value: 'query-secret-value', secret: true } },
      authorization: { type: 'header', value: 'Bearer authorization-secret-value' },
      signature: { secret: 'signing-secret-0123456789' },
    });
    assert.equal(r.status, 200);
    assert.equal(r.body['id'], 'dest1');
    assert.equal(r.body['type'], 'webhook@v1');
    assert.equal(r.body['status'], 'waiting');
    assert.deepEqual(r.body['errors'], []);
    assert.deepEqual(r.body['headerCustomizations'], {
      'x-custom-region': { value: 'westcentralus', secret: false },
      'x-api-key': { value: '*****', secret: true },
    });
    assert.deepEqual(r.body['queryCustomizations'], { code: { value: '*****', secret: true } });
    assert.deepEqual(r.body['authorization'], { type: 'header', value: '*****' });
    const listed = await server.api('GET', `/api/dataExport/destinations${V}`);
    const text =
      JSON.stringify(listed.body) +
      JSON.stringify((await server.api('GET', `/api/dataExport/destinations/dest1${V}`)).body);
    for (const secret of [
      'header-secret-value',
      'query-secret-value',
      'authorization-secret-value',
      'signing-secret-0123456789',
    ]) {
      assert.ok(!text.includes(secret), `${secret} must never be answered`);
    }
  });

  it('keeps masked secrets when the answer is sent back (PATCH of the display name)', async () => {
    const got = await server.api<Record<string, unknown>>('GET', `/api/dataExport/destinations/dest1${V}`);
    const r = await server.api<Record<string, unknown>>('PATCH', `/api/dataExport/destinations/dest1${V}`, {
      ...got.body,
      displayName: 'Renamed',
    });
    assert.equal(r.status, 200);
    assert.equal(r.body['displayName'], 'Renamed');
    // The stored secrets still work: a test message carries them.
    const t = await server.api<{ delivered: boolean }>('POST', `/api/dataExport/destinations/dest1/test${V}`);
    assert.equal(t.status, 200);
    const last = hook.received.at(-1)!;
    assert.equal(last.headers['x-api-key'], 'header-secret-value');
    assert.equal(last.headers['authorization'], 'Bearer authorization-secret-value');
    assert.match(last.url, /code=query-secret-value/);
    assert.equal((last.body as { messageSource: string }).messageSource, 'telemetry');
  });

  it("creates an export in IoT Central's shape, with status per destination", async () => {
    const r = await server.api<Record<string, unknown>>('PUT', `/api/dataExport/exports/export1${V}`, {
      displayName: 'Test Export 1',
      enabled: false,
      source: 'telemetry',
      filter: 'SELECT * FROM devices WHERE $displayName != "abc" AND $id = "a"',
      enrichments: { abc: { path: '$templateDisplayName' }, fixed: { value: 'x' } },
      destinations: [{ id: 'dest1' }],
    });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body['status'], 'notStarted');
    assert.equal(r.body['enabled'], false);
    assert.deepEqual(r.body['enrichments'], { abc: { path: '$templateDisplayName' }, fixed: { value: 'x' } });
    const dests = r.body['destinations'] as Array<Record<string, unknown>>;
    assert.equal(dests[0]!['id'], 'dest1');
    for (const k of ['backlog', 'delivered', 'dropped']) assert.equal(dests[0]![k], 0);
    const on = await server.api<Record<string, unknown>>('PATCH', `/api/dataExport/exports/export1${V}`, {
      enabled: true,
    });
    assert.equal(on.body['status'], 'healthy');
    const byDest = await server.api<{ value: Array<{ id: string }> }>(
      'GET',
      `/api/dataExport/destinations/dest1/exports${V}`,
    );
    assert.deepEqual(
      byDest.body.value.map((e) => e.id),
      ['export1'],
    );
    const byExport = await server.api<{ value: Array<{ id: string }> }>(
      'GET',
      `/api/dataExport/exports/export1/destinations${V}`,
    );
    assert.deepEqual(
      byExport.body.value.map((d) => d.id),
      ['dest1'],
    );
  });

  const refusals: Array<{
    name: string;
    path: string;
    body: unknown;
    status: number;
    code: string;
    field: RegExp;
  }> = [
    {
      name: 'an unknown destination in an export',
      path: '/api/dataExport/exports/bad1',
      body: { displayName: 'x', enabled: true, source: 'telemetry', destinations: [{ id: 'nope' }] },
      status: 400,
      code: 'ERR_DESTINATION_NOT_FOUND',
      field: /destinations\[0\]\.id.*'nope'/,
    },
    {
      name: 'an unsupported (Azure) type',
      path: '/api/dataExport/destinations/bad2',
      body: {
        displayName: 'x',
        type: 'blobstorage@v1',
        authorization: { type: 'connectionString', connectionString: 'x', containerName: 'c' },
      },
      status: 400,
      code: 'ERR_DESTINATION_TYPE_UNSUPPORTED',
      field: /type: 'blobstorage@v1' is not supported.*supported: .*webhook@v1/,
    },
    {
      name: 'an unknown type',
      path: '/api/dataExport/destinations/bad3',
      body: { displayName: 'x', type: 'carrier-pigeon@v1', url: 'https://example.com' },
      status: 400,
      code: 'ERR_DESTINATION_TYPE_UNSUPPORTED',
      field: /type: 'carrier-pigeon@v1'/,
    },
    {
      name: 'an invalid URL',
      path: '/api/dataExport/destinations/bad4',
      body: { displayName: 'x', type: 'webhook@v1', url: 'http//not a url' },
      status: 400,
      code: 'ERR_DESTINATION_INVALID',
      field: /url: 'http\/\/not a url' is not a valid URL/,
    },
    {
      name: 'a URL that is not http(s)',
      path: '/api/dataExport/destinations/bad5',
      body: { displayName: 'x', type: 'webhook@v1', url: 'ftp://example.com/hook' },
      status: 400,
      code: 'ERR_DESTINATION_INVALID',
      field: /url: must be an http:\/\/ or https:\/\/ URL, not ftp:\/\//,
    },
    {
      name: 'a filter that does not parse',
      path: '/api/dataExport/exports/bad6',
      body: {
        displayName: 'x',
        enabled: true,
        source: 'telemetry',
        destinations: [{ id: 'dest1' }],
        filter: 'SELECT * FROM devices WHERE temperature >> 3',
      },
      status: 400,
      code: 'ERR_EXPORT_FILTER_INVALID',
      field: /filter: .*position 42 \('>'\)/,
    },
    {
      name: 'an unknown source',
      path: '/api/dataExport/exports/bad7',
      body: { displayName: 'x', enabled: true, source: 'everything', destinations: [{ id: 'dest1' }] },
      status: 400,
      code: 'ERR_EXPORT_INVALID',
      field: /source: must be one of telemetry/,
    },
    {
      name: 'a header customization without a value',
      path: '/api/dataExport/destinations/bad8',
      body: {
        displayName: 'x',
        type: 'webhook@v1',
        url: 'https://example.com',
        headerCustomizations: { 'x-a': { secret: true } },
      },
      status: 400,
      code: 'ERR_DESTINATION_INVALID',
      field: /headerCustomizations\.x-a\.value: is required/,
    },
    {
      name: 'an oauth authorization without its client secret',
      path: '/api/dataExport/destinations/bad9',
      body: {
        displayName: 'x',
        type: 'webhook@v1',
        url: 'https://example.com',
        authorization: { type: 'oauth', tokenUrl: 'https://example.com/token', clientId: 'a' },
      },
      status: 400,
      code: 'ERR_DESTINATION_INVALID',
      field: /authorization\.clientSecret: is required/,
    },
    {
      name: 'an enrichment naming no system property',
      path: '/api/dataExport/exports/bad10',
      body: {
        displayName: 'x',
        enabled: true,
        source: 'telemetry',
        destinations: [{ id: 'dest1' }],
        enrichments: { k: { path: '$nothing' } },
      },
      status: 400,
      code: 'ERR_EXPORT_INVALID',
      field: /enrichments\.k\.path: '\$nothing' is not a system property/,
    },
    {
      // The server runs transforms in Debian's jq: a program jq cannot compile is refused.
      name: 'a jq program that does not compile',
      path: '/api/dataExport/exports/bad11',
      body: {
        displayName: 'x',
        enabled: true,
        source: 'telemetry',
        destinations: [{ id: 'dest1', transform: '{device: .device.id' }],
      },
      status: 400,
      code: 'ERR_TRANSFORM_INVALID',
      field: /destinations\[0\]\.transform/,
    },
  ];
  for (const r of refusals) {
    it(`refuses ${r.name} with ${r.status} ${r.code} naming the field, changing nothing`, async () => {
      const before = await snapshot();
      const res = await server.api<ErrorBody>('PUT', `${r.path}${V}`, r.body);
      assert.equal(res.status, r.status, JSON.stringify(res.body));
      assert.equal(res.body.error.code, r.code);
      assert.equal(res.headers.get('x-ms-error-code'), r.code);
      assert.match(res.body.error.message, r.field);
      assert.deepEqual(await snapshot(), before);
    });
  }

  it('refuses to change an existing export into a bad one, leaving it as it was', async () => {
    const before = await server.api('GET', `/api/dataExport/exports/export1${V}`);
    const res = await server.api<ErrorBody>('PATCH', `/api/dataExport/exports/export1${V}`, {
      filter: 'SELECT * FROM',
    });
    assert.equal(res.status, 400);
    assert.equal(res.body.error.code, 'ERR_EXPORT_FILTER_INVALID');
    assert.deepEqual((await server.api('GET', `/api/dataExport/exports/export1${V}`)).body, before.body);
  });

  it('refuses to delete a destination an export uses (409), and deletes it once unused (204)', async () => {
    const inUse = await server.api<ErrorBody>('DELETE', `/api/dataExport/destinations/dest1${V}`);
    assert.equal(inUse.status, 409);
    assert.equal(inUse.body.error.code, 'ERR_DESTINATION_IN_USE');
    assert.equal((await server.api('DELETE', `/api/dataExport/exports/export1${V}`)).status, 204);
    assert.equal((await server.api('GET', `/api/dataExport/exports/export1${V}`)).status, 404);
    assert.equal((await server.api('DELETE', `/api/dataExport/destinations/dest1${V}`)).status, 204);
    const gone = await server.api<ErrorBody>('GET', `/api/dataExport/destinations/dest1${V}`);
    assert.equal(gone.status, 404);
    assert.equal(gone.body.error.code, 'ERR_DESTINATION_NOT_FOUND');
  });

  it('serves the preview api-versions only', async () => {
    assert.equal(
      (await server.api('GET', '/api/dataExport/exports?api-version=2022-06-30-preview')).status,
      200,
    );
    assert.equal((await server.api('GET', '/api/dataExport/exports')).status, 200);
    const ga = await server.api<ErrorBody>('GET', '/api/dataExport/exports?api-version=2022-07-31');
    assert.equal(ga.status, 400);
    assert.equal(ga.body.error.code, 'ERR_EXPORT_API_VERSION');
  });

  it('says why a test message was not delivered (502, in words)', async () => {
    const gone = await startWebhookReceiver();
    await gone.down();
    await server.api('PUT', `/api/dataExport/destinations/down${V}`, {
      displayName: 'down',
      type: 'webhook@v1',
      url: gone.url,
    });
    const r = await server.api<ErrorBody>('POST', `/api/dataExport/destinations/down/test${V}`);
    assert.equal(r.status, 502);
    assert.equal(r.body.error.code, 'ERR_DESTINATION_TEST_FAILED');
    assert.match(r.body.error.message, new RegExp(`connection refused by 127\\.0\\.0\\.1:${gone.port}`));
  });
});
