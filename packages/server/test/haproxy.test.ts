/**
 * A real HAProxy in front of a real server, configured as CLUSTER.md §6.6 recommends (mode tcp,
 * TLS passthrough, send-proxy-v2, `option httpchk GET /readyz`, on-marked-down
 * shutdown-sessions), on free loopback ports. The device connects from 127.0.0.3, HAProxy
 * reaches the server from 127.0.0.2 (`source`), the only trusted proxy: the server must record
 * 127.0.0.3. Skipped with a one-line reason when HAProxy is not installed, unless
 * GATEHOUSE_REQUIRE_HAPROXY=1.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import type { MqttClient } from 'mqtt';

import { freePort, haproxySkipReason, startHaproxy, type Haproxy } from './helpers/haproxy.js';
import { sasFleet, type SasFleet } from './helpers/sas-device.js';
import { captureLogger, type CapturedLogger } from './helpers/gateway-harness.js';
import { startTestServer, type TestServer } from './helpers/test-server.js';

const DEVICE_ADDRESS = '127.0.0.3';
const PROXY_ADDRESS = '127.0.0.2';

describe('HAProxy (mode tcp, send-proxy-v2) in front of Gatehouse', { skip: haproxySkipReason() }, () => {
  let server: TestServer;
  let haproxy: Haproxy;
  let fleet: SasFleet;
  let log: CapturedLogger;
  let storeUp = true;
  let via: () => Parameters<typeof sasFleet>[2];
  const clients: MqttClient[] = [];

  before(async () => {
    log = captureLogger();
    server = await startTestServer({
      logger: log.logger,
      proxyProtocol: 'v2',
      proxyTrusted: [`${PROXY_ADDRESS}/32`],
    });
    server.readiness.register('fake-store', () => storeUp);
    const frontPort = await freePort();
    haproxy = await startHaproxy(
      [
        'global',
        '  maxconn 200',
        'defaults',
        '  mode tcp',
        '  timeout connect 2s',
        '  timeout client 330s',
        '  timeout server 330s',
        '  timeout check 2s',
        '  retries 3',
        '  option redispatch',
        'frontend devices',
        `  bind 127.0.0.1:${frontPort}`,
        '  default_backend nodes',
        'backend nodes',
        '  balance leastconn',
        '  option httpchk GET /readyz',
        `  server n1 127.0.0.1:${server.mqtt.port} send-proxy-v2 source ${PROXY_ADDRESS} check port ${server.http.port} inter 200 fall 2 rise 1 on-marked-down shutdown-sessions`,
        '',
      ].join('\n'),
      frontPort,
    );
    const group = await server.api<{ attestation: { symmetricKey: { primaryKey: string } } }>(
      'GET',
      '/api/enrollmentGroups/SAS-IoT-Devices',
    );
    via = () => ({
      url: `mqtts://127.0.0.1:${frontPort}`,
      // Passed on to net.connect by MQTT.js's TLS transport: the device's source address.
      options: { localAddress: DEVICE_ADDRESS } as never,
    });
    fleet = sasFleet(server, group.body.attestation.symmetricKey.primaryKey, via());
  });
  after(async () => {
    for (const c of clients) c.end(true);
    await haproxy?.stop();
    await server?.stop();
  });

  it('a device provisions and connects through HAProxy; the server records its own address', async () => {
    const device = await fleet.connect('behind-haproxy');
    clients.push(device);
    await device.publishAsync('devices/behind-haproxy/messages/events/', '{"temp":21}', { qos: 1 });
    const connected = log.lines.find(
      (l) => l['msg'] === 'hub device connected' && l['deviceId'] === 'behind-haproxy',
    );
    assert.equal(connected?.['remoteAddress'], DEVICE_ADDRESS, 'the device, not HAProxy');
    assert.ok(
      log.lines.some((l) => l['msg'] === 'dps connection accepted' && l['remoteAddress'] === DEVICE_ADDRESS),
    );
    // Refusals of HAProxy's own connections (from PROXY_ADDRESS). Other test files share the
    // loopback and may still dial a port this server now holds (another suite's load balancer
    // after its node stopped): those come from other addresses and are not this test's concern.
    const refused = log.lines.filter(
      (l) => String(l['code'] ?? '').startsWith('ERR_PROXY_') && l['remoteAddress'] === PROXY_ADDRESS,
    );
    assert.deepEqual(refused, [], 'no refusal of HAProxy connections');
  });

  it('a refused provisioning attempt through HAProxy is recorded with the device address', async () => {
    const impostor = sasFleet(server, Buffer.from('not the group key').toString('base64'), via());
    await assert.rejects(impostor.connect('impostor'), /res\/401\//);
    const attempts = await server.api<{ value: Array<{ clientAddress?: string; reason: { code: string } }> }>(
      'GET',
      '/api/provisioning/attempts?registrationId=impostor',
    );
    assert.equal(attempts.body.value[0]?.reason.code, 'ERR_DPS_SAS_BAD_SIGNATURE');
    assert.equal(attempts.body.value[0]?.clientAddress, DEVICE_ADDRESS);
  });

  it('a failing readiness check takes the node out: HAProxy ends its sessions and sends no new one', async () => {
    const device = await fleet.connect('marked-down');
    clients.push(device);
    const closed = new Promise<void>((resolve) => device.once('close', () => resolve()));
    storeUp = false;
    try {
      // HAProxy polls /readyz every 200 ms; two 503 answers mark the server down (fall 2).
      await closed;
      await assert.rejects(fleet.connect('while-down'));
    } finally {
      storeUp = true;
    }
    // rise 1: the next 200 answers bring it back.
    const deadline = Date.now() + 5_000;
    for (;;) {
      try {
        clients.push(await fleet.connect('marked-down'));
        break;
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  });
});
