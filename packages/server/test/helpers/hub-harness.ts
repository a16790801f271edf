/**
 * A real hub for tests (STYLE.md §8, §10): a temp-file SQLite store, a HubService, the
 * gateway's MQTT/TLS listener on 127.0.0.1 port 0, a throwaway PKI, and MQTT.js clients that
 * connect the way the Azure SDK does (PROTOCOL.md §3.1): clientId = device ID, clean=false,
 * username `<host>/<deviceId>/?api-version=2021-04-12`, client certificate in TLS.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { createDeviceCertificate, createRootCa, createServerCertificate, type Issued } from '@gatehouse/pki';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';

import { startMqttTlsListener, type MqttListener } from '../../src/gateway/index.js';
import { HubService, type HubServiceOptions } from '../../src/hub/hub-service.js';
import { Metrics } from '../../src/metrics.js';
import { SqliteTelemetryStore } from '../../src/hub/telemetry-store.js';
import { openSqliteWithHandle, type SqliteStore } from '../../src/store/sqlite.js';
import { newEtag } from '../../src/util.js';
import { captureLogger, FakeDpsHandler, type CapturedLogger } from './gateway-harness.js';

export const HUB_HOST = 'localhost';

export interface HubPki {
  serverCa: Issued;
  server: Issued;
}

export async function createHubPki(): Promise<HubPki> {
  const serverCa = await createRootCa({ commonName: 'hub-test-server-ca' });
  const server = await createServerCertificate({
    commonName: 'localhost',
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1'],
    issuer: serverCa,
  });
  return { serverCa, server };
}

export interface HubHarness {
  dir: string;
  store: SqliteStore;
  hub: HubService;
  listener: MqttListener;
  log: CapturedLogger;
  metrics: Metrics;
  port: number;
  /** Stops hub and listener and closes the store (keeps the folder). */
  stop(): Promise<void>;
  /** Stops and deletes the folder. */
  destroy(): Promise<void>;
}

