/**
 * The device ports of the composition root (server.ts): the server's TLS identity, one gateway
 * configuration for every device transport, the MQTT/TLS listener and the HTTPS/WSS listener,
 * and, with a certificate shared in PostgreSQL, serving the one another node reissues.
 */
import type { AddressInfo } from 'node:net';
import { startDeviceHttpsListener } from './device-http/index.js';
import { ConnectionAdmission, startMqttTlsListener, type MqttListener } from './gateway/index.js';
import type { GatewayOptions } from './gateway/gateway-options.js';
import type { proxyProtocolSettings } from './gateway/proxy-trust.js';
import type { HubService } from './hub/hub-service.js';
import type { RegistrationService } from './provisioning/registration.js';
import type { ServerNode } from './server-store.js';
import { Settings } from './store/settings.js';
import { ensureTlsIdentity, type TlsIdentity } from './tls-identity.js';
import { ensureDatabaseTlsIdentity, watchDatabaseTlsIdentity } from './tls-identity-database.js';

export interface ServerTls {
  tls: TlsIdentity;
  /** Kept in PostgreSQL for every node (no certificate files given). */
  sharedTls: boolean;
}

/** The device ports' certificate: made (or read) under the start-up lock. */
export async function ensureServerTls({ options, dataDir, opened, db }: ServerNode): Promise<ServerTls> {
  const sharedTls = opened.dialect === 'postgres' && !options.tlsCertFile && !options.tlsKeyFile;
  const tls = sharedTls
    ? await ensureDatabaseTlsIdentity({
        dataDir,
        hostNames: [options.hostName],
        settings: new Settings(db),
      })
    : await ensureTlsIdentity({
        dataDir,
        hostNames: [options.hostName],
        ...(options.tlsCertFile ? { tlsCertFile: options.tlsCertFile } : {}),
        ...(options.tlsKeyFile ? { tlsKeyFile: options.tlsKeyFile } : {}),
      });
  return { tls, sharedTls };
}

export interface DeviceListenerWiring {
  registration: RegistrationService;
  hub: HubService;
  proxyProtocol: ReturnType<typeof proxyProtocolSettings>;
  /** The HTTPS/WSS port, with server.ts's default applied. */
  httpsPort: number;
  /** Each listener adds how it stops accepting (drain) and lets go of its devices (unready). */
  stopAccepting: Array<() => void>;
  disconnectAll: Array<(reason: string) => void>;
}

export interface DeviceListeners {
  gateway: GatewayOptions;
  mqtt: MqttListener;
  /** Undefined when the HTTPS port could not be bound; `httpsError` says why. */
  https: AddressInfo | undefined;
  httpsError: string | undefined;
}

export async function startDeviceListeners(
  node: ServerNode,
  { tls, sharedTls }: ServerTls,
  { registration, hub, proxyProtocol, httpsPort, stopAccepting, disconnectAll }: DeviceListenerWiring,
): Promise<DeviceListeners> {
  const { options, logger, metrics, db, closers } = node;
  // One gateway configuration for every device transport: MQTT/TLS, MQTT/WSS.
  const limits = options.deviceLimits ?? {};
  const gateway: GatewayOptions = {
    dps: registration,
    hub: hub.connectHandler(),
    logger: logger.child({ context: 'gateway' }),
    metrics,
    outbound: limits,
    ...(limits.connectTimeoutMs !== undefined ? { connectTimeoutMs: limits.connectTimeoutMs } : {}),
    ...(limits.maxPacketBytes !== undefined ? { maxPacketBytes: limits.maxPacketBytes } : {}),
  };
  const handshake =
    limits.handshakeTimeoutMs !== undefined ? { handshakeTimeoutMs: limits.handshakeTimeoutMs } : {};
  // One per process: the cap and the per-address buckets span both device ports.
  const admission = new ConnectionAdmission(limits, logger, metrics);
  closers.unshift(async () => admission.close());
  const mqtt = await startMqttTlsListener({
    host: options.bindHost,
    port: options.mqttPort,
    key: tls.key,
    cert: tls.cert,
    ...gateway,
    ...(options.tlsVersions ? { tlsVersions: options.tlsVersions } : {}),
    ...(proxyProtocol ? { proxyProtocol } : {}),
    admission,
    ...handshake,
  });
  closers.unshift(() => mqtt.close());
  stopAccepting.push(() => mqtt.stopAccepting());
  disconnectAll.push((reason) => mqtt.disconnectAll(reason));

  // HTTPS device APIs and MQTT over WebSockets share one listener on 443 (the SDKs'
  // fixed port). When it cannot be bound the rest keeps running; the reason is one line.
  let https: AddressInfo | undefined;
  let httpsError: string | undefined;
  let deviceHttpsListener: { setCertificate(key: string, cert: string): void } | undefined;
  try {
    const deviceHttps = await startDeviceHttpsListener({
      host: options.bindHost,
      port: httpsPort,
      key: tls.key,
      cert: tls.cert,
      ...(options.tlsVersions ? { tlsVersions: options.tlsVersions } : {}),
      gateway,
      dpsHandler: registration,
      hubHttp: hub.http,
      logger: logger.child({ context: 'device-https' }),
      metrics,
      ...(proxyProtocol ? { proxyProtocol } : {}),
      admission,
      ...handshake,
      ...(options.httpLimits?.headersTimeoutMs !== undefined
        ? { headersTimeoutMs: options.httpLimits.headersTimeoutMs }
        : {}),
      ...(options.httpLimits?.deviceRequestTimeoutMs !== undefined
        ? { requestTimeoutMs: options.httpLimits.deviceRequestTimeoutMs }
        : {}),
    });
    closers.unshift(() => deviceHttps.close());
    stopAccepting.push(() => deviceHttps.stopAccepting());
    disconnectAll.push((reason) => deviceHttps.disconnectAll(reason));
    https = deviceHttps.address();
    deviceHttpsListener = deviceHttps;
  } catch (err) {
    httpsError = (err as Error).message;
    logger.warn({ code: (err as { code?: string }).code }, httpsError);
  }

  if (sharedTls) {
    // Another node may reissue the shared certificate (a new host name): serve it too.
    const stopWatch = watchDatabaseTlsIdentity({
      settings: new Settings(db),
      current: tls.cert,
      onChange: (key, cert) => {
        mqtt.setCertificate(key, cert);
        deviceHttpsListener?.setCertificate(key, cert);
        logger.info('server certificate reissued by another node: serving it');
      },
      onError: (err) => logger.warn({ err }, 'reading the shared server certificate failed'),
    });
    closers.unshift(async () => stopWatch());
  }
  return { gateway, mqtt, https, httpsError };
}
