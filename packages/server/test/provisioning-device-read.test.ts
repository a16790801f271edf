/**
 * A registration reads the device row once: attestation reads it (to refuse a blocked device),
 * and the assignment uses what it found. Real server, DPS over MQTT/TLS; the row is still read
 * fresh for every registration, so the log says rightly whether the device existed, and a
 * device blocked between two registrations is refused.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import mqtt from 'mqtt';
import { pino } from 'pino';
import { createDeviceCertificate, createRootCa, type Issued } from '@gatehouse/pki';
import { ProvisioningStore } from '../src/provisioning/provisioning-store.js';
import { base64Pem } from './helpers/pki-files.js';
import { startTestServer, type TestServer } from './helpers/test-server.js';

interface Reply {
  status: number;
  body: Record<string, unknown>;
}

/** register → 202 → operation status, as the SDK does; the last reply. */
async function provision(server: TestServer, device: Issued): Promise<Reply> {
  const id = device.certificate.subjectCN!;
  const client = await mqtt.connectAsync(`mqtts://127.0.0.1:${server.mqtt.port}`, {
    protocolVersion: 4,
    clientId: id,
    username: `${server.idScope}/registrations/${id}/api-version=2019-03-31`,
    clean: true,
    reconnectPeriod: 0,
    ca: readFileSync(server.serverCaPath!),
    servername: 'localhost',
    cert: device.certificate.pem,
    key: device.privateKey.toPem(),
  });
  try {
    await client.subscribeAsync('$dps/registrations/res/#', { qos: 1 });
    const next = () =>
      new Promise<Reply>((resolve) =>
        client.once('message', (topic, payload) =>
          resolve({
            status: Number(/res\/(\d+)\//.exec(topic)?.[1]),
            body: JSON.parse(payload.toString()) as Record<string, unknown>,
          }),
        ),
      );
    let reply = next();
    await client.publishAsync(
      '$dps/registrations/PUT/iotdps-register/?$rid=1',
      JSON.stringify({ registrationId: id }),
      { qos: 1 },
    );
    const accepted = await reply;
    if (accepted.status !== 202) return accepted;
    reply = next();
    await client.publishAsync(
      `$dps/registrations/GET/iotdps-get-operationstatus/?$rid=2&operationId=${String(accepted.body['operationId'])}`,
      ' ',
      { qos: 1 },
    );
    return await reply;
  } finally {
    await client.endAsync();
  }
}

test('one device-row read per registration; existed and blocked are still right', async (t) => {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean))
        lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const server = await startTestServer({ logger: pino({ level: 'info' }, sink) });
  t.after(() => server.stop());
  const root = await createRootCa({ commonName: 'read-once-root' });
  await server.api('PUT', '/api/enrollmentGroups/ReadOnce', {
    displayName: 'ReadOnce',
    type: 'iot',
    attestation: { type: 'x509' },
  });
  const up = await server.api('PUT', '/api/enrollmentGroups/ReadOnce/certificates/primary', {
    certificate: base64Pem(root.certificate),
    verified: true,
  });
  assert.equal(up.status, 200);
  const device = await createDeviceCertificate({ commonName: 'read-once-device', issuer: root });

  // Count reads of the devices table made through the provisioning store (the real method runs).
  const original = ProvisioningStore.prototype.getDevice;
  let reads = 0;
  ProvisioningStore.prototype.getDevice = function (this: ProvisioningStore, id: string) {
    reads++;
    return original.call(this, id);
  };
  t.after(() => {
    ProvisioningStore.prototype.getDevice = original;
  });

  const provisioned = () => lines.filter((l) => l['msg'] === 'device provisioned');
  const first = await provision(server, device);
  assert.equal(first.status, 200, JSON.stringify(first.body));
  assert.equal(first.body['status'], 'assigned');
  assert.equal(reads, 1, 'the first registration read the device row once');
  assert.equal(provisioned().at(-1)?.['existed'], false);

  const second = await provision(server, device);
  assert.equal(second.status, 200, JSON.stringify(second.body));
  assert.equal(reads, 2, 'the second registration read it once more');
  assert.equal(provisioned().at(-1)?.['existed'], true);

  // Blocked after provisioning: the one read still refuses it.
  const blocked = await server.api('PATCH', '/api/devices/read-once-device', { enabled: false });
  assert.equal(blocked.status, 200, JSON.stringify(blocked.body));
  const refused = await provision(server, device);
  assert.equal(refused.status, 401);
  assert.equal(reads, 3);
  const attempts = await server.api<{ value: Array<{ reason: { code: string } }> }>(
    'GET',
    '/api/provisioning/attempts?registrationId=read-once-device',
  );
  assert.equal(attempts.body.value[0]?.reason.code, 'ERR_DPS_DEVICE_DISABLED');
});
