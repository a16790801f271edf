/**
 * What must not get past a revocation (HARDENING.md §8 R3, issue 13 §1): a TLS session offered
 * for resumption (TLS 1.2 and 1.3), a DPS registration with a revoked certificate, the old
 * certificate of an individual enrollment whose certificate was replaced or removed, and HTTPS
 * device requests (each authenticated on its own) with a revoked certificate or a SAS token
 * signed before the group was disabled.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { TLSSocket } from 'node:tls';
import { after, before, describe, it } from 'node:test';

import { createDeviceCertificate, createRootCa, type Issued } from '@gatehouse/pki';
import { deriveDeviceKey, hubSasResource, signSharedAccessSignature } from '@gatehouse/protocol';

import { opensslCa, type OpensslCa } from './helpers/openssl-ca.js';
import { base64Pem } from './helpers/pki-files.js';
import {
  closedWithin,
  connackOf,
  connectX509,
  provisionX509,
  refusalRecorded,
  refusalsOf,
} from './helpers/revocation-clients.js';
import { sasFleet } from './helpers/sas-device.js';
import { startTestServer, TEST_ADMIN_TOKEN, type TestServer } from './helpers/test-server.js';
import { httpsCall } from './helpers/transport-fixtures.js';

describe('revocation: no bypass', { concurrency: false }, () => {
  let server: TestServer;
  let root: Issued;
  let ca: OpensslCa;

  function postCrl(groupId: string, crl: Buffer) {
    return fetch(`${server.baseUrl}/api/enrollmentGroups/${groupId}/crl`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, 'content-type': 'application/x-pem-file' },
      body: crl,
    }).then(async (r) => ({ status: r.status, body: (await r.json()) as unknown }));
  }

  before(async () => {
    server = await startTestServer();
    root = await createRootCa({ commonName: 'bypass-root' });
    ca = await opensslCa(root);
    await server.api('PUT', '/api/enrollmentGroups/bypass-group', {
      displayName: 'bypass',
      type: 'iot',
      attestation: { type: 'x509' },
    });
    const up = await server.api('PUT', '/api/enrollmentGroups/bypass-group/certificates/primary', {
      certificate: base64Pem(root.certificate),
      verified: true,
    });
    assert.equal(up.status, 200);
  });

  after(async () => {
    await server?.stop();
  });

  for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
    it(`a ${version} session offered for resumption after the revocation is refused`, async () => {
      const id = `bypass-resume-${version.replace('.', '')}`;
      const leaf = await createDeviceCertificate({ commonName: id, issuer: root });
      const provisioned = await provisionX509(server, id, leaf);
      assert.equal(provisioned.status, 200, JSON.stringify(provisioned.body));
      const client = await connectX509(server, id, leaf, { extra: { maxVersion: version } });
      const socket = client.stream as TLSSocket;
      // Whatever the client could keep to resume (a TLS 1.2 session, a TLS 1.3 ticket if any).
      const session = socket.getSession();
      await ca.revoke(leaf.certificate);
      // The CRL is made before the clock starts: the 1 s is the server's, not openssl's.
      const crl = await ca.crl();
      await closedWithin(client, () => postCrl('bypass-group', crl));
      let reused: boolean | undefined;
      const retry = connectX509(server, id, leaf, {
        extra: { maxVersion: version, ...(session ? { session } : {}) },
      });
      void retry.then(
        (c) => (reused = (c.stream as TLSSocket).isSessionReused()),
        () => undefined,
      );
      assert.equal(await connackOf(retry), 5);
      assert.notEqual(reused, true);
      await refusalRecorded(server, id, 'ERR_HUB_CERTIFICATE_REVOKED');
    });
  }

  it('DPS refuses a revoked certificate (401, ERR_DPS_CERTIFICATE_REVOKED recorded)', async () => {
    const id = 'bypass-dps';
    const leaf = await createDeviceCertificate({ commonName: id, issuer: root });
    await ca.revoke(leaf.certificate);
    assert.equal((await postCrl('bypass-group', await ca.crl())).status, 200);
    const reply = await provisionX509(server, id, leaf);
    assert.equal(reply.status, 401, JSON.stringify(reply.body));
    const attempts = await refusalsOf(server, id);
    assert.equal(attempts[0]?.reason.code, 'ERR_DPS_CERTIFICATE_REVOKED');
    assert.match(attempts[0]?.reason.message ?? '', /revoked/);
  });

  it("replacing an individual enrollment's certificate closes the old one's session and refuses it", async () => {
    const id = 'bypass-individual';
    const first = await createDeviceCertificate({ commonName: id });
    const second = await createDeviceCertificate({ commonName: id });
    const put = (c: Issued) =>
      server.api('PUT', `/api/devices/${id}/attestation`, {
        type: 'x509',
        x509: { clientCertificates: { primary: { certificate: base64Pem(c.certificate) } } },
      });
    assert.equal((await put(first)).status, 200);
    const provisioned = await provisionX509(server, id, first);
    assert.equal(provisioned.status, 200, JSON.stringify(provisioned.body));
    const client = await connectX509(server, id, first);
    await closedWithin(client, () => put(second));
    assert.equal(await connackOf(connectX509(server, id, first)), 5);
    // The new certificate provisions and connects.
    assert.equal((await provisionX509(server, id, second)).status, 200);
    const fresh = await connectX509(server, id, second);
    await closedWithin(fresh, () => server.api('DELETE', `/api/devices/${id}/attestation`));
    assert.equal(await connackOf(connectX509(server, id, second)), 5);
  });

  it('HTTPS: a revoked certificate and a SAS token signed before the group was disabled are refused', async () => {
    const telemetry = (id: string, auth: { cert?: string; key?: string; token?: string }) =>
      httpsCall({
        port: server.https!.port,
        ca: readFileSync(server.serverCaPath!, 'utf8'),
        method: 'POST',
        path: `/devices/${id}/messages/events?api-version=2020-09-30`,
        headers: {
          'iothub-to': `/devices/${id}/messages/events`,
          'content-type': 'application/json',
          ...(auth.token ? { authorization: auth.token } : {}),
        },
        body: '{"temp":21}',
        ...(auth.cert ? { cert: auth.cert, key: auth.key! } : {}),
      });

    const x509 = 'bypass-https-x509';
    const leaf = await createDeviceCertificate({ commonName: x509, issuer: root });
    assert.equal((await provisionX509(server, x509, leaf)).status, 200);
    const files = { cert: leaf.certificate.pem, key: leaf.privateKey.toPem() };
    assert.equal((await telemetry(x509, files)).status, 204);
    await ca.revoke(leaf.certificate);
    assert.equal((await postCrl('bypass-group', await ca.crl())).status, 200);
    assert.equal((await telemetry(x509, files)).status, 401);
    const x509Record = await refusalRecorded(server, x509, 'ERR_HUB_CERTIFICATE_REVOKED');
    assert.equal(x509Record.transport, 'hub-https');

    const group = await server.api<{ attestation: { symmetricKey: { primaryKey: string } } }>(
      'GET',
      '/api/enrollmentGroups/SAS-IoT-Devices',
    );
    const sas = 'bypass-https-sas';
    const key = deriveDeviceKey(group.body.attestation.symmetricKey.primaryKey, sas);
    const fleet = sasFleet(server, group.body.attestation.symmetricKey.primaryKey);
    (await fleet.connect(sas)).end(true);
    const token = signSharedAccessSignature({
      resource: encodeURIComponent(hubSasResource(server.hostName, sas)),
      key,
      expiry: Math.floor(Date.now() / 1000) + 3600,
    });
    assert.equal((await telemetry(sas, { token })).status, 204);
    assert.equal(
      (await server.api('PATCH', '/api/enrollmentGroups/SAS-IoT-Devices', { enabled: false })).status,
      200,
    );
    try {
      assert.equal((await telemetry(sas, { token })).status, 401);
      const sasRecord = await refusalRecorded(server, sas, 'ERR_HUB_GROUP_DISABLED');
      assert.equal(sasRecord.transport, 'hub-https');
    } finally {
      await server.api('PATCH', '/api/enrollmentGroups/SAS-IoT-Devices', { enabled: true });
    }
  });
});