export async function startHub(
  pki: HubPki,
  options: { dir?: string; hub?: Partial<HubServiceOptions> } = {},
): Promise<HubHarness> {
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'gatehouse-hub-')));
  const store = await openSqliteWithHandle({ filename: join(dir, 'gatehouse.db') });
  const log = captureLogger();
  const metrics = new Metrics();
  const hub = new HubService({
    db: store.db,
    telemetryStore: new SqliteTelemetryStore(store.sqlite),
    hostName: HUB_HOST,
    logger: log.logger,
    metrics,
    ...options.hub,
  });
  hub.start();
  const listener = await startMqttTlsListener({
    host: '127.0.0.1',
    port: 0,
    key: pki.server.privateKey.toPem(),
    cert: pki.server.certificate.pem,
    dps: new FakeDpsHandler(),
    hub: hub.connectHandler(),
    logger: log.logger,
    metrics,
    closeGraceMs: 200,
  });
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await hub.stop();
    await listener.close();
    await store.db.destroy();
  };
  return {
    dir,
    store,
    hub,
    listener,
    log,
    metrics,
    port: listener.address().port,
    stop,
    async destroy() {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface DeviceRowOptions {
  enabled?: boolean;
  authType?: string;
  primary?: Issued;
  secondary?: Issued;
  /** Store SHA-1 (default) or SHA-256 thumbprints, or both. */
  thumbprints?: 'sha1' | 'sha256' | 'both' | 'none';
  /** Write stored thumbprints lower-case with colons (Node's format) to check normalisation. */
  colonCase?: boolean;
}

function styled(hex: string, colonCase: boolean | undefined): string {
  return colonCase ? (hex.toLowerCase().match(/../g) ?? []).join(':') : hex;
}

/** Inserts a hub device row directly (what provisioning would write). */
export async function insertDevice(h: HubHarness, id: string, o: DeviceRowOptions = {}): Promise<void> {
  const which = o.thumbprints ?? 'sha1';
  const pick = (cert: Issued | undefined, kind: 'sha1' | 'sha256') => {
    if (!cert || which === 'none' || (which !== 'both' && which !== kind)) return null;
    return styled(
      kind === 'sha1' ? cert.certificate.sha1Thumbprint : cert.certificate.sha256Thumbprint,
      o.colonCase,
    );
  };
  const time = new Date().toISOString();
  await h.store.db
    .insertInto('devices')
    .values({
      id,
      display_name: id,
      template: null,
      enabled: o.enabled === false ? 0 : 1,
      provisioned: 1,
      simulated: 0,
      auth_type: o.authType ?? (o.primary ? 'x509Thumbprint' : 'x509CA'),
      x509_primary_sha1: pick(o.primary, 'sha1'),
      x509_primary_sha256: pick(o.primary, 'sha256'),
      x509_secondary_sha1: pick(o.secondary, 'sha1'),
      x509_secondary_sha256: pick(o.secondary, 'sha256'),
      sas_primary_key: null,
      sas_secondary_key: null,
      enrollment_group_id: null,
      assigned_hub: HUB_HOST,
      etag: newEtag(),
      created_at: time,
      updated_at: time,
    })
    .execute();
}

/** An enrollment group with one CA certificate, verified or not. */
export async function insertGroupCa(
  h: HubHarness,
  groupId: string,
  ca: Issued,
  verified: boolean,
): Promise<void> {
  const time = new Date().toISOString();
  await h.store.db
    .insertInto('enrollment_groups')
    .values({
      id: groupId,
      display_name: groupId,
      type: 'iot',
      attestation_type: 'x509',
      enabled: 1,
      primary_key: null,
      secondary_key: null,
      etag: newEtag(),
      created_at: time,
      updated_at: time,
    })
    .execute();
  await h.store.db
    .insertInto('group_certificates')
    .values({
      group_id: groupId,
      entry: 'primary',
      pem: ca.certificate.pem,
      sha1: ca.certificate.sha1Thumbprint,
      sha256: ca.certificate.sha256Thumbprint,
      subject: ca.certificate.subject,
      not_after: ca.certificate.notAfter.toISOString(),
      verified: verified ? 1 : 0,
      verification_code: null,
      code_expires_at: null,
      etag: newEtag(),
      created_at: time,
    })
    .execute();
}

/** A self-signed device certificate (CN = device ID), as `gatehouse cert device <id>` makes. */
export function selfSigned(id: string): Promise<Issued> {
  return createDeviceCertificate({ commonName: id });
}

export interface DeviceConnectOptions extends Partial<IClientOptions> {
  /** The device's certificate; its chain is sent in full when `fullChain`. */
  identity?: Issued;
  fullChain?: boolean;
}

const sessionPresentOf = new WeakMap<MqttClient, boolean>();

/** The CONNACK sessionPresent flag the client received. */
export function sessionPresent(client: MqttClient): boolean | undefined {
  return sessionPresentOf.get(client);
}

/** Connects like azure-iot-device-mqtt; resolves with the client, rejects with the CONNACK error. */
export async function connectDevice(
  h: { port: number },
  pki: HubPki,
  deviceId: string,
  o: DeviceConnectOptions = {},
): Promise<MqttClient> {
  const { identity, fullChain, ...rest } = o;
  const client = mqtt.connect(`mqtts://127.0.0.1:${h.port}`, {
    ca: pki.serverCa.certificate.pem,
    servername: 'localhost',
    rejectUnauthorized: true,
    clientId: deviceId,
    username: `${HUB_HOST}/${deviceId}/?api-version=2021-04-12&DeviceClientType=azure-iot-device%2F1.18.4`,
    protocolVersion: 4,
    clean: false,
    keepalive: 180,
    reconnectPeriod: 0,
    connectTimeout: 5000,
    ...(identity
      ? {
          cert: (fullChain ? identity.chain : [identity.certificate]).map((c) => c.pem).join(''),
          key: identity.privateKey.toPem(),
        }
      : {}),
    ...rest,
  });
  try {
    await new Promise<void>((resolve, reject) => {
      client.once('connect', (connack) => {
        sessionPresentOf.set(client, connack.sessionPresent);
        resolve();
      });
      client.once('error', reject);
      client.once('close', () => reject(new Error('closed before CONNACK')));
    });
  } catch (err) {
    client.end(true);
    throw err;
  }
  client.on('error', () => undefined);
  return client;
}

/** The CONNACK return code of a refused connection. */
export async function connackCode(promise: Promise<MqttClient>): Promise<number | string> {
  try {
    const client = await promise;
    await client.endAsync();
    return 0;
  } catch (err) {
    const code = (err as { code?: number | string }).code;
    return code ?? (err as Error).message;
  }
}

/** Resolves when the client's connection closes, rejects after `ms`. */
export function closed(client: MqttClient, ms = 3000): Promise<void> {
  if (!client.connected) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not closed within ${ms} ms`)), ms);
    client.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** The next message on a topic that matches `prefix`. */
export function nextMessage(
  client: MqttClient,
  prefix: string,
  ms = 3000,
): Promise<{ topic: string; payload: Buffer; qos: number }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off('message', onMessage);
      reject(new Error(`no message on ${prefix} within ${ms} ms`));
    }, ms);
    const onMessage = (topic: string, payload: Buffer, packet: { qos: number }) => {
      if (!topic.startsWith(prefix)) return;
      clearTimeout(timer);
      client.off('message', onMessage);
      resolve({ topic, payload, qos: packet.qos });
    };
    client.on('message', onMessage);
  });
}

/** Waits until `check` holds (polling), or fails after `ms`. */
export async function eventually(check: () => boolean | Promise<boolean>, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
