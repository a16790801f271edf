/**
 * `/api/enrollmentGroups` (CENTRAL_API.md §1.2, §2): groups, CA certificate
 * upload in the forms clients send, proof of possession with certificates made
 * by @gatehouse/pki, and every refusal with its code.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  createDeviceCertificate,
  createIntermediateCa,
  createRootCa,
  createVerificationCertificate,
  type Issued,
} from '@gatehouse/pki';
import { apiHarness, expectError, ID_SCOPE, type ApiHarness } from './helpers/api-harness.js';
import { base64Pem } from './helpers/pki-files.js';

const GROUP = { displayName: 'My X509 group', type: 'iot', attestation: { type: 'x509' } };

interface SigningCertificate {
  verified: boolean;
  info: { sha1Thumbprint: string };
  etag: string;
}

describe('enrollment groups over REST', () => {
  let h: ApiHarness;
  let root: Issued;
  let otherRoot: Issued;
  let sameNameRoot: Issued;
  let intermediate: Issued;
  let leaf: Issued;

  before(async () => {
    h = await apiHarness();
    root = await createRootCa({ commonName: 'api-test-root' });
    otherRoot = await createRootCa({ commonName: 'api-test-other-root' });
    // Same subject as `root`, different key: a verification certificate it signs must fail.
    sameNameRoot = await createRootCa({ commonName: 'api-test-root' });
    intermediate = await createIntermediateCa({ commonName: 'api-test-intermediate', issuer: root });
    leaf = await createDeviceCertificate({ commonName: 'api-test-device', issuer: root });
  });
  after(async () => h.close());

  const cert = (group: string, entry = 'primary') => `/api/enrollmentGroups/${group}/certificates/${entry}`;

  async function code(group: string, entry = 'primary'): Promise<string> {
    const res = await h.call('POST', `${cert(group, entry)}/generateVerificationCode`);
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json() as { verificationCode: string };
    assert.match(body.verificationCode, /^[0-9A-F]{48}$/);
    return body.verificationCode;
  }

  async function verified(group: string, entry = 'primary'): Promise<boolean> {
    const res = await h.call('GET', cert(group, entry));
    assert.equal(res.statusCode, 200, res.body);
    return (res.json() as SigningCertificate).verified;
  }

  it('PUT creates a group, GET and the list return it', async () => {
    const put = await h.call('PUT', '/api/enrollmentGroups/MyX509Group?api-version=2022-07-31', GROUP);
    assert.equal(put.statusCode, 200, put.body);
    const g = put.json() as Record<string, unknown>;
    assert.equal(g['id'], 'MyX509Group');
    assert.equal(g['displayName'], 'My X509 group');
    assert.equal(g['enabled'], true);
    assert.equal(g['type'], 'iot');
    assert.equal(g['idScope'], ID_SCOPE);
    assert.deepEqual(g['attestation'], { type: 'x509', x509: { signingCertificates: {} } });
    assert.equal(typeof g['etag'], 'string');

    const got = await h.call('GET', '/api/enrollmentGroups/MyX509Group');
    assert.deepEqual(got.json(), g);
    const list = await h.call('GET', '/api/enrollmentGroups');
    assert.deepEqual((list.json() as { value: unknown[] }).value, [g]);
  });

  it('PUT replaces, PATCH merges (application/merge-patch+json too), etags guard both', async () => {
    const created = (await h.call('PUT', '/api/enrollmentGroups/patchable', GROUP)).json() as {
      etag: string;
    };
    expectError(
      await h.call('PUT', '/api/enrollmentGroups/patchable', { ...GROUP, etag: 'stale' }),
      412,
      'ERR_ETAG_MISMATCH',
    );
    expectError(
      await h.call('PATCH', '/api/enrollmentGroups/patchable', { enabled: false, etag: 'stale' }),
      412,
      'ERR_ETAG_MISMATCH',
    );
    const replaced = await h.call('PUT', '/api/enrollmentGroups/patchable', {
      ...GROUP,
      displayName: 'Renamed',
      etag: created.etag,
    });
    assert.equal(replaced.statusCode, 200);
    const r = replaced.json() as { etag: string; displayName: string };
    assert.equal(r.displayName, 'Renamed');
    assert.notEqual(r.etag, created.etag);
    const patched = await h.call(
      'PATCH',
      '/api/enrollmentGroups/patchable',
      JSON.stringify({ enabled: false, etag: r.etag }),
      undefined,
      {
        'content-type': 'application/merge-patch+json',
      },
    );
    assert.equal(patched.statusCode, 200, patched.body);
    const p = patched.json() as { enabled: boolean; displayName: string; type: string };
    assert.deepEqual([p.enabled, p.displayName, p.type], [false, 'Renamed', 'iot']);
    expectError(
      await h.call('PATCH', '/api/enrollmentGroups/patchable', { type: 'edge' }),
      422,
      'ERR_GROUP_INVALID',
    );
    expectError(
      await h.call('PATCH', '/api/enrollmentGroups/patchable', { attestation: { type: 'symmetricKey' } }),
      422,
      'ERR_GROUP_INVALID',
    );
    expectError(
      await h.call('PATCH', '/api/enrollmentGroups/nobody', { enabled: false }),
      404,
      'ERR_GROUP_NOT_FOUND',
    );
  });

  it('refuses bodies that fail validation, and creates nothing', async () => {
    const cases: Array<[unknown, string, RegExp]> = [
      [{ type: 'iot', attestation: { type: 'x509' } }, 'ERR_VALIDATION', /'displayName' is required/],
      [{ ...GROUP, displayName: 42 }, 'ERR_VALIDATION', /'displayName' must be a string/],
      [{ ...GROUP, displayName: '  ' }, 'ERR_GROUP_INVALID', /displayName/],
      [{ ...GROUP, type: 'edge' }, 'ERR_GROUP_INVALID', /'type' must be 'iot' or 'iotEdge'/],
      [{ displayName: 'x', attestation: { type: 'x509' } }, 'ERR_VALIDATION', /'type' is required/],
      [{ ...GROUP, attestation: { type: 'tpm' } }, 'ERR_GROUP_INVALID', /'attestation.type'/],
      [{ ...GROUP, attestation: 'x509' }, 'ERR_VALIDATION', /'attestation' must be an object/],
      [{ displayName: 'x', type: 'iot' }, 'ERR_VALIDATION', /'attestation' is required/],
      [{ ...GROUP, enabled: 'yes' }, 'ERR_VALIDATION', /'enabled' must be a boolean/],
      [
        {
          ...GROUP,
          attestation: {
            type: 'symmetricKey',
            symmetricKey: { primaryKey: 'not base64!', secondaryKey: 'AAAA' },
          },
        },
        'ERR_GROUP_INVALID',
        /primaryKey' must be a base64 key/,
      ],
      [
        {
          ...GROUP,
          attestation: { type: 'symmetricKey', symmetricKey: { primaryKey: 'AAAA', secondaryKey: 'AAAA' } },
        },
        'ERR_GROUP_INVALID',
        /16–64 bytes/,
      ],
      [[GROUP], 'ERR_VALIDATION', /JSON object/],
    ];
    for (const [body, errorCode, message] of cases) {
      expectError(await h.call('PUT', '/api/enrollmentGroups/invalid', body), 422, errorCode, message);
    }
    expectError(await h.call('PUT', '/api/enrollmentGroups/invalid'), 422, 'ERR_VALIDATION', /JSON object/);
    expectError(await h.call('GET', '/api/enrollmentGroups/invalid'), 404, 'ERR_GROUP_NOT_FOUND');
  });

  it('creates symmetric-key groups with generated keys, keeps supplied keys, and rotates them by PATCH', async () => {
    const created = await h.call('PUT', '/api/enrollmentGroups/sas-group', {
      displayName: 'SAS',
      type: 'iot',
      attestation: { type: 'symmetricKey' },
    });
    assert.equal(created.statusCode, 200);
    const generated = created.json() as {
      attestation: { type: string; symmetricKey: { primaryKey: string; secondaryKey: string } };
    };
    assert.equal(generated.attestation.type, 'symmetricKey');
    assert.equal(Buffer.from(generated.attestation.symmetricKey.primaryKey, 'base64').length, 64);
    assert.notEqual(
      generated.attestation.symmetricKey.primaryKey,
      generated.attestation.symmetricKey.secondaryKey,
    );
    const key = Buffer.alloc(32, 7).toString('base64');
    const supplied = await h.call('PUT', '/api/enrollmentGroups/sas-supplied', {
      displayName: 'SAS2',
      type: 'iot',
      attestation: { type: 'symmetricKey', symmetricKey: { primaryKey: key, secondaryKey: key } },
    });
    assert.equal((supplied.json() as typeof generated).attestation.symmetricKey.primaryKey, key);
    const rotated = await h.call('PATCH', '/api/enrollmentGroups/sas-group', {
      attestation: { symmetricKey: { primaryKey: key, secondaryKey: key } },
    });
    assert.equal(rotated.statusCode, 200);
    assert.equal((rotated.json() as typeof generated).attestation.symmetricKey.secondaryKey, key);
    // Certificates belong to X.509 groups.
    expectError(
      await h.call('PUT', '/api/enrollmentGroups/sas-group/certificates/primary', { certificate: 'x' }),
      422,
      'ERR_GROUP_ATTESTATION_MISMATCH',
    );
  });

  it('refuses group IDs that break the pattern', async () => {
    for (const id of ['has_underscore', 'has.dot', 'x'.repeat(256), 'sp%20ace']) {
      expectError(
        await h.call('PUT', `/api/enrollmentGroups/${id}`, GROUP),
        400,
        'ERR_INVALID_ID',
        /enrollmentGroupId/,
      );
      expectError(await h.call('GET', `/api/enrollmentGroups/${id}`), 400, 'ERR_INVALID_ID');
      expectError(await h.call('DELETE', `/api/enrollmentGroups/${id}`), 400, 'ERR_INVALID_ID');
      expectError(await h.call('GET', `${cert(id)}`), 400, 'ERR_INVALID_ID');
    }
    assert.equal((await h.call('PUT', `/api/enrollmentGroups/${'x'.repeat(255)}`, GROUP)).statusCode, 200);
    expectError(await h.call('GET', cert('MyX509Group', 'tertiary')), 400, 'ERR_INVALID_ID', /primary/);
  });

  it('uploads a CA as base64 of PEM (the Azure CLI form) and returns its thumbprint, not the certificate', async () => {
    const res = await h.call('PUT', cert('MyX509Group'), { certificate: base64Pem(root.certificate) });
    assert.equal(res.statusCode, 200, res.body);
    const c = res.json() as SigningCertificate & Record<string, unknown>;
    assert.equal(c.verified, false);
    assert.equal(c.info.sha1Thumbprint, root.certificate.sha1Thumbprint);
    assert.match(c.info.sha1Thumbprint, /^[0-9A-F]{40}$/);
    assert.equal(c['certificate'], undefined);
    assert.ok(!res.body.includes('BEGIN CERTIFICATE'));
    const g = (await h.call('GET', '/api/enrollmentGroups/MyX509Group')).json() as {
      attestation: { x509: { signingCertificates: Record<string, SigningCertificate> } };
    };
    assert.deepEqual(
      g.attestation.x509.signingCertificates['primary'],
      (await h.call('GET', cert('MyX509Group'))).json(),
    );
  });

  it('uploads a CA as raw PEM, and may mark it verified on upload', async () => {
    await h.call('PUT', '/api/enrollmentGroups/pem-group', GROUP);
    const res = await h.call('PUT', cert('pem-group'), {
      certificate: otherRoot.certificate.pem,
      verified: true,
    });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal((res.json() as SigningCertificate).verified, true);
    assert.equal(
      (res.json() as SigningCertificate).info.sha1Thumbprint,
      otherRoot.certificate.sha1Thumbprint,
    );
  });

  it('refuses what is not a CA certificate', async () => {
    await h.call('PUT', '/api/enrollmentGroups/refusals', GROUP);
    const cases: Array<[unknown, number, string]> = [
      [{ certificate: 'not a certificate' }, 422, 'ERR_CERT_MALFORMED'],
      [
        { certificate: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n' },
        422,
        'ERR_CERT_MALFORMED',
      ],
      [{ certificate: '' }, 422, 'ERR_CERT_MALFORMED'],
      [{}, 422, 'ERR_CERT_MALFORMED'],
      [{ certificate: base64Pem(leaf.certificate) }, 422, 'ERR_CERT_NOT_CA'],
      [{ certificate: leaf.certificate.pem }, 422, 'ERR_CERT_NOT_CA'],
      // Already the primary of MyX509Group: one CA cannot back two groups.
      [{ certificate: root.certificate.pem }, 409, 'ERR_CERT_IN_USE'],
      [{ certificate: otherRoot.certificate.pem, verified: 'yes' }, 422, 'ERR_VALIDATION'],
    ];
    for (const [body, status, errorCode] of cases) {
      expectError(await h.call('PUT', cert('refusals'), body), status, errorCode);
    }
    expectError(await h.call('GET', cert('refusals')), 404, 'ERR_CERT_NOT_FOUND');
    expectError(
      await h.call('PUT', cert('nobody'), { certificate: root.certificate.pem }),
      404,
      'ERR_GROUP_NOT_FOUND',
    );
  });

  it('verify without a generated code is refused and changes nothing', async () => {
    const v = await createVerificationCertificate({ nonce: 'NOCODEYET', ca: root });
    expectError(
      await h.call('POST', `${cert('MyX509Group')}/verify`, { certificate: v.certificate.pem }),
      409,
      'ERR_VERIFICATION_NO_CODE',
    );
    assert.equal(await verified('MyX509Group'), false);
  });

  it('verify with the wrong CN is refused', async () => {
    await code('MyX509Group');
    const v = await createVerificationCertificate({ nonce: 'WRONGCODE0123', ca: root });
    expectError(
      await h.call('POST', `${cert('MyX509Group')}/verify`, { certificate: v.certificate.pem }),
      422,
      'ERR_VERIFICATION_FAILED',
      /CN/,
    );
    assert.equal(await verified('MyX509Group'), false);
  });

  it('verify with a certificate signed by another key is refused', async () => {
    const nonce = await code('MyX509Group');
    const v = await createVerificationCertificate({ nonce, ca: sameNameRoot });
    expectError(
      await h.call('POST', `${cert('MyX509Group')}/verify`, { certificate: v.certificate.pem }),
      422,
      'ERR_VERIFICATION_FAILED',
      /ERR_PKI_POP_BAD_SIGNATURE/,
    );
    const w = await createVerificationCertificate({ nonce, ca: otherRoot });
    expectError(
      await h.call('POST', `${cert('MyX509Group')}/verify`, { certificate: w.certificate.pem }),
      422,
      'ERR_VERIFICATION_FAILED',
    );
    assert.equal(await verified('MyX509Group'), false);
  });

  it('verify with an expired verification certificate is refused', async () => {
    const nonce = await code('MyX509Group');
    const v = await createVerificationCertificate({
      nonce,
      ca: root,
      notBefore: new Date(Date.now() - 10 * 86_400_000),
      days: 1,
    });
    expectError(
      await h.call('POST', `${cert('MyX509Group')}/verify`, { certificate: v.certificate.pem }),
      422,
      'ERR_VERIFICATION_FAILED',
      /ERR_PKI_POP_EXPIRED/,
    );
    assert.equal(await verified('MyX509Group'), false);
  });

  it('verify with an expired code is refused', async () => {
    const nonce = await code('MyX509Group');
    const v = await createVerificationCertificate({ nonce, ca: root });
    h.clock.offsetMs = 2 * 3600 * 1000;
    try {
      expectError(
        await h.call('POST', `${cert('MyX509Group')}/verify`, { certificate: v.certificate.pem }),
        409,
        'ERR_VERIFICATION_CODE_EXPIRED',
      );
    } finally {
      h.clock.offsetMs = 0;
    }
    assert.equal(await verified('MyX509Group'), false);
  });

  it('verify with malformed input is refused', async () => {
    await code('MyX509Group');
    expectError(
      await h.call('POST', `${cert('MyX509Group')}/verify`, { certificate: 'garbage' }),
      422,
      'ERR_CERT_MALFORMED',
    );
    expectError(await h.call('POST', `${cert('MyX509Group')}/verify`, {}), 422, 'ERR_CERT_MALFORMED');
    expectError(await h.call('POST', `${cert('MyX509Group')}/verify`), 422, 'ERR_VALIDATION');
    assert.equal(await verified('MyX509Group'), false);
  });

  it('verify with the right certificate answers 204 and sets verified; the code is then spent', async () => {
    const nonce = await code('MyX509Group');
    const v = await createVerificationCertificate({ nonce, ca: root });
    const res = await h.call('POST', `${cert('MyX509Group')}/verify`, {
      certificate: base64Pem(v.certificate),
    });
    assert.equal(res.statusCode, 204, res.body);
    assert.equal(res.body, '');
    assert.equal(await verified('MyX509Group'), true);
    expectError(
      await h.call('POST', `${cert('MyX509Group')}/verify`, { certificate: v.certificate.pem }),
      409,
      'ERR_VERIFICATION_NO_CODE',
      /spent/,
    );
    assert.equal(await verified('MyX509Group'), true);
  });

  it('an intermediate CA verifies with its own key, as the secondary entry', async () => {
    await h.call('PUT', '/api/enrollmentGroups/intermediate', GROUP);
    assert.equal(
      (
        await h.call('PUT', cert('intermediate', 'secondary'), {
          certificate: base64Pem(intermediate.certificate),
        })
      ).statusCode,
      200,
    );
    const nonce = await code('intermediate', 'secondary');
    const v = await createVerificationCertificate({ nonce, ca: intermediate });
    assert.equal(
      (
        await h.call('POST', `${cert('intermediate', 'secondary')}/verify`, {
          certificate: v.certificate.pem,
        })
      ).statusCode,
      204,
    );
    assert.equal(await verified('intermediate', 'secondary'), true);
    expectError(await h.call('GET', cert('intermediate', 'primary')), 404, 'ERR_CERT_NOT_FOUND');
  });

  it('generateVerificationCode accepts an empty body sent as JSON, and needs a certificate', async () => {
    const res = await h.call(
      'POST',
      `${cert('MyX509Group')}/generateVerificationCode`,
      undefined,
      undefined,
      {
        'content-type': 'application/json',
      },
    );
    assert.equal(res.statusCode, 200, res.body);
    expectError(
      await h.call('POST', `${cert('pem-group', 'secondary')}/generateVerificationCode`),
      404,
      'ERR_CERT_NOT_FOUND',
    );
    expectError(
      await h.call('POST', `${cert('nobody')}/generateVerificationCode`),
      404,
      'ERR_GROUP_NOT_FOUND',
    );
  });

  it('PUT of a certificate entry honours its etag', async () => {
    const current = (await h.call('GET', cert('pem-group'))).json() as SigningCertificate;
    expectError(
      await h.call('PUT', cert('pem-group'), { certificate: otherRoot.certificate.pem, etag: 'stale' }),
      412,
      'ERR_ETAG_MISMATCH',
    );
    const res = await h.call('PUT', cert('pem-group'), {
      certificate: otherRoot.certificate.pem,
      etag: current.etag,
    });
    assert.equal(res.statusCode, 200);
    assert.equal((res.json() as SigningCertificate).verified, false, 'a re-upload starts unverified');
  });

  it('DELETE removes a certificate, then the group', async () => {
    assert.equal((await h.call('DELETE', cert('pem-group'))).statusCode, 204);
    expectError(await h.call('GET', cert('pem-group')), 404, 'ERR_CERT_NOT_FOUND');
    expectError(await h.call('DELETE', cert('pem-group')), 404, 'ERR_CERT_NOT_FOUND');
    // The CA is free again for another group.
    assert.equal(
      (await h.call('PUT', cert('refusals'), { certificate: otherRoot.certificate.pem })).statusCode,
      200,
    );
    const del = await h.call('DELETE', '/api/enrollmentGroups/refusals');
    assert.equal(del.statusCode, 204);
    assert.equal(del.body, '');
    expectError(await h.call('GET', '/api/enrollmentGroups/refusals'), 404, 'ERR_GROUP_NOT_FOUND');
    expectError(await h.call('DELETE', '/api/enrollmentGroups/refusals'), 404, 'ERR_GROUP_NOT_FOUND');
  });
});
