/**
 * Everything that configures a hub client: explicit options and device connection strings
 * (PROTOCOL.md §9), checked before anything is sent.
 */
import { DEFAULT_SAS_TTL_SECONDS, isValidDeviceId, parseDeviceConnectionString } from '@gatehouse/protocol';

import type { BackoffOptions } from './backoff.js';
import { DeviceError } from './errors.js';
import { hubCredential } from './hub-credential.js';
import type { PemInput } from './pem-input.js';

/**
 * Options of {@link HubClient.create}. Give exactly one credential: `symmetricKey` (tokens are
 * signed and renewed for you), `sharedAccessSignature` (a ready token, never renewed) or `x509`.
 *
 * @example
 * ```ts
 * import type { HubClientOptions } from '@gatehouse/device';
 * const options: HubClientOptions = {
 *   host: result.assignedHub,
 *   deviceId: result.deviceId,
 *   symmetricKey: derivedKey,
 *   ca: './server-ca.pem',
 *   modelId: 'dtmi:com:example:Thermostat;1',
 * };
 * ```
 */
export interface HubClientOptions {
  /** The hub's host name (`HostName`); `host:port` is honoured and then signed, like the SDK. */
  host: string;
  deviceId: string;
  /** Port to connect to; default 8883 (or the port inside `host`). Not part of the username. */
  port?: number;
  /** Connect here instead of `host` (`GatewayHostName`); the username keeps `host`. */
  gatewayHost?: string;
  /** Base64 device key: SAS tokens are made from it and renewed before they expire. */
  symmetricKey?: string;
  /** A complete `SharedAccessSignature …` token, used as is. */
  sharedAccessSignature?: string;
  /** Client certificate (chain, leaf first) and key for X.509 devices. */
  x509?: { cert: PemInput; key: PemInput; passphrase?: string };
  /** CA certificate(s) to trust for the hub (PEM, Buffer or path); default Node's store. */
  ca?: PemInput;
  /** IoT Plug and Play model ID, announced as `&model-id=` in the username. */
  modelId?: string;
  /** Lifetime of each SAS token; default 3 600 s. Renewal happens at 75 % of it. */
  tokenValidSeconds?: number;
  /** MQTT keep-alive; default 180 s like the SDK. */
  keepAliveSeconds?: number;
  /** Time allowed for TCP + TLS + CONNACK; default 60 000 ms like the SDK. */
  connectTimeoutMs?: number;
  /** Default time limit of sendEvent, twin calls and method replies; default 240 000 ms (the SDK's retry budget). */
  operationTimeoutMs?: number;
  /** Reconnect back-off after a lost connection. */
  reconnect?: BackoffOptions;
}

/**
 * Options of {@link HubClient.fromConnectionString}: what the Azure SDK takes through
 * `client.setOptions(...)`, plus the Gatehouse extras.
 *
 * @example
 * ```ts
 * import type { ConnectionStringOptions } from '@gatehouse/device';
 * const options: ConnectionStringOptions = { ca: './server-ca.pem', cert: 'dev_cert.pem', key: 'dev_key.pem' };
 * ```
 */
export type ConnectionStringOptions = Omit<
  HubClientOptions,
  'host' | 'deviceId' | 'gatewayHost' | 'symmetricKey' | 'sharedAccessSignature' | 'x509'
> & {
  /** Client certificate for `x509=true` connection strings. */
  cert?: PemInput;
  /** Private key for `x509=true` connection strings. */
  key?: PemInput;
  passphrase?: string;
};

/**
 * Check {@link HubClientOptions} and return a copy; throws `ERR_DEVICE_INVALID_ARGUMENT` when they
 * are incomplete or contradictory. `HubClient.create` calls it.
 *
 * @example
 * ```ts
 * import { validateHubOptions } from '@gatehouse/device';
 * validateHubOptions({ host: 'localhost', deviceId: 'd1' }); // throws: no credential
 * ```
 */
export function validateHubOptions(options: HubClientOptions): HubClientOptions {
  const invalid = (message: string): DeviceError => new DeviceError('ERR_DEVICE_INVALID_ARGUMENT', message);
  if (!options.host) throw invalid('host is required');
  if (!options.deviceId || !isValidDeviceId(options.deviceId))
    throw invalid('deviceId is missing or invalid');
  const credentials = [options.symmetricKey, options.sharedAccessSignature, options.x509].filter(
    (c) => c !== undefined,
  );
  if (credentials.length !== 1) {
    throw invalid('give exactly one credential: symmetricKey, sharedAccessSignature or x509');
  }
  const ttl = options.tokenValidSeconds ?? DEFAULT_SAS_TTL_SECONDS;
  if (!Number.isInteger(ttl) || ttl < 2) throw invalid('tokenValidSeconds must be an integer ≥ 2');
  if (options.port !== undefined && !(Number.isInteger(options.port) && options.port > 0)) {
    throw invalid('port must be a positive integer');
  }
  // Fail now, not at the first CONNECT, when the key is not base64.
  if (options.symmetricKey !== undefined) hubCredential(options).password();
  return { ...options };
}

/**
 * Turn a device connection string plus `setOptions`-style options into {@link HubClientOptions}
 * (`HostName`, `DeviceId`, `SharedAccessKey` | `SharedAccessSignature` | `x509=true`,
 * `GatewayHostName`; §9). Modules and policy keys are refused.
 *
 * @example
 * ```ts
 * import { hubOptionsFromConnectionString } from '@gatehouse/device';
 * const o = hubOptionsFromConnectionString('HostName=h;DeviceId=d;SharedAccessKey=a2V5', { port: 8883 });
 * // { host: 'h', deviceId: 'd', symmetricKey: 'a2V5', port: 8883 }
 * ```
 */
export function hubOptionsFromConnectionString(
  connectionString: string,
  options: ConnectionStringOptions = {},
): HubClientOptions {
  let cs;
  try {
    cs = parseDeviceConnectionString(connectionString);
  } catch (cause) {
    throw new DeviceError(
      'ERR_DEVICE_INVALID_ARGUMENT',
      `bad connection string: ${(cause as Error).message}`,
      {
        cause,
      },
    );
  }
  if (cs.moduleId !== undefined) {
    throw new DeviceError('ERR_DEVICE_INVALID_ARGUMENT', 'module identities (ModuleId) are not supported');
  }
  if (cs.sharedAccessKeyName !== undefined) {
    throw new DeviceError(
      'ERR_DEVICE_INVALID_ARGUMENT',
      'SharedAccessKeyName (policy keys) is not accepted for devices; use the device key',
    );
  }
  const { cert, key, passphrase, ...rest } = options;
  const hub: HubClientOptions = { ...rest, host: cs.hostName, deviceId: cs.deviceId };
  if (cs.gatewayHostName) hub.gatewayHost = cs.gatewayHostName;
  if (cs.sharedAccessKey) hub.symmetricKey = cs.sharedAccessKey;
  else if (cs.sharedAccessSignature) hub.sharedAccessSignature = cs.sharedAccessSignature;
  else {
    if (cert === undefined || key === undefined) {
      throw new DeviceError('ERR_DEVICE_INVALID_ARGUMENT', 'x509=true needs the cert and key options');
    }
    hub.x509 = { cert, key, ...(passphrase === undefined ? {} : { passphrase }) };
  }
  return hub;
}
