/**
 * A device connecting with `model-id` in its MQTT username gets the template of that model
 * (raw MQTT.js, SAS, against a real server): a built-in's capability model, a template ID,
 * an unknown model or none leaving the device unassigned, and a template it already has kept.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import mqtt from 'mqtt';
import { deriveDeviceKey, hubSasResource, signSharedAccessSignature } from '@gatehouse/protocol';

import { SENSOR, THERMOSTAT } from './helpers/device-templates-fixtures.js';
import { startTestServer, type TestServer } from './helpers/test-server.js';

function hubPassword(id: string, key: string): string {
  return signSharedAccessSignature({
    resource: encodeURIComponent(hubSasResource('localhost', id)),
    key,
    expiry: Math.floor(Date.now() / 1000) + 3600,
  });
}

describe('a hub connection with model-id assigns the template', () => {
  let server: TestServer;
  let groupKey: string;

  before(async () => {
    server = await startTestServer();
    const g = await server.api<{ attestation: { symmetricKey: { primaryKey: string } } }>(
      'GET',
      '/api/enrollmentGroups/SAS-IoT-Devices',
    );
    groupKey = g.body.attestation.symmetricKey.primaryKey;
  });
  after(async () => server?.stop());

  /** A device row with SAS credentials (as provisioning writes it), then an MQTT CONNECT as the SDK sends it. */
  async function connectWithModel(id: string, modelId: string | undefined): Promise<void> {
    const key = deriveDeviceKey(groupKey, id);
    await server.db
      .insertInto('devices')
      .values({
        id,
        display_name: id,
        template: null,
        enabled: 1,
        provisioned: 1,
        simulated: 0,
        auth_type: 'sas',
        x509_primary_sha1: null,
        x509_primary_sha256: null,
        x509_secondary_sha1: null,
        x509_secondary_sha256: null,
        sas_primary_key: key,
        sas_secondary_key: key,
        enrollment_group_id: 'SAS-IoT-Devices',
        assigned_hub: 'localhost',
        etag: 'e',
        created_at: new Date().toISOString(),
        updated_at: new Date().toISOString(),
      })
      .execute();
    const client = await mqtt.connectAsync(`mqtts://127.0.0.1:${server.mqtt.port}`, {
      protocolVersion: 4,
      clientId: id,
      username: `localhost/${id}/?api-version=2021-04-12${modelId ? `&model-id=${modelId}` : ''}&DeviceClientType=test`,
      password: hubPassword(id, key),
      reconnectPeriod: 0,
      ca: readFileSync(server.serverCaPath!),
      servername: 'localhost',
    });
    await client.endAsync();
  }

  async function templateOf(id: string): Promise<string | undefined> {
    for (let i = 0; i < 50; i++) {
      const d = await server.api<{ template?: string }>('GET', `/api/devices/${id}`);
      if (d.body.template !== undefined) return d.body.template;
      await new Promise((r) => setTimeout(r, 20));
    }
    return undefined;
  }

  const CASES: Array<[string, string | undefined, string | undefined]> = [
    ['the capability model of a built-in', 'dtmi:com:example:Thermostat;1', THERMOSTAT],
    ['a template ID itself', SENSOR, SENSOR],
    ['an unknown model: stays unassigned', 'dtmi:com:example:Unknown;1', undefined],
    ['no model-id: stays unassigned', undefined, undefined],
  ];
  for (const [what, modelId, expected] of CASES) {
    it(`${what}`, async () => {
      const id = `mqtt-${CASES.findIndex((c) => c[0] === what)}`;
      await connectWithModel(id, modelId);
      assert.equal(await templateOf(id), expected);
    });
  }

  it('keeps a template the device already has', async () => {
    await connectWithModel('mqtt-kept', undefined);
    await server.api('PATCH', '/api/devices/mqtt-kept', { template: SENSOR });
    const key = deriveDeviceKey(groupKey, 'mqtt-kept');
    const client = await mqtt.connectAsync(`mqtts://127.0.0.1:${server.mqtt.port}`, {
      protocolVersion: 4,
      clientId: 'mqtt-kept',
      username: 'localhost/mqtt-kept/?api-version=2021-04-12&model-id=dtmi:com:example:Thermostat;1',
      password: hubPassword('mqtt-kept', key),
      reconnectPeriod: 0,
      ca: readFileSync(server.serverCaPath!),
      servername: 'localhost',
    });
    await client.endAsync();
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(await templateOf('mqtt-kept'), SENSOR);
  });
});
