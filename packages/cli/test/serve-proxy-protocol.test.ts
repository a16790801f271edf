/**
 * A real `gatehouse serve` started with GATEHOUSE_PROXY_PROTOCOL=v2 and
 * GATEHOUSE_PROXY_TRUSTED=127.0.0.2: a device behind the "proxy" (a PROXY v2 header written by
 * the test from 127.0.0.2) is recorded under the header's address, a device on 127.0.0.1
 * still connects directly, and the trusted address without a header is refused and counted.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { after, describe, it } from 'node:test';

import { encodeProxyV2 } from '@gatehouse/server';
import { deriveDeviceKey, dpsSasResource, signSharedAccessSignature } from '@gatehouse/protocol';
import { MqttClient } from 'mqtt';

import { connectSasDevice, sasGroupKey } from './helpers/sas-devices.js';
import { killServeProcesses, startServeProcess, type ServeProcess } from './helpers/serve-process.js';

const TOKEN = 'proxy-test-token-0123456789abcdef';
const PROXY = '127.0.0.2';

describe('gatehouse serve --proxy-protocol v2 (from the environment)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'gatehouse-proxy-'));
  let s: ServeProcess;
  after(() => {
    killServeProcesses();
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** A DPS registration with a wrong key, through a PROXY header claiming `source`. */
  async function refusedThroughProxy(id: string, source: string): Promise<void> {
    const header = encodeProxyV2({
      command: 'proxy',
      source: { address: source, port: 41000 },
      destination: { address: '127.0.0.1', port: s.mqttPort },
    });
    const client = new MqttClient(
      () => {
        const tcp = netConnect({ host: '127.0.0.1', port: s.mqttPort, localAddress: PROXY });
        tcp.write(header);
        return tlsConnect({ socket: tcp, ca: readFileSync(s.caPath), servername: 'localhost' });
      },
      {
        clientId: id,
        username: `${s.idScope}/registrations/${id}/api-version=2019-03-31`,
        password: signSharedAccessSignature({
          resource: dpsSasResource(s.idScope, id),
          key: deriveDeviceKey(Buffer.from('wrong group key').toString('base64'), id),
          expiry: Math.floor(Date.now() / 1000) + 600,
          keyName: 'registration',
        }),
        protocolVersion: 4,
        reconnectPeriod: 0,
      },
    );
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
    });
    await client.subscribeAsync('$dps/registrations/res/#', { qos: 1 });
    const reply = new Promise<string>((resolve) => client.once('message', (topic) => resolve(topic)));
    await client.publishAsync(
      '$dps/registrations/PUT/iotdps-register/?$rid=1',
      JSON.stringify({ registrationId: id }),
    );
    assert.match(await reply, /res\/401\//);
    await client.endAsync();
  }

  it('records the header’s address, lets direct devices in, refuses the proxy without a header', async () => {
    s = await startServeProcess({
      dataDir,
      token: TOKEN,
      env: { GATEHOUSE_PROXY_PROTOCOL: 'v2', GATEHOUSE_PROXY_TRUSTED: `${PROXY}/32,10.0.0.0/8` },
    });
    await refusedThroughProxy('through-proxy', '198.51.100.77');
    const attempts = await fetch(`${s.url}/api/provisioning/attempts?registrationId=through-proxy`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    const [attempt] = ((await attempts.json()) as { value: Array<{ clientAddress?: string }> }).value;
    assert.equal(attempt?.clientAddress, '198.51.100.77');

    // A device outside --proxy-trusted connects directly, as before.
    const direct = await connectSasDevice(s, await sasGroupKey(s, TOKEN), 'direct-device');
    assert.equal(direct.connected, true);
    await direct.endAsync();

    // The trusted address without a header: closed before TLS, counted by code.
    const bare = tlsConnect({
      socket: netConnect({ host: '127.0.0.1', port: s.mqttPort, localAddress: PROXY }),
      ca: readFileSync(s.caPath),
      servername: 'localhost',
    });
    await new Promise<void>((resolve) => bare.once('error', () => resolve()).once('close', () => resolve()));
    const metrics = await (await fetch(`${s.url}/metrics`)).text();
    assert.match(
      metrics,
      /gatehouse_proxy_protocol_refusals_total\{code="ERR_PROXY_HEADER_MISSING",listener="mqtts"\} 1/,
    );
    // The log line reaches this process through the child's stdout a moment after the metric.
    for (let i = 0; i < 50 && !/ERR_PROXY_HEADER_MISSING/.test(s.out()); i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.match(s.out(), /ERR_PROXY_HEADER_MISSING/, 'the refusal is logged (warn)');
    assert.equal(await s.stop(), 0);
  });
});
