/**
 * `POST /api/enrollmentGroups/{id}/crl` on a real server, with CRLs made by OpenSSL
 * (`openssl ca -revoke` / `-gencrl`): a current CRL of the group's CA is imported as PEM, DER or
 * JSON and its serials are listed on the group; every other CRL is refused with a 400 that
 * names why (table below), and nothing of it is stored.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { createDeviceCertificate, createIntermediateCa, createRootCa, type Issued } from '@gatehouse/pki';

import { opensslCa, type OpensslCa } from './helpers/openssl-ca.js';
import { base64Pem } from './helpers/pki-files.js';
import { startTestServer, TEST_ADMIN_TOKEN, type TestServer } from './helpers/test-server.js';

const HOUR = 3_600_000;

type Revocation = {
  groupId: string;
  crls: Array<{ issuer: string; thisUpdate: string; nextUpdate?: string }>;
  revokedCertificates: Array<{ serialNumber: string; issuer: string; revocationDate: string }>;
};

describe('revocation: CRL import and refusals', () => {
  let server: TestServer;
  let root: Issued;
  let ca: OpensslCa;
  let device: Issued;
  let intermediate: Issued;

  async function postCrl(
    groupId: string,
    body: Buffer | string | undefined,
    contentType = 'application/pkix-crl',
  ): Promise<{ status: number; body: Revocation & { error?: { code: string; message: string } } }> {
    const res = await fetch(`${server.baseUrl}/api/enrollmentGroups/${groupId}/crl`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${TEST_ADMIN_TOKEN}`,
        ...(body === undefined ? {} : { 'content-type': contentType }),
      },
      ...(body === undefined ? {} : { body }),
    });
    return { status: res.status, body: (await res.json()) as never };
  }

  async function x509Group(id: string, issued: Issued): Promise<void> {
    const put = await server.api('PUT', `/api/enrollmentGroups/${id}`, {
      displayName: id,
      type: 'iot',
      attestation: { type: 'x509' },
    });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    const cert = await server.api('PUT', `/api/enrollmentGroups/${id}/certificates/primary`, {
      certificate: base64Pem(issued.certificate),
      verified: true,
    });
    assert.equal(cert.status, 200, JSON.stringify(cert.body));
  }

  before(async () => {
    server = await startTestServer();
    root = await createRootCa({ commonName: 'crl-root' });
    intermediate = await createIntermediateCa({ commonName: 'crl-intermediate', issuer: root });
    device = await createDeviceCertificate({ commonName: 'crl-device', issuer: root });
    ca = await opensslCa(root);
    await x509Group('crl-group', root);
    await server.api('PUT', '/api/enrollmentGroups/crl-empty-group', {
      displayName: 'no CA yet',
      type: 'iot',
      attestation: { type: 'x509' },
    });
  });

  after(async () => {
    await server?.stop();
  });

  it('a group without CRL lists no revoked certificates', async () => {
    const group = await server.api<{ revokedCertificates: unknown[] }>(
      'GET',
      '/api/enrollmentGroups/crl-group',
    );
    assert.deepEqual(group.body.revokedCertificates, []);
    const crl = await server.api<Revocation>('GET', '/api/enrollmentGroups/crl-group/crl');
    assert.deepEqual(crl.body, { groupId: 'crl-group', crls: [], revokedCertificates: [] });
  });

  it('imports an OpenSSL CRL (PEM) and lists its serials on the group (GET group and GET crl)', async () => {
    await ca.revoke(device.certificate);
    await ca.revoke(intermediate.certificate);
    const res = await postCrl('crl-group', await ca.crl(), 'application/x-pem-file');
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const serials = res.body.revokedCertificates.map((r) => r.serialNumber).sort();
    const expected = [device.certificate.serialNumber, intermediate.certificate.serialNumber]
      .map((s) => s.replace(/^0+/, ''))
      .sort();
    assert.deepEqual(serials, expected);
    assert.equal(res.body.crls.length, 1);
    assert.equal(res.body.crls[0]?.issuer, root.certificate.subject);
    const group = await server.api<{ revokedCertificates: Array<{ serialNumber: string }> }>(
      'GET',
      '/api/enrollmentGroups/crl-group',
    );
    assert.deepEqual(group.body.revokedCertificates.map((r) => r.serialNumber).sort(), expected);
  });

  it('imports the same CRL as DER and as JSON { crl } (base64 DER), replacing the list', async () => {
    const der = await ca.crl({ der: true });
    assert.notEqual(der[0], 0x2d, 'DER, not PEM');
    const res = await postCrl('crl-group', der, 'application/pkix-crl');
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.revokedCertificates.length, 2);
    const json = await server.api<Revocation>('POST', '/api/enrollmentGroups/crl-group/crl', {
      crl: (await ca.crl({ der: true })).toString('base64'),
    });
    assert.equal(json.status, 200, JSON.stringify(json.body));
    assert.equal(json.body.revokedCertificates.length, 2);
    assert.equal(json.body.crls.length, 1, 'one CRL per group CA: a newer one replaces it');
  });

  // Every refusal the issue names, each with the code and status the API answers.
  const refusals: Array<{
    name: string;
    group?: string;
    body: () => Promise<Buffer | string | undefined>;
    contentType?: string;
    status: number;
    code: string;
  }> = [
    {
      name: 'a CRL from another issuer',
      body: async () => (await opensslCa(await createRootCa({ commonName: 'someone-else' }))).crl(),
      status: 400,
      code: 'ERR_CRL_WRONG_ISSUER',
    },
    {
      name: "a CRL in the CA's name signed by another key (bad signature)",
      body: async () => (await opensslCa(await createRootCa({ commonName: 'crl-root' }))).crl(),
      status: 400,
      code: 'ERR_CRL_BAD_SIGNATURE',
    },
    {
      name: 'a CRL whose nextUpdate has passed',
      body: () =>
        ca.crl({
          lastUpdate: new Date(Date.now() - 48 * HOUR),
          nextUpdate: new Date(Date.now() - 24 * HOUR),
        }),
      status: 400,
      code: 'ERR_CRL_EXPIRED',
    },
    {
      name: 'a CRL whose thisUpdate is in the future',
      body: () =>
        ca.crl({
          lastUpdate: new Date(Date.now() + 24 * HOUR),
          nextUpdate: new Date(Date.now() + 48 * HOUR),
        }),
      status: 400,
      code: 'ERR_CRL_NOT_YET_VALID',
    },
    {
      name: 'not a CRL: a certificate PEM',
      body: () => Promise.resolve(root.certificate.pem),
      contentType: 'application/x-pem-file',
      status: 400,
      code: 'ERR_CRL_MALFORMED',
    },
    {
      name: 'not a CRL: random bytes',
      body: () => Promise.resolve(Buffer.from('30820102deadbeef', 'hex')),
      status: 400,
      code: 'ERR_CRL_MALFORMED',
    },
    {
      name: 'an empty body',
      body: () => Promise.resolve(Buffer.alloc(0)),
      status: 400,
      code: 'ERR_CRL_EMPTY',
    },
    {
      name: 'no body at all',
      body: () => Promise.resolve(undefined),
      status: 400,
      code: 'ERR_CRL_EMPTY',
    },
    {
      name: 'a JSON body without crl',
      body: () => Promise.resolve(JSON.stringify({ certificate: 'x' })),
      contentType: 'application/json',
      status: 400,
      code: 'ERR_CRL_EMPTY',
    },
    {
      name: 'a group without CA certificate',
      group: 'crl-empty-group',
      body: () => ca.crl(),
      status: 400,
      code: 'ERR_CRL_NO_CA',
    },
    {
      name: 'a symmetric-key group',
      group: 'SAS-IoT-Devices',
      body: () => ca.crl(),
      status: 422,
      code: 'ERR_GROUP_ATTESTATION_MISMATCH',
    },
    {
      name: 'an unknown group',
      group: 'no-such-group',
      body: () => ca.crl(),
      status: 404,
      code: 'ERR_GROUP_NOT_FOUND',
    },
    {
      name: 'a CRL older than the one the group holds',
      body: () =>
        ca.crl({ lastUpdate: new Date(Date.now() - 2 * HOUR), nextUpdate: new Date(Date.now() + 2 * HOUR) }),
      status: 409,
      code: 'ERR_CRL_STALE',
    },
  ];

  for (const r of refusals) {
    it(`refuses ${r.name} with ${r.status} ${r.code}, keeping the list as it was`, async () => {
      const res = await postCrl(r.group ?? 'crl-group', await r.body(), r.contentType);
      assert.equal(res.status, r.status, JSON.stringify(res.body));
      assert.equal(res.body.error?.code, r.code, JSON.stringify(res.body));
      assert.ok((res.body.error?.message ?? '').length > 20, 'a sentence that says why');
      const kept = await server.api<Revocation>('GET', '/api/enrollmentGroups/crl-group/crl');
      assert.equal(kept.body.revokedCertificates.length, 2);
    });
  }
});
