/**
 * The packets themselves, captured by a scripted endpoint and compared with what the Azure
 * SDK was observed to send (PROTOCOL.md §1.2–§1.6, §3.1–§3.3, §6.1).
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { IConnectPacket, IPublishPacket, ISubscribePacket, Packet } from 'mqtt-packet';
import { parseSharedAccessSignature, verifySharedAccessSignature } from '@gatehouse/protocol';
import { HubClient, ProvisioningClient } from '../src/index.js';
import { startScriptedEndpoint, type ScriptedEndpoint } from './helpers/scripted-endpoint.js';

const KEY = Buffer.alloc(32, 3).toString('base64');

function ridOf(topic: string): string {
  return new URLSearchParams(topic.slice(topic.indexOf('?') + 1)).get('$rid') ?? '';
}

describe('captured packets', () => {
  const endpoints: ScriptedEndpoint[] = [];
  after(async () => {
    for (const e of endpoints) await e.close();
  });

  it('DPS: CONNECT, SUBSCRIBE, register with a fresh $rid per retry, poll with " ", UNSUBSCRIBE, DISCONNECT', async () => {
    let registers = 0;
    const endpoint = await startScriptedEndpoint((packet, reply) => {
      switch (packet.cmd) {
        case 'connect':
          return reply({ cmd: 'connack', returnCode: 0, sessionPresent: false });
        case 'subscribe':
          return reply({ cmd: 'suback', messageId: packet.messageId ?? 0, granted: [1] });
        case 'unsubscribe':
          return reply({ cmd: 'unsuback', messageId: packet.messageId ?? 0, granted: [] });
        case 'publish': {
          reply({ cmd: 'puback', messageId: packet.messageId ?? 0 });
          const rid = ridOf(packet.topic);
          const answer = (status: number, body: unknown, retryAfter?: number): void =>
            reply({
              cmd: 'publish',
              qos: 0,
              dup: false,
              retain: false,
              topic:
                `$dps/registrations/res/${status}/?$rid=${rid}` +
                (retryAfter === undefined ? '' : `&retry-after=${retryAfter}`),
              payload: JSON.stringify(body),
            });
          if (packet.topic.startsWith('$dps/registrations/PUT/iotdps-register/')) {
            registers++;
            if (registers === 1) return answer(429, { errorCode: 429001, message: 'throttled' }, 0.05);
            return answer(202, { operationId: '5.abc.1', status: 'assigning' }, 0.05);
          }
          return answer(200, {
            operationId: '5.abc.1',
            status: 'assigned',
            registrationState: {
              registrationId: 'dev-1',
              assignedHub: 'hub.local',
              deviceId: 'dev-1',
              status: 'assigned',
              substatus: 'initialAssignment',
              extra: 'kept',
            },
          });
        }
        default:
          return;
      }
    });
    endpoints.push(endpoint);
    const result = await ProvisioningClient.create({
      host: 'localhost',
      port: endpoint.port,
      idScope: '0ne0000ABCD',
      registrationId: 'dev-1',
      symmetricKey: KEY,
      ca: endpoint.ca,
      payload: { a: 1 },
    }).register();
    assert.equal(result.assignedHub, 'hub.local');
    assert.equal((result as unknown as Record<string, unknown>)['extra'], 'kept');
    await new Promise((r) => setTimeout(r, 100));

    const cmds = endpoint.packets.map((p: Packet) => p.cmd);
    assert.deepEqual(cmds, [
      'connect',
      'subscribe',
      'publish',
      'publish',
      'publish',
      'unsubscribe',
      'disconnect',
    ]);
    const connect = endpoint.packets[0] as IConnectPacket;
    assert.equal(connect.protocolId, 'MQTT');
    assert.equal(connect.protocolVersion, 4);
    assert.equal(connect.clientId, 'dev-1');
    assert.equal(connect.clean, true);
    assert.equal(connect.keepalive, 180);
    assert.equal(connect.will, undefined);
    assert.match(
      connect.username ?? '',
      /^0ne0000ABCD\/registrations\/dev-1\/api-version=2019-03-31&ClientVersion=gatehouse-device%2F[0-9.]+$/,
    );
    const password = connect.password?.toString() ?? '';
    assert.match(
      password,
      /^SharedAccessSignature sr=0ne0000ABCD\/registrations\/dev-1&sig=[^&]+&skn=registration&se=\d+$/,
    );
    const token = parseSharedAccessSignature(password);
    assert.equal(verifySharedAccessSignature(token, { keys: [KEY], now: Math.floor(Date.now() / 1000) }), 0);
    assert.ok(Math.abs(token.se - (Date.now() / 1000 + 3600)) < 5);

    const subscribe = endpoint.packets[1] as ISubscribePacket;
    assert.deepEqual(subscribe.subscriptions, [{ topic: '$dps/registrations/res/#', qos: 1 }]);
    const [reg1, reg2, poll] = endpoint.packets.slice(2, 5) as IPublishPacket[];
    assert.ok(reg1 && reg2 && poll);
    for (const reg of [reg1, reg2]) {
      assert.match(reg.topic, /^\$dps\/registrations\/PUT\/iotdps-register\/\?\$rid=[0-9a-f-]{36}$/);
      assert.equal(reg.qos, 1);
      assert.deepEqual(JSON.parse(reg.payload.toString()), { registrationId: 'dev-1', payload: { a: 1 } });
    }
    assert.notEqual(ridOf(reg1.topic), ridOf(reg2.topic), 'a retry gets a new $rid');
    assert.match(
      poll.topic,
      /^\$dps\/registrations\/GET\/iotdps-get-operationstatus\/\?\$rid=[0-9a-f-]{36}&operationId=5\.abc\.1$/,
    );
    assert.equal(poll.qos, 1);
    assert.equal(poll.payload.toString(), ' ');
  });

  it('hub: CONNECT with clean=false, the SDK username and an encoded-sr token; telemetry QoS 1', async () => {
    const endpoint = await startScriptedEndpoint((packet, reply) => {
      if (packet.cmd === 'connect') reply({ cmd: 'connack', returnCode: 0, sessionPresent: false });
      if (packet.cmd === 'publish' && packet.qos === 1)
        reply({ cmd: 'puback', messageId: packet.messageId ?? 0 });
    });
    endpoints.push(endpoint);
    const client = HubClient.fromConnectionString(
      `HostName=localhost;DeviceId=dev-1;SharedAccessKey=${KEY}`,
      {
        port: endpoint.port,
        ca: endpoint.ca,
        modelId: 'dtmi:com:example:Thermostat;1',
      },
    );
    await client.open();
    await client.sendEvent({ t: 1 }, { messageId: 'm1' });
    await client.close();
    const connect = endpoint.packets[0] as IConnectPacket;
    assert.equal(connect.clientId, 'dev-1');
    assert.equal(connect.clean, false);
    assert.equal(connect.keepalive, 180);
    assert.match(
      connect.username ?? '',
      /^localhost\/dev-1\/\?api-version=2021-04-12&model-id=dtmi:com:example:Thermostat;1&DeviceClientType=gatehouse-device%2F[0-9.]+%20\(node%20v/,
    );
    const password = connect.password?.toString() ?? '';
    assert.match(password, /^SharedAccessSignature sr=localhost%2Fdevices%2Fdev-1&sig=[^&]+&se=\d+$/);
    const token = parseSharedAccessSignature(password);
    assert.equal(verifySharedAccessSignature(token, { keys: [KEY], now: Math.floor(Date.now() / 1000) }), 0);
    const telemetry = endpoint.packets.find((p): p is IPublishPacket => p.cmd === 'publish');
    assert.ok(telemetry);
    assert.equal(
      telemetry.topic,
      'devices/dev-1/messages/events/%24.mid=m1&%24.ct=application%2Fjson&%24.ce=utf-8',
    );
    assert.equal(telemetry.qos, 1);
    assert.equal(telemetry.retain, false);
    assert.equal(
      endpoint.packets.filter((p) => p.cmd === 'subscribe').length,
      0,
      'open() subscribes nothing',
    );
    assert.equal(endpoint.packets.at(-1)?.cmd, 'disconnect');
  });
});
