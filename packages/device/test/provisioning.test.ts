/**
 * ProvisioningClient against a real Gatehouse server (PROTOCOL.md §1): X.509 and symmetric-key
 * group enrollments, and refusals surfacing as typed errors.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createDeviceCertificate, createRootCa, type Issued } from '@gatehouse/pki';
import { deriveDeviceKey } from '@gatehouse/protocol';
import { DeviceError, ProvisioningClient, isDeviceError } from '../src/index.js';
import { startGatehouse, type Gatehouse } from './helpers/gatehouse.js';

describe('ProvisioningClient against a real server', () => {
  let g: Gatehouse;
  let root: Issued;
  let groupKey: string;

  before(async () => {
    g = await startGatehouse();
    root = await createRootCa({ commonName: 'device-sdk-root' });
    const put = await g.api('PUT', '/api/enrollmentGroups/MyX509Group', {
      displayName: 'MyX509Group',
      type: 'iot',
      attestation: { type: 'x509' },
    });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    const up = await g.api('PUT', '/api/enrollmentGroups/MyX509Group/certificates/primary', {
      certificate: Buffer.from(root.certificate.pem).toString('base64'),
      verified: true,
    });
    assert.equal(up.status, 200, JSON.stringify(up.body));
    const sas = await g.api<{ attestation: { symmetricKey: { primaryKey: string } } }>(
      'GET',
      '/api/enrollmentGroups/SAS-IoT-Devices',
    );
    assert.equal(sas.status, 200);
    groupKey = sas.body.attestation.symmetricKey.primaryKey;
  });

  after(async () => {
    await g?.stop();
  });

  it('registers an X.509 device of a group whose root is verified, with a payload', async () => {
    const device = await createDeviceCertificate({ commonName: 'x509-dev-1', issuer: root });
    const client = ProvisioningClient.create({
      host: 'localhost',
      port: g.mqttPort,
      idScope: g.idScope,
      registrationId: 'x509-dev-1',
      ca: g.ca,
      x509: { cert: device.certificate.pem, key: device.privateKey.toPem() },
      payload: { modelId: 'dtmi:com:example:Thermostat;1' },
    });
    const result = await client.register();
    assert.equal(result.assignedHub, 'localhost');
    assert.equal(result.deviceId, 'x509-dev-1');
    assert.equal(result.registrationId, 'x509-dev-1');
    assert.equal(result.status, 'assigned');
    assert.equal(result.substatus, 'initialAssignment');
    assert.deepEqual(result.payload, { modelId: 'dtmi:com:example:Thermostat;1' });
    assert.equal(result.x509?.enrollmentGroupId, 'MyX509Group');
    const d = await g.api<{ provisioned: boolean }>('GET', '/api/devices/x509-dev-1');
    assert.equal(d.body.provisioned, true);
  });

  it('takes the registration ID from the certificate CN when none is given, and can register again', async () => {
    const device = await createDeviceCertificate({ commonName: 'x509-dev-cn', issuer: root });
    const client = ProvisioningClient.create({
      host: `localhost:${g.mqttPort}`,
      idScope: g.idScope,
      ca: Buffer.from(g.ca),
      x509: { cert: device.chain.map((c) => c.pem).join(''), key: device.privateKey.toPem() },
    });
    assert.equal((await client.register()).deviceId, 'x509-dev-cn');
    assert.equal((await client.register()).deviceId, 'x509-dev-cn');
  });

  it('registers a symmetric-key device of the default SAS-IoT-Devices group with its derived key', async () => {
    const key = deriveDeviceKey(groupKey, 'sas-dev-1');
    const result = await ProvisioningClient.create({
      host: 'localhost',
      port: g.mqttPort,
      idScope: g.idScope,
      registrationId: 'sas-dev-1',
      ca: g.ca,
      symmetricKey: key,
    }).register();
    assert.equal(result.deviceId, 'sas-dev-1');
    assert.equal(result.assignedHub, 'localhost');
    assert.equal(result.symmetricKey?.enrollmentGroupId, 'SAS-IoT-Devices');
    const creds = await g.api<{ symmetricKey: { primaryKey: string } }>(
      'GET',
      '/api/devices/sas-dev-1/credentials',
    );
    assert.equal(creds.body.symmetricKey.primaryKey, key);
  });

  it('surfaces a refused SAS registration as ERR_DEVICE_REGISTRATION_REFUSED with the DPS error body', async () => {
    const client = ProvisioningClient.create({
      host: 'localhost',
      port: g.mqttPort,
      idScope: g.idScope,
      registrationId: 'sas-dev-wrong',
      ca: g.ca,
      symmetricKey: Buffer.alloc(32, 7).toString('base64'),
    });
    const err = await client.register().then(
      () => assert.fail('must be refused'),
      (e: unknown) => e,
    );
    assert.ok(isDeviceError(err, 'ERR_DEVICE_REGISTRATION_REFUSED'), String(err));
    assert.equal(err.status, 401);
    assert.equal(Math.floor((err.errorCode ?? 0) / 1000), 401);
    assert.equal(typeof (err.result as { trackingId?: unknown }).trackingId, 'string');
    assert.equal(typeof err.trackingId, 'string');
  });

  it('surfaces a certificate chaining to an unknown CA as a refusal', async () => {
    const stranger = await createRootCa({ commonName: 'stranger-root' });
    const device = await createDeviceCertificate({ commonName: 'x509-stranger', issuer: stranger });
    const err = await ProvisioningClient.create({
      host: 'localhost',
      port: g.mqttPort,
      idScope: g.idScope,
      ca: g.ca,
      x509: { cert: device.certificate.pem, key: device.privateKey.toPem() },
    })
      .register()
      .catch((e: unknown) => e);
    assert.ok(err instanceof DeviceError);
    assert.equal(err.code, 'ERR_DEVICE_REGISTRATION_REFUSED');
    assert.equal(err.status, 401);
  });

  it('fails with ERR_DEVICE_CONNECT_FAILED when the server certificate is not trusted', async () => {
    const err = await ProvisioningClient.create({
      host: 'localhost',
      port: g.mqttPort,
      idScope: g.idScope,
      registrationId: 'sas-dev-1',
      symmetricKey: deriveDeviceKey(groupKey, 'sas-dev-1'),
    })
      .register()
      .catch((e: unknown) => e);
    assert.ok(isDeviceError(err, 'ERR_DEVICE_CONNECT_FAILED'), String(err));
  });

  it('refuses bad options before connecting', () => {
    const base = { host: 'localhost', idScope: g.idScope, registrationId: 'x' };
    assert.throws(() => ProvisioningClient.create(base), { code: 'ERR_DEVICE_INVALID_ARGUMENT' });
    assert.throws(
      () =>
        ProvisioningClient.create({
          ...base,
          symmetricKey: 'a2V5',
          x509: { cert: 'c.pem', key: 'k.pem' },
        }),
      { code: 'ERR_DEVICE_INVALID_ARGUMENT' },
    );
    assert.throws(
      () => ProvisioningClient.create({ host: 'localhost', idScope: 's', symmetricKey: 'a2V5' }),
      {
        code: 'ERR_DEVICE_INVALID_ARGUMENT',
      },
    );
  });
});
