/**
 * The store contract (STYLE.md §9): the same cases against SQLite and PostgreSQL, through the
 * real server (REST API and services), so a query that only works on one database fails here.
 * store-contract-sqlite.test.ts and store-contract-postgres.test.ts call it, each with its own
 * server; telemetry-contract.ts holds the telemetry store's cases.
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { createDeviceCertificate, createRootCa, createVerificationCertificate } from '@gatehouse/pki';

import { ROLE_IDS } from '../../src/api/index.js';
import { ProvisioningStore } from '../../src/provisioning/provisioning-store.js';
import { base64Pem } from './pki-files.js';
import type { TestServer } from './test-server.js';
import { expectApiError, PASSWORD, signIn } from './users.js';

export function defineStoreContract(start: () => Promise<TestServer>): void {
  let server: TestServer;
  before(async () => {
    server = await start();
  });
  after(async () => server?.stop());

  const ok = <T>(res: { status: number; body: T }, status = 200): T => {
    assert.equal(res.status, status, JSON.stringify(res.body));
    return res.body;
  };

  it('devices: created, listed in byte order of their IDs, patched, deleted', async () => {
    const ids = ['ab', 'a-b', 'B', 'a_b', 'a.b'];
    for (const id of ids) ok(await server.api('PUT', `/api/devices/${id}`, { displayName: `dev ${id}` }));
    const list = ok(await server.api<{ value: Array<{ id: string }> }>('GET', '/api/devices'));
    // Byte order, as SQLite compares text (a locale collation would put 'ab' before 'a_b' or ignore '-').
    assert.deepEqual(
      list.value.map((d) => d.id).filter((id) => ids.includes(id)),
      [...ids].sort(),
    );
    const patched = ok(
      await server.api<{ displayName: string; enabled: boolean }>('PATCH', '/api/devices/ab', {
        displayName: 'renamed',
        enabled: false,
      }),
    );
    assert.equal(patched.displayName, 'renamed');
    assert.equal(patched.enabled, false);
    ok(await server.api('DELETE', '/api/devices/ab'), 204);
    expectApiError(await server.api('GET', '/api/devices/ab'), 404, 'ERR_DEVICE_NOT_FOUND');
  });

  it('enrollment groups and their certificates: upload, verification code, proof of possession', async () => {
    const group = { displayName: 'Contract group', type: 'iot', attestation: { type: 'x509' } };
    const created = ok(await server.api<{ etag: string }>('PUT', '/api/enrollmentGroups/contract', group));
    const root = await createRootCa({ commonName: 'contract-root' });
    const path = '/api/enrollmentGroups/contract/certificates/primary';
    const up = ok(
      await server.api<{ verified: boolean }>('PUT', path, { certificate: base64Pem(root.certificate) }),
    );
    assert.equal(up.verified, false);
    const { verificationCode } = ok(
      await server.api<{ verificationCode: string }>('POST', `${path}/generateVerificationCode`),
    );
    const proof = await createVerificationCertificate({ ca: root, nonce: verificationCode });
    ok(await server.api('POST', `${path}/verify`, { certificate: proof.certificate.pem }), 204);
    assert.equal(ok(await server.api<{ verified: boolean }>('GET', path)).verified, true);
    expectApiError(
      await server.api('PUT', '/api/enrollmentGroups/contract', { ...group, etag: 'stale' }),
      412,
      'ERR_ETAG_MISMATCH',
    );
    const list = ok(
      await server.api<{ value: Array<{ id: string; etag: string }> }>('GET', '/api/enrollmentGroups'),
    );
    assert.equal(list.value.find((g) => g.id === 'contract')?.etag, created.etag);
    ok(await server.api('DELETE', '/api/enrollmentGroups/contract'), 204);
    expectApiError(await server.api('GET', path), 404, 'ERR_GROUP_NOT_FOUND');
  });

  it('individual enrollments: X.509 thumbprints stored and found again', async () => {
    const primary = await createDeviceCertificate({ commonName: 'contract-device' });
    const put = ok(
      await server.api<{ x509: { clientCertificates: { primary: { info: { sha1Thumbprint: string } } } } }>(
        'PUT',
        '/api/devices/contract-device/attestation',
        { type: 'x509', x509: { clientCertificates: { primary: { certificate: primary.certificate.pem } } } },
      ),
    );
    const got = ok(await server.api<typeof put>('GET', '/api/devices/contract-device/attestation'));
    assert.equal(
      got.x509.clientCertificates.primary.info.sha1Thumbprint,
      put.x509.clientCertificates.primary.info.sha1Thumbprint,
    );
    const store = new ProvisioningStore(server.db);
    const sha256 = (await store.getIndividualEnrollment('contract-device'))?.primary_sha256;
    assert.ok(sha256);
    assert.equal((await store.findIndividualEnrollmentByThumbprint(sha256))?.device_id, 'contract-device');
  });

  it('device templates: built-ins listed, a template in use cannot be deleted', async () => {
    const list = ok(await server.api<{ value: Array<{ '@id': string }> }>('GET', '/api/deviceTemplates'));
    const template = list.value[0]?.['@id'];
    assert.ok(template, 'a built-in template');
    ok(await server.api('PUT', '/api/devices/templated', { template }));
    expectApiError(
      await server.api('DELETE', `/api/deviceTemplates/${encodeURIComponent(template)}`),
      409,
      'ERR_TEMPLATE_IN_USE',
    );
  });

  it('twins: concurrent patches each get their own $version, none is lost', async () => {
    const patches = Array.from({ length: 20 }, (_, i) => ({ [`p${i}`]: i }));
    await Promise.all(patches.map((p) => server.hub.twins.patchDesired('twin-device', p)));
    await Promise.all(
      patches.map((p) => server.hub.twins.patchReported('twin-device', Buffer.from(JSON.stringify(p)))),
    );
    const twin = await server.hub.twins.read('twin-device');
    assert.equal(twin.desiredVersion, 21);
    assert.equal(twin.reportedVersion, 21);
    assert.equal(Object.keys(twin.desired).length, 20);
    assert.equal(Object.keys(twin.reported).length, 20);
    const removed = await server.hub.twins.patchDesired('twin-device', { p0: null });
    assert.equal(removed.version, 22);
    assert.equal((await server.hub.twins.read('twin-device')).desired['p0'], undefined);
  });

  it('cloud-to-device queue: FIFO, 50 undelivered at most, bodies and properties kept', async () => {
    ok(await server.api('PUT', '/api/devices/c2d-device', {}));
    const first = await server.hub.c2d.send('c2d-device', { body: 'first ✓', properties: { k: 'v' } });
    for (let i = 1; i < 50; i++) await server.hub.c2d.send('c2d-device', { body: `m${i}` });
    await assert.rejects(server.hub.c2d.send('c2d-device', { body: 'one too many' }), {
      code: 'ERR_C2D_QUEUE_FULL',
    });
    const listed = await server.hub.c2d.list('c2d-device');
    assert.equal(listed.length, 50);
    const received = await server.hub.c2d.receive('c2d-device');
    assert.equal(received?.row.id, first.id);
    assert.equal(Buffer.from(received.row.body).toString(), 'first ✓');
    assert.deepEqual(received.properties.application, { k: 'v' });
    assert.equal(typeof received.row.seq, 'number');
    await server.hub.c2d.deleteDevice('c2d-device');
    assert.equal((await server.hub.c2d.list('c2d-device')).length, 0);
  });

  it('users and sign-in sessions: created, signed in, deleted with their sessions', async () => {
    ok(
      await server.api('PUT', '/api/users/ada', {
        type: 'email',
        email: 'ada@example.com',
        roles: [{ role: ROLE_IDS.operator }],
        password: PASSWORD,
      }),
    );
    expectApiError(
      await server.api('PUT', '/api/users/ada2', {
        type: 'email',
        email: 'ADA@example.com',
        username: 'Ada@Example.com',
        roles: [{ role: ROLE_IDS.operator }],
      }),
      409,
      'ERR_USERNAME_TAKEN',
    );
    const session = await signIn(server, 'ada@example.com', PASSWORD);
    assert.equal(session.status, 200, JSON.stringify(session.body));
    const token = (session.body as { token: string }).token;
    ok(await server.api('GET', '/api/session', undefined, token));
    ok(await server.api('DELETE', '/api/users/ada'), 204);
    expectApiError(await server.api('GET', '/api/session', undefined, token), 401, 'ERR_UNAUTHENTICATED');
  });

  it('API tokens: a created token authenticates until it is deleted', async () => {
    const created = ok(
      await server.api<{ token: string }>('PUT', '/api/apiTokens/contract-token', {
        roles: [{ role: ROLE_IDS.administrator }],
      }),
    );
    const secret = /&sig=([^&]+)/.exec(created.token)?.[1];
    assert.ok(secret);
    ok(await server.api('GET', '/api/devices', undefined, secret));
    ok(await server.api('DELETE', '/api/apiTokens/contract-token'), 204);
    assert.equal((await server.api('GET', '/api/devices', undefined, secret)).status, 401);
  });

  it('dashboards: the default one is there, a write with a stale etag is refused', async () => {
    const current = ok(await server.api<{ etag: string }>('GET', '/api/dashboards/default'));
    ok(
      await server.api('PUT', '/api/dashboards/default', {
        displayName: 'Floor',
        tiles: [],
        etag: current.etag,
      }),
    );
    expectApiError(
      await server.api('PUT', '/api/dashboards/default', {
        displayName: 'Stale',
        tiles: [],
        etag: current.etag,
      }),
      412,
      'ERR_ETAG_MISMATCH',
    );
  });

  it('provisioning attempts: numeric ids, newest first, paged with `before`', async () => {
    const store = new ProvisioningStore(server.db);
    for (let i = 0; i < 3; i++) {
      await store.insertAttempt({
        time: new Date().toISOString(),
        registration_id: 'attempt-device',
        id_scope: server.idScope,
        transport: 'mqtt',
        sha1: null,
        sha256: null,
        subject: null,
        issuer: null,
        reason_code: 'ERR_DPS_NOT_ENROLLED',
        message: `attempt ${i}`,
      });
    }
    const page = await store.listAttempts({ registrationId: 'attempt-device', limit: 2 });
    assert.deepEqual(
      page.map((a) => a.message),
      ['attempt 2', 'attempt 1'],
    );
    assert.equal(typeof page[1]!.id, 'number');
    const next = await store.listAttempts({
      registrationId: 'attempt-device',
      limit: 2,
      before: page[1]!.id,
    });
    assert.deepEqual(
      next.map((a) => a.message),
      ['attempt 0'],
    );
  });

  it('stats: counts come back as numbers', async () => {
    const stats = ok(await server.api<Record<string, unknown>>('GET', '/api/stats'));
    for (const [name, value] of Object.entries(stats)) {
      if (typeof value === 'string') assert.doesNotMatch(value, /^\d+$/, `${name} is a numeric string`);
    }
  });
}
