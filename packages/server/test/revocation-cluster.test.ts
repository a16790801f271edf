/**
 * Revocation in a cluster (CLUSTER.md §6; HARDENING.md §8 R1–R2): two server nodes on one
 * PostgreSQL database and one Redis bus. A device holds its session on node B; the revoking
 * REST call goes to node A — a CRL, disabling the device's enrollment group, disabling the
 * device — and B closes the session within 1 s; the reconnect to B is refused.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { createDeviceCertificate, createRootCa, type Issued } from '@gatehouse/pki';

import { opensslCa, type OpensslCa } from './helpers/openssl-ca.js';
import { base64Pem } from './helpers/pki-files.js';
import { createTestDatabase, dropTestDatabase, postgresSkipReason } from './helpers/postgres.js';
import { requireRedisUrl, skipWithoutRedis } from './helpers/redis.js';
import { closedWithin, connackOf, connectX509, refusalRecorded } from './helpers/revocation-clients.js';
import { sasFleet, type SasFleet } from './helpers/sas-device.js';
import { startTestServer, TEST_ADMIN_TOKEN, type TestServer } from './helpers/test-server.js';

const skip =
  process.env['GATEHOUSE_REQUIRE_POSTGRES'] === '1' ? false : (postgresSkipReason() ?? skipWithoutRedis());

describe('revocation across two nodes (PostgreSQL + Redis)', { skip, concurrency: false }, () => {
  let db: { name: string; url: string };
  let a: TestServer;
  let b: TestServer;
  let root: Issued;
  let ca: OpensslCa;
  let fleetOnB: SasFleet;
  const run = Math.random().toString(36).slice(2, 8);

  before(async () => {
    db = await createTestDatabase();
    const redisUrl = requireRedisUrl();
    a = await startTestServer({ databaseUrl: db.url, redisUrl, nodeId: `rev-a-${run}` });
    b = await startTestServer({ databaseUrl: db.url, redisUrl, nodeId: `rev-b-${run}` });
    root = await createRootCa({ commonName: `rev-cluster-root-${run}` });
    ca = await opensslCa(root);
    await a.api('PUT', '/api/enrollmentGroups/cluster-x509', {
      displayName: 'cluster',
      type: 'iot',
      attestation: { type: 'x509' },
    });
    const up = await a.api('PUT', '/api/enrollmentGroups/cluster-x509/certificates/primary', {
      certificate: base64Pem(root.certificate),
      verified: true,
    });
    assert.equal(up.status, 200, JSON.stringify(up.body));
    const group = await a.api<{ attestation: { symmetricKey: { primaryKey: string } } }>(
      'GET',
      '/api/enrollmentGroups/SAS-IoT-Devices',
    );
    fleetOnB = sasFleet(b, group.body.attestation.symmetricKey.primaryKey);
  });

  after(async () => {
    await b?.stop();
    await a?.stop();
    if (db) await dropTestDatabase(db.name);
  });

  it('a CRL imported on node A closes the session held on node B within 1 s', async () => {
    const id = `rev-cluster-crl-${run}`;
    const leaf = await createDeviceCertificate({ commonName: id, issuer: root });
    assert.ok((await a.api('PUT', `/api/devices/${id}`, { displayName: id })).status < 300);
    const client = await connectX509(b, id, leaf);
    assert.equal(b.hub.isConnected(id), true);
    assert.equal(a.hub.isConnected(id), false);
    await ca.revoke(leaf.certificate);
    const crl = await ca.crl();
    const ms = await closedWithin(client, () =>
      fetch(`${a.baseUrl}/api/enrollmentGroups/cluster-x509/crl`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, 'content-type': 'application/x-pem-file' },
        body: crl,
      }).then(async (r) => ({ status: r.status, body: await r.text() })),
    );
    console.log(`# cluster: CRL on A → session on B closed in ${ms.toFixed(0)} ms`);
    assert.equal(await connackOf(connectX509(b, id, leaf)), 5);
    await refusalRecorded(a, id, 'ERR_HUB_CERTIFICATE_REVOKED');
  });

  it('disabling the SAS group on node A closes its device on node B within 1 s', async () => {
    const id = `rev-cluster-sas-${run}`;
    const client = await fleetOnB.connect(id);
    const ms = await closedWithin(client, () =>
      a.api('PATCH', '/api/enrollmentGroups/SAS-IoT-Devices', { enabled: false }),
    );
    console.log(`# cluster: group disabled on A → session on B closed in ${ms.toFixed(0)} ms`);
    assert.equal(await connackOf(fleetOnB.connect(id)), 5);
    await refusalRecorded(a, id, 'ERR_HUB_GROUP_DISABLED');
    assert.equal(
      (await a.api('PATCH', '/api/enrollmentGroups/SAS-IoT-Devices', { enabled: true })).status,
      200,
    );
  });

  it('disabling the device on node A closes its session on node B within 1 s', async () => {
    const id = `rev-cluster-dev-${run}`;
    const client = await fleetOnB.connect(id);
    const ms = await closedWithin(client, () => a.api('PATCH', `/api/devices/${id}`, { enabled: false }));
    console.log(`# cluster: device disabled on A → session on B closed in ${ms.toFixed(0)} ms`);
    assert.equal(await connackOf(fleetOnB.connect(id)), 5);
  });
});
