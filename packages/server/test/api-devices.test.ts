/**
 * `/api/devices` (CENTRAL_API.md §3): the device list, individual enrollments
 * (`/attestation`, which create the device), credentials, and the refused
 * provisioning attempts under `/api/provisioning/attempts`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createDeviceCertificate, createRootCa, type Issued } from '@gatehouse/pki';
import type { DpsRequestContext } from '../src/provisioning/dps-handler.js';
import { apiHarness, expectError, ID_SCOPE, type ApiHarness } from './helpers/api-harness.js';
import { base64Pem } from './helpers/pki-files.js';

interface Attestation {
  type: string;
  x509: {
    clientCertificates: {
      primary: { info: { sha1Thumbprint: string } };
      secondary?: { info: { sha1Thumbprint: string } };
    };
  };
}

describe('devices and individual enrollments over REST', () => {
  let h: ApiHarness;
  let primary: Issued;
  let secondary: Issued;
  let stranger: Issued;

  before(async () => {
    h = await apiHarness();
    // Self-signed, as in the how-to; the secondary may carry another CN.
    primary = await createDeviceCertificate({ commonName: 'mytestdevice' });
    secondary = await createDeviceCertificate({ commonName: 'mytestsecondarycert' });
    stranger = await createDeviceCertificate({ commonName: 'someone-else' });
  });
  after(async () => h.close());

  const x509 = (p: Issued, s?: Issued) => ({
    type: 'x509',
    x509: {
      clientCertificates: {
        primary: { certificate: base64Pem(p.certificate) },
        ...(s ? { secondary: { certificate: s.certificate.pem } } : {}),
      },
    },
  });

  it('lists no devices at first, and 404s an unknown one', async () => {
    assert.deepEqual((await h.call('GET', '/api/devices')).json(), { value: [] });
    expectError(await h.call('GET', '/api/devices/mytestdevice'), 404, 'ERR_DEVICE_NOT_FOUND');
    expectError(await h.call('GET', '/api/devices/mytestdevice/credentials'), 404, 'ERR_DEVICE_NOT_FOUND');
    expectError(
      await h.call('GET', '/api/devices/mytestdevice/attestation'),
      404,
      'ERR_ATTESTATION_NOT_FOUND',
    );
  });

  it('PUT attestation creates the individual enrollment and the device', async () => {
    const res = await h.call('PUT', '/api/devices/mytestdevice/attestation', x509(primary, secondary));
    assert.equal(res.statusCode, 200, res.body);
    const a = res.json() as Attestation;
    assert.equal(a.type, 'x509');
    assert.equal(a.x509.clientCertificates.primary.info.sha1Thumbprint, primary.certificate.sha1Thumbprint);
    assert.equal(
      a.x509.clientCertificates.secondary?.info.sha1Thumbprint,
      secondary.certificate.sha1Thumbprint,
    );
    assert.ok(!res.body.includes('BEGIN CERTIFICATE'), 'certificates are never echoed');
    assert.deepEqual((await h.call('GET', '/api/devices/mytestdevice/attestation')).json(), a);

    const device = await h.call('GET', '/api/devices/mytestdevice');
    assert.equal(device.statusCode, 200);
    const d = device.json() as Record<string, unknown>;
    assert.deepEqual(
      { ...d, etag: undefined },
      {
        id: 'mytestdevice',
        etag: undefined,
        displayName: 'mytestdevice',
        enabled: true,
        provisioned: false,
        simulated: false,
        status: { connected: false, lastActivity: null, lastConnected: null },
      },
    );
    assert.equal(typeof d['etag'], 'string');
    assert.deepEqual((await h.call('GET', '/api/devices')).json(), { value: [d] });
  });

  it('credentials carry the ID scope and the thumbprints', async () => {
    const res = await h.call('GET', '/api/devices/mytestdevice/credentials');
    assert.equal(res.statusCode, 200);
    const c = res.json() as { idScope: string; x509: Attestation['x509'] };
    assert.equal(c.idScope, ID_SCOPE);
    assert.equal(c.x509.clientCertificates.primary.info.sha1Thumbprint, primary.certificate.sha1Thumbprint);
  });

  it('refuses a primary certificate whose CN is not the device ID', async () => {
    expectError(
      await h.call('PUT', '/api/devices/other-device/attestation', x509(primary)),
      422,
      'ERR_ATTESTATION_CN_MISMATCH',
      /mytestdevice/,
    );
    expectError(await h.call('GET', '/api/devices/other-device'), 404, 'ERR_DEVICE_NOT_FOUND');
  });

  it('refuses a certificate already enrolled for another device', async () => {
    const impostor = await createDeviceCertificate({ commonName: 'impostor' });
    expectError(
      await h.call('PUT', '/api/devices/impostor/attestation', x509(impostor, secondary)),
      409,
      'ERR_CERT_IN_USE',
    );
  });

  it('refuses bad attestation bodies', async () => {
    const cases: Array<[unknown, number, string]> = [
      [{ type: 'tpm', tpm: { endorsementKey: 'x' } }, 422, 'ERR_ATTESTATION_INVALID'],
      [{ type: 'symmetricKey', symmetricKey: {} }, 422, 'ERR_ATTESTATION_INVALID'],
      [{ type: 'x509' }, 422, 'ERR_ATTESTATION_INVALID'],
      [
        { type: 'x509', x509: { clientCertificates: { primary: { certificate: 'junk' } } } },
        422,
        'ERR_CERT_MALFORMED',
      ],
      ['"x509"', 422, 'ERR_VALIDATION'],
    ];
    for (const [body, status, errorCode] of cases) {
      expectError(await h.call('PUT', '/api/devices/someone-else/attestation', body), status, errorCode);
    }
    expectError(await h.call('GET', '/api/devices/someone-else'), 404, 'ERR_DEVICE_NOT_FOUND');
  });

  it('honours the etag of the enrollment', async () => {
    expectError(
      await h.call('PUT', '/api/devices/mytestdevice/attestation', { ...x509(primary), etag: 'stale' }),
      412,
      'ERR_ETAG_MISMATCH',
    );
  });

  it('refuses device IDs that break the pattern', async () => {
    for (const id of ['-leading-dash', 'sp%20ace', 'slash%2Fin', 'x'.repeat(129), 'caf%C3%A9']) {
      expectError(await h.call('GET', `/api/devices/${id}`), 400, 'ERR_INVALID_ID', /deviceId/);
      expectError(
        await h.call('PUT', `/api/devices/${id}/attestation`, x509(stranger)),
        400,
        'ERR_INVALID_ID',
      );
      expectError(await h.call('GET', `/api/devices/${id}/credentials`), 400, 'ERR_INVALID_ID');
    }
  });

  it('DELETE attestation removes the enrollment but keeps the device', async () => {
    const res = await h.call('DELETE', '/api/devices/mytestdevice/attestation');
    assert.equal(res.statusCode, 204);
    assert.equal(res.body, '');
    expectError(
      await h.call('GET', '/api/devices/mytestdevice/attestation'),
      404,
      'ERR_ATTESTATION_NOT_FOUND',
    );
    expectError(
      await h.call('DELETE', '/api/devices/mytestdevice/attestation'),
      404,
      'ERR_ATTESTATION_NOT_FOUND',
    );
    assert.equal((await h.call('GET', '/api/devices/mytestdevice')).statusCode, 200);
    assert.deepEqual((await h.call('GET', '/api/devices/mytestdevice/credentials')).json(), {
      idScope: ID_SCOPE,
    });
  });
});

describe('provisioning attempts over REST', () => {
  let h: ApiHarness;
  let root: Issued;

  before(async () => {
    h = await apiHarness();
    root = await createRootCa({ commonName: 'attempts-root' });
    const device = await createDeviceCertificate({ commonName: 'dev-a', issuer: root });
    const ctx = (registrationId: string, withCert: boolean): DpsRequestContext => ({
      idScope: ID_SCOPE,
      registrationId,
      transport: 'mqtt',
      clientCertificates: withCert ? [device.certificate] : [],
      ...(withCert ? { remoteAddress: '198.51.100.20' } : {}),
    });
    await h.deps.attempts.record(ctx('dev-a', true), { code: 'ERR_DPS_CA_NOT_VERIFIED', message: 'first' });
    await h.deps.attempts.record(ctx('dev-b', false), { code: 'ERR_DPS_NO_CREDENTIALS', message: 'second' });
    await h.deps.attempts.record(ctx('dev-a', true), { code: 'ERR_DPS_NOT_ENROLLED', message: 'third' });
  });
  after(async () => h.close());

  interface Attempt {
    id: number;
    registrationId: string;
    idScope: string;
    transport: string;
    clientAddress?: string;
    reason: { code: string; message: string };
    certificate?: { subject: string; sha1Thumbprint: string };
  }
  const list = async (query = '') => {
    const res = await h.call('GET', `/api/provisioning/attempts${query}`);
    assert.equal(res.statusCode, 200, res.body);
    return (res.json() as { value: Attempt[] }).value;
  };

  it('lists newest first, with the reason and the certificate', async () => {
    const all = await list();
    assert.deepEqual(
      all.map((a) => a.reason.message),
      ['third', 'second', 'first'],
    );
    const [third, second] = all;
    assert.equal(third?.reason.code, 'ERR_DPS_NOT_ENROLLED');
    assert.equal(third?.registrationId, 'dev-a');
    assert.equal(third?.idScope, ID_SCOPE);
    assert.equal(third?.transport, 'mqtt');
    assert.equal(third?.certificate?.subject, 'CN=dev-a');
    assert.equal(third?.clientAddress, '198.51.100.20');
    assert.equal(second?.certificate, undefined);
    assert.equal(second?.clientAddress, undefined, 'no address known, none shown');
  });

  it('filters by registration ID and limits', async () => {
    assert.deepEqual(
      (await list('?registrationId=dev-a')).map((a) => a.reason.message),
      ['third', 'first'],
    );
    assert.deepEqual(await list('?registrationId=nobody'), []);
    assert.deepEqual(
      (await list('?limit=1&api-version=2022-07-31')).map((a) => a.reason.message),
      ['third'],
    );
    const [newest] = await list('?limit=1');
    assert.deepEqual(
      (await list(`?before=${newest?.id}`)).map((a) => a.reason.message),
      ['second', 'first'],
    );
  });

  it('refuses a bad limit', async () => {
    for (const q of ['?limit=0', '?limit=-1', '?limit=ten', '?limit=1001', '?before=x']) {
      expectError(await h.call('GET', `/api/provisioning/attempts${q}`), 400, 'ERR_BAD_REQUEST', /integer/);
    }
  });
});
