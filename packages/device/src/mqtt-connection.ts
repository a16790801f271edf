/**
 * One MQTT 3.1.1 connection over TLS, opened the way both Azure device transports open theirs
 * (PROTOCOL.md §1.1, §3.1): `mqtts`, protocol level 4, server certificate checked, SNI set to
 * the host name, no automatic reconnect inside MQTT.js (the hub client runs its own policy).
 */
import { isIP } from 'node:net';
import { connect, type IClientOptions, type MqttClient } from 'mqtt';

import { DeviceError } from './errors.js';

/** What {@link openMqttConnection} needs; TLS material already loaded. */
export interface MqttConnectionOptions {
  host: string;
  port: number;
  clientId: string;
  username: string;
  password?: string;
  clean: boolean;
  keepaliveSeconds: number;
  connectTimeoutMs: number;
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  passphrase?: string;
}

/** CONNACK return codes 4 (bad user name or password) and 5 (not authorized) [MQTT-3.2.2-3]. */
const UNAUTHORIZED_CONNACK = new Set([4, 5]);

function translate(err: unknown): DeviceError {
  const code = (err as { code?: unknown } | null)?.code;
  const message = err instanceof Error ? err.message : String(err);
  if (typeof code === 'number' && code >= 1 && code <= 5) {
    return new DeviceError(
      UNAUTHORIZED_CONNACK.has(code) ? 'ERR_DEVICE_UNAUTHORIZED' : 'ERR_DEVICE_CONNECTION_REFUSED',
      `the server refused the connection: ${message}`,
      { connackCode: code, cause: err },
    );
  }
  return new DeviceError('ERR_DEVICE_CONNECT_FAILED', `could not connect: ${message}`, { cause: err });
}

/**
 * Connect once and resolve with the client after CONNACK 0; reject with a {@link DeviceError}
 * (`ERR_DEVICE_UNAUTHORIZED`, `ERR_DEVICE_CONNECTION_REFUSED` or `ERR_DEVICE_CONNECT_FAILED`)
 * otherwise. Internal: used by `ProvisioningClient` and `HubClient`.
 */
export function openMqttConnection(options: MqttConnectionOptions): Promise<MqttClient> {
  const mqttOptions: IClientOptions = {
    protocol: 'mqtts',
    host: options.host,
    port: options.port,
    protocolVersion: 4,
    clientId: options.clientId,
    username: options.username,
    clean: options.clean,
    keepalive: options.keepaliveSeconds,
    // PINGREQ every keepalive even with traffic, like the SDK's MQTT.js setup (§3.7).
    reschedulePings: false,
    reconnectPeriod: 0,
    connectTimeout: options.connectTimeoutMs,
    rejectUnauthorized: true,
    ...(options.password === undefined ? {} : { password: options.password }),
    ...(options.ca === undefined ? {} : { ca: options.ca }),
    ...(options.cert === undefined ? {} : { cert: options.cert }),
    ...(options.key === undefined ? {} : { key: options.key }),
    ...(options.passphrase === undefined ? {} : { passphrase: options.passphrase }),
    ...(isIP(options.host) === 0 ? { servername: options.host } : {}),
  };
  const client = connect(mqttOptions);
  return new Promise((resolve, reject) => {
    let firstError: unknown;
    const cleanup = (): void => {
      client.removeListener('connect', onConnect);
      client.removeListener('error', onError);
      client.removeListener('close', onClose);
    };
    const onConnect = (): void => {
      cleanup();
      resolve(client);
    };
    const onError = (err: unknown): void => {
      // A CONNACK refusal is the decisive error; a socket error may follow it.
      firstError ??= err;
      if (typeof (err as { code?: unknown }).code === 'number') onClose();
    };
    const onClose = (): void => {
      cleanup();
      client.end(true);
      reject(translate(firstError ?? new Error('connection closed before CONNACK')));
    };
    client.on('connect', onConnect);
    client.on('error', onError);
    client.on('close', onClose);
  });
}

/** Split `host:port` the way MQTT.js reads a URI; a bare host gets `defaultPort`. */
export function splitHostPort(host: string, defaultPort: number): { host: string; port: number } {
  const match = /^(.*[^:]):([0-9]{1,5})$/.exec(host);
  if (match && !host.startsWith('[') && (host.match(/:/g) ?? []).length === 1) {
    return { host: match[1] as string, port: Number(match[2]) };
  }
  return { host, port: defaultPort };
}
