/**
 * The real Azure SDK against TLS 1.2-only and TLS 1.3-only device ports (HARDENING.md §4 and
 * §8 T2): an X.509 enrollment-group device, an individual X.509 device and a SAS device each
 * provision (azure-iot-provisioning-device) and send telemetry (azure-iot-device), over Mqtt,
 * MqttWs and Http, and the telemetry is read back through the REST API. Every TLS connection
 * is relayed through a tap that reads the server's ServerHello: each one negotiated the
 * profile's version with a suite of the profile. One server per profile; the three devices of
 * a transport run at once. The SDK fixes the ports (8883 MQTT, 443 HTTPS/WSS), where the taps
 * listen: this file holds both locks, 8883 first.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { connect, type SecureVersion } from 'node:tls';
import { after, before, describe, it } from 'node:test';

import {
  provisionWithSdk,
  sdkCredential,
  sdkEnrollments,
  startSdkDevice,
  type CredentialKind,
  type SdkEnrollments,
  type SdkTransport,
} from './helpers/azure-credentials.js';
import type { AzureHubDevice } from './helpers/azure-hub.js';
import { holdPortLock } from './helpers/port-lock.js';
import { startTestServer, type TestServer } from './helpers/test-server.js';
import { TlsTap, type Handshake } from './helpers/tls-tap.js';

/** Mozilla intermediate's suites per version (tls-profile.ts). */
const TLS12_SUITES = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
];
const TLS13_SUITES = ['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256'];

const PROFILES: {
  name: string;
  tag: string;
  versions: { minVersion?: SecureVersion; maxVersion?: SecureVersion };
  version: SecureVersion;
  suites: string[];
}[] = [
  {
    name: 'TLS 1.2-only',
    tag: 'tls12',
    versions: { maxVersion: 'TLSv1.2' },
    version: 'TLSv1.2',
    suites: TLS12_SUITES,
  },
  {
    name: 'TLS 1.3-only',
    tag: 'tls13',
    versions: { minVersion: 'TLSv1.3' },
    version: 'TLSv1.3',
    suites: TLS13_SUITES,
  },
];
const KINDS: CredentialKind[] = ['x509-group', 'x509-individual', 'sas-group'];
const TRANSPORTS: SdkTransport[] = ['mqtt', 'mqttws', 'http'];
/** The port each SDK transport connects to, provisioning and hub alike. */
const SDK_PORT: Record<SdkTransport, 8883 | 443> = { mqtt: 8883, mqttws: 443, http: 443 };

/** "TLSv1.3 TLS_AES_256_GCM_SHA384 ×6": what a list of handshakes negotiated, counted. */
function summary(handshakes: Handshake[]): string {
  const counts = new Map<string, number>();
  for (const h of handshakes)
    counts.set(`${h.version} ${h.cipher}`, (counts.get(`${h.version} ${h.cipher}`) ?? 0) + 1);
  return [...counts].map(([k, n]) => `${k} ×${n}`).join(', ');
}

describe(
  'the real Azure SDK against TLS 1.2-only and TLS 1.3-only device ports',
  { concurrency: false },
  () => {
    const releases: Array<() => void> = [];
    const figures: Record<string, string> = {};

    before(async () => {
      releases.push(await holdPortLock(8883));
      releases.push(await holdPortLock(443));
    });

    after(() => {
      for (const release of releases.reverse()) release();
      console.log(`# TLS versions negotiated with the Azure SDK: ${JSON.stringify(figures, null, 1)}`);
    });

    for (const profile of PROFILES) {
      describe(profile.name, { concurrency: false }, () => {
        let server: TestServer;
        let enrollments: SdkEnrollments;
        const taps = new Map<8883 | 443, TlsTap>();
        const devices: AzureHubDevice[] = [];

        before(async () => {
          server = await startTestServer({ tlsVersions: profile.versions });
          assert.ok(server.https, `the HTTPS listener is up (${server.httpsError ?? ''})`);
          taps.set(8883, new TlsTap(8883, { host: '127.0.0.1', port: server.mqtt.port }));
          taps.set(443, new TlsTap(443, { host: '127.0.0.1', port: server.https.port }));
          for (const tap of taps.values()) await tap.start();
          enrollments = await sdkEnrollments(server, `tls-${profile.tag}`);
        });

        after(async () => {
          for (const d of devices) await d.stop();
          for (const tap of taps.values()) await tap.stop();
          await server?.stop();
        });

        it('the tap reads the version and suite a TLS client negotiated', async () => {
          const tap = taps.get(8883)!;
          const from = tap.handshakes.length;
          const seen = await new Promise<string>((resolve, reject) => {
            const socket = connect(
              {
                host: '127.0.0.1',
                port: 8883,
                ca: readFileSync(server.serverCaPath!),
                servername: 'localhost',
              },
              () => {
                resolve(`${socket.getProtocol()} ${socket.getCipher().name}`);
                socket.destroy();
              },
            );
            socket.once('error', reject);
          });
          const [handshake] = tap.since(from);
          assert.ok(handshake, 'the tap recorded the handshake');
          assert.equal(`${handshake.version} ${handshake.cipher}`, seen);
          assert.equal(handshake.version, profile.version);
        });

        for (const transport of TRANSPORTS) {
          it(`${transport}: X.509 group, individual X.509 and SAS devices provision and send telemetry over ${profile.version}`, async () => {
            const tap = taps.get(SDK_PORT[transport])!;
            const from = tap.handshakes.length;
            await Promise.all(
              KINDS.map(async (kind) => {
                const c = await sdkCredential(enrollments, kind, `${kind}-${transport}`);
                const reg = await provisionWithSdk(server, c, transport);
                assert.equal(reg.ok, true, `${kind}/${transport}: ${JSON.stringify(reg.error)}`);
                assert.equal(reg.result?.deviceId, c.registrationId);
                assert.equal(reg.result?.assignedHub, 'localhost');

                const device = startSdkDevice(server, c, transport, { TELEMETRY_COUNT: '1' });
                devices.push(device);
                await device.waitFor((e) => e.event === 'sent', 30_000, `${kind}/${transport} telemetry`);
                const latest = await server.api<{ value: number }>(
                  'GET',
                  `/api/devices/${c.registrationId}/telemetry/temp`,
                );
                assert.equal(latest.status, 200, `${kind}/${transport}: ${JSON.stringify(latest.body)}`);
                assert.equal(latest.body.value, 20);
                await device.stop();
              }),
            );
            // Each device made at least two connections (provisioning, hub), all through this tap.
            const handshakes = tap.since(from);
            figures[`${profile.name} ${transport}`] = summary(handshakes);
            assert.ok(
              handshakes.length >= 2 * KINDS.length,
              `${handshakes.length} handshakes seen on ${SDK_PORT[transport]}: ${summary(handshakes)}`,
            );
            for (const h of handshakes) {
              assert.equal(h.version, profile.version, `negotiated: ${summary(handshakes)}`);
              assert.ok(profile.suites.includes(h.cipher), `a suite outside the profile: ${h.cipher}`);
            }
          });
        }
      });
    }
  },
);
