/**
 * HubClient against a real Gatehouse server (PROTOCOL.md §3): devices provisioned with
 * ProvisioningClient connect with X.509 and SAS, and every feature is checked from the REST
 * side (CENTRAL_API.md).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createDeviceCertificate, createRootCa, type Issued } from '@gatehouse/pki';
import { deriveDeviceKey } from '@gatehouse/protocol';
import {
  HubClient,
  ProvisioningClient,
  isDeviceError,
  type CloudToDeviceMessage,
  type HubClientEvents,
} from '../src/index.js';
import { eventually, nextEvent, startGatehouse, subscribed, type Gatehouse } from './helpers/gatehouse.js';

describe('HubClient against a real server', () => {
  let g: Gatehouse;
  let device: Issued;
  let sasKey: string;
  let x509Client: HubClient | undefined;
  let sasClient: HubClient | undefined;

  before(async () => {
    g = await startGatehouse();
    const root = await createRootCa({ commonName: 'hub-sdk-root' });
    await g.api('PUT', '/api/enrollmentGroups/MyX509Group', {
      displayName: 'MyX509Group',
      type: 'iot',
      attestation: { type: 'x509' },
    });
    await g.api('PUT', '/api/enrollmentGroups/MyX509Group/certificates/primary', {
      certificate: Buffer.from(root.certificate.pem).toString('base64'),
      verified: true,
    });
    device = await createDeviceCertificate({ commonName: 'hub-x509-dev', issuer: root });
    await ProvisioningClient.create({
      host: 'localhost',
      port: g.mqttPort,
      idScope: g.idScope,
      ca: g.ca,
      x509: { cert: device.certificate.pem, key: device.privateKey.toPem() },
    }).register();
    const group = await g.api<{ attestation: { symmetricKey: { primaryKey: string } } }>(
      'GET',
      '/api/enrollmentGroups/SAS-IoT-Devices',
    );
    sasKey = deriveDeviceKey(group.body.attestation.symmetricKey.primaryKey, 'hub-sas-dev');
    await ProvisioningClient.create({
      host: 'localhost',
      port: g.mqttPort,
      idScope: g.idScope,
      registrationId: 'hub-sas-dev',
      ca: g.ca,
      symmetricKey: sasKey,
    }).register();
  });

  after(async () => {
    await x509Client?.close();
    await sasClient?.close();
    await g?.stop();
  });

  it('connects with x509=true and sends JSON telemetry that the REST API shows', async () => {
    x509Client = HubClient.fromConnectionString('HostName=localhost;DeviceId=hub-x509-dev;x509=true', {
      port: g.mqttPort,
      ca: g.ca,
      cert: device.certificate.pem,
      key: device.privateKey.toPem(),
      modelId: 'dtmi:com:example:Thermostat;1',
    });
    const connected = nextEvent<HubClientEvents['connected']>(x509Client, 'connected');
    await x509Client.open();
    assert.equal((await connected)[0].reason, 'open');
    assert.equal(x509Client.connected, true);
    await x509Client.sendEvent({ temp: 22 });
    const latest = await g.api<{ value: number }>('GET', '/api/devices/hub-x509-dev/telemetry/temp');
    assert.equal(latest.status, 200, JSON.stringify(latest.body));
    assert.equal(latest.body.value, 22);
    const d = await g.api<{ status: { connected: boolean } }>('GET', '/api/devices/hub-x509-dev');
    assert.equal(d.body.status.connected, true);
  });

  it('connects with SharedAccessKey and sends properties in the property bag like the SDK', async () => {
    sasClient = HubClient.fromConnectionString(
      `HostName=localhost;DeviceId=hub-sas-dev;SharedAccessKey=${sasKey}`,
      { port: g.mqttPort, ca: g.ca },
    );
    await sasClient.open();
    await sasClient.sendEvent(
      { humidity: 40 },
      { messageId: 'mid-1', correlationId: 'cid-1', properties: { alert: 'high temp', 'x/y': 'a&b=c' } },
    );
    await sasClient.sendEvent('plain text', { contentType: 'text/plain' });
    const history = await g.api<{
      value: Array<{
        body: unknown;
        properties: Record<string, string>;
        systemProperties: Record<string, string>;
      }>;
    }>('GET', '/api/devices/hub-sas-dev/telemetry');
    assert.equal(history.status, 200);
    const first = history.body.value.find((m) => m.systemProperties['$.mid'] === 'mid-1');
    assert.ok(first, JSON.stringify(history.body));
    assert.deepEqual(first.body, { humidity: 40 });
    assert.equal(first.systemProperties['$.cid'], 'cid-1');
    assert.equal(first.systemProperties['$.ct'], 'application/json');
    assert.equal(first.systemProperties['$.ce'], 'utf-8');
    assert.equal(first.properties['alert'], 'high temp');
    assert.equal(first.properties['x/y'], 'a&b=c');
    const latest = await g.api<{ value: number }>('GET', '/api/devices/hub-sas-dev/telemetry/humidity');
    assert.equal(latest.body.value, 40);
  });

  it('reads the twin and updates reported properties', async () => {
    const client = sasClient!;
    const version = await client.updateReportedProperties({ state: 'on', firmware: '1.0.0' });
    assert.equal(typeof version, 'number');
    const twin = await client.getTwin();
    assert.equal(twin.reported['state'], 'on');
    assert.equal(twin.reported.$version, version);
    assert.equal(typeof twin.desired.$version, 'number');
    const props = await eventually(
      () => g.api<Record<string, unknown>>('GET', '/api/devices/hub-sas-dev/properties'),
      (r) => r.body['state'] === 'on',
      'reported state in REST',
    );
    assert.equal(props.body['firmware'], '1.0.0');
  });

  it('emits a desired patch set through PATCH /properties', async () => {
    const client = sasClient!;
    const patch = nextEvent<HubClientEvents['desired']>(
      client,
      'desired',
      (p) => p['brightness'] !== undefined,
    );
    // Adding the listener sends the SUBSCRIBE asynchronously, like the SDK's (§3.2).
    await subscribed(g, 'hub-sas-dev', '$iothub/twin/PATCH/properties/desired/#');
    const set = await g.api('PATCH', '/api/devices/hub-sas-dev/properties', { brightness: 2 });
    assert.equal(set.status, 202, JSON.stringify(set.body));
    const [delta, version] = await patch;
    assert.equal(delta['brightness'], 2);
    assert.equal(delta['$version'], undefined);
    assert.equal(typeof version, 'number');
    const twin = await client.getTwin();
    assert.equal(twin.desired['brightness'], 2);
  });

  it('answers a direct method called through POST /commands, and 501 for an unknown method', async () => {
    const client = x509Client!;
    const seen: unknown[] = [];
    client.onDeviceMethod('blink', async (payload, request) => {
      seen.push(payload);
      assert.equal(request.methodName, 'blink');
      return { status: 200, payload: { status: `Blinking LED every ${String(payload)} seconds` } };
    });
    client.onDeviceMethod('fail', () => {
      throw new Error('boom');
    });
    await subscribed(g, 'hub-x509-dev', '$iothub/methods/POST/#');
    const r = await g.api<{ responseCode: number; response: { status: string } }>(
      'POST',
      '/api/devices/hub-x509-dev/commands/blink',
      { request: 3, responseTimeout: 10 },
    );
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(r.body.responseCode, 200);
    assert.equal(r.body.response.status, 'Blinking LED every 3 seconds');
    assert.deepEqual(seen, [3]);
    const failed = await g.api<{ responseCode: number; response: { message: string } }>(
      'POST',
      '/api/devices/hub-x509-dev/commands/fail',
      { responseTimeout: 10 },
    );
    assert.equal(failed.body.responseCode, 500);
    assert.equal(failed.body.response.message, 'boom');
    const unknown = await g.api<{ responseCode: number }>('POST', '/api/devices/hub-x509-dev/commands/nope', {
      responseTimeout: 10,
    });
    assert.equal(unknown.body.responseCode, 501);
  });

  it('delivers cloud-to-device messages with their properties', async () => {
    const client = x509Client!;
    const received = nextEvent<[CloudToDeviceMessage]>(client, 'message');
    await subscribed(g, 'hub-x509-dev', 'devices/hub-x509-dev/messages/devicebound/#');
    const sent = await g.api<{ state: string }>('POST', '/api/devices/hub-x509-dev/messages', {
      body: 'hello device',
      properties: { kind: 'greeting' },
    });
    assert.equal(sent.status, 201, JSON.stringify(sent.body));
    const [msg] = await received;
    assert.equal(msg.body.toString('utf8'), 'hello device');
    assert.equal(msg.properties['kind'], 'greeting');
    assert.equal(typeof msg.messageId, 'string');
    await eventually(
      () => g.api<{ value: Array<{ state: string }> }>('GET', '/api/devices/hub-x509-dev/messages'),
      (r) => r.body.value[0]?.state === 'delivered',
      'delivered state',
    );
  });

  it('refuses a wrong key with ERR_DEVICE_UNAUTHORIZED on open()', async () => {
    const bad = HubClient.create({
      host: 'localhost',
      port: g.mqttPort,
      deviceId: 'hub-sas-dev',
      symmetricKey: Buffer.alloc(32, 1).toString('base64'),
      ca: g.ca,
    });
    const err = await bad.open().catch((e: unknown) => e);
    assert.ok(isDeviceError(err, 'ERR_DEVICE_UNAUTHORIZED'), String(err));
    assert.equal(err.connackCode, 5);
    assert.equal(bad.connected, false);
    await assert.rejects(bad.sendEvent('x'), { code: 'ERR_DEVICE_NOT_OPEN' });
  });

  it('refuses bad connection strings and options up front', () => {
    for (const cs of [
      'HostName=localhost;DeviceId=d1',
      'HostName=localhost;DeviceId=d1;x509=true',
      'HostName=localhost;DeviceId=d1;ModuleId=m;SharedAccessKey=a2V5',
      'nonsense',
    ]) {
      assert.throws(() => HubClient.fromConnectionString(cs), { code: 'ERR_DEVICE_INVALID_ARGUMENT' }, cs);
    }
    assert.throws(() => HubClient.create({ host: 'localhost', deviceId: 'd1' }), {
      code: 'ERR_DEVICE_INVALID_ARGUMENT',
    });
  });

  it('closes cleanly: the hub sees the device disconnected, later calls reject', async () => {
    const client = sasClient!;
    const disconnected = nextEvent<HubClientEvents['disconnected']>(client, 'disconnected');
    await client.close();
    assert.equal((await disconnected)[0].reason, 'closed');
    await eventually(
      () => g.api<{ status: { connected: boolean } }>('GET', '/api/devices/hub-sas-dev'),
      (r) => r.body.status.connected === false,
      'disconnected in REST',
    );
    await assert.rejects(client.getTwin(), { code: 'ERR_DEVICE_NOT_OPEN' });
  });
});
