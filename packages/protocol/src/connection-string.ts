/**
 * Device connection strings, `HostName=…;DeviceId=…;SharedAccessKey=…` (PROTOCOL.md §9).
 *
 * @packageDocumentation
 */
import { ProtocolError } from './errors.js';

/**
 * A parsed device (or module) connection string. Exactly the keys the SDK understands.
 *
 * @example
 * ```ts
 * import type { DeviceConnectionString } from '@gatehouse/protocol';
 * const cs: DeviceConnectionString = { hostName: 'gatehouse.local', deviceId: 'dev-1', x509: true };
 * ```
 */
export interface DeviceConnectionString {
  hostName: string;
  deviceId: string;
  moduleId?: string;
  /** Base64 device (or policy) key. */
  sharedAccessKey?: string;
  sharedAccessKeyName?: string;
  /** A ready-made token (`SharedAccessSignature sr=…`). */
  sharedAccessSignature?: string;
  /** Host to open the network connection to (MQTT only); `HostName` stays in username and `sr`. */
  gatewayHostName?: string;
  /** `x509=true`: authenticate with a client certificate instead of SAS. */
  x509?: boolean;
}

const KEYS = {
  HostName: 'hostName',
  DeviceId: 'deviceId',
  ModuleId: 'moduleId',
  SharedAccessKeyName: 'sharedAccessKeyName',
  SharedAccessKey: 'sharedAccessKey',
  SharedAccessSignature: 'sharedAccessSignature',
  GatewayHostName: 'gatewayHostName',
} as const;

type StringField = (typeof KEYS)[keyof typeof KEYS];

/**
 * Parses a device connection string: segments split on `;`, each at the FIRST `=` (keys and
 * tokens contain `=`). Key names are case-sensitive, as in azure-iot-common; unknown keys are
 * ignored; empty segments (a trailing `;`) are allowed.
 *
 * @throws {@link ProtocolError} `ERR_CONNECTION_STRING_MALFORMED` for a segment without `=`,
 *   a repeated key or an `x509` value other than true/false; `ERR_CONNECTION_STRING_INCOMPLETE`
 *   when HostName, DeviceId or every credential (SharedAccessKey, SharedAccessSignature,
 *   x509=true) is missing.
 * @example
 * ```ts
 * import { parseDeviceConnectionString } from '@gatehouse/protocol';
 * parseDeviceConnectionString('HostName=gatehouse.local;DeviceId=dev-1;SharedAccessKey=AAAA');
 * // → { hostName: 'gatehouse.local', deviceId: 'dev-1', sharedAccessKey: 'AAAA' }
 * ```
 */
export function parseDeviceConnectionString(text: string): DeviceConnectionString {
  const seen = new Set<string>();
  const fields: Partial<Record<StringField, string>> = {};
  let x509: boolean | undefined;
  for (const segment of text.trim().split(';')) {
    if (segment.trim() === '') continue;
    const eq = segment.indexOf('=');
    if (eq <= 0) {
      throw new ProtocolError('ERR_CONNECTION_STRING_MALFORMED', 'every segment must look like Key=value');
    }
    const key = segment.slice(0, eq).trim();
    const value = segment.slice(eq + 1);
    if (seen.has(key)) {
      throw new ProtocolError('ERR_CONNECTION_STRING_MALFORMED', `connection string repeats "${key}"`);
    }
    seen.add(key);
    if (key === 'x509') {
      const lower = value.trim().toLowerCase();
      if (lower !== 'true' && lower !== 'false') {
        throw new ProtocolError('ERR_CONNECTION_STRING_MALFORMED', 'x509 must be true or false');
      }
      x509 = lower === 'true';
    } else if (Object.hasOwn(KEYS, key)) {
      fields[KEYS[key as keyof typeof KEYS]] = value;
    }
  }
  const { hostName, deviceId } = fields;
  if (!hostName || !deviceId) {
    throw new ProtocolError(
      'ERR_CONNECTION_STRING_INCOMPLETE',
      'connection string needs HostName and DeviceId',
    );
  }
  if (!fields.sharedAccessKey && !fields.sharedAccessSignature && x509 !== true) {
    throw new ProtocolError(
      'ERR_CONNECTION_STRING_INCOMPLETE',
      'connection string needs SharedAccessKey, SharedAccessSignature or x509=true',
    );
  }
  const result: DeviceConnectionString = { hostName, deviceId };
  for (const name of Object.values(KEYS)) {
    const value = fields[name];
    if (value !== undefined && name !== 'hostName' && name !== 'deviceId') result[name] = value;
  }
  if (x509 !== undefined) result.x509 = x509;
  return result;
}

/**
 * Builds a connection string in the conventional key order (HostName, DeviceId, ModuleId,
 * SharedAccessKeyName, SharedAccessKey, SharedAccessSignature, GatewayHostName, x509=true).
 *
 * @throws {@link ProtocolError} `ERR_CONNECTION_STRING_MALFORMED` when a value contains `;`,
 *   `ERR_CONNECTION_STRING_INCOMPLETE` like {@link parseDeviceConnectionString}.
 * @example
 * ```ts
 * import { buildDeviceConnectionString } from '@gatehouse/protocol';
 * buildDeviceConnectionString({ hostName: 'gatehouse.local', deviceId: 'dev-1', x509: true });
 * // 'HostName=gatehouse.local;DeviceId=dev-1;x509=true'
 * ```
 */
export function buildDeviceConnectionString(cs: DeviceConnectionString): string {
  if (!cs.hostName || !cs.deviceId) {
    throw new ProtocolError(
      'ERR_CONNECTION_STRING_INCOMPLETE',
      'connection string needs HostName and DeviceId',
    );
  }
  if (!cs.sharedAccessKey && !cs.sharedAccessSignature && cs.x509 !== true) {
    throw new ProtocolError(
      'ERR_CONNECTION_STRING_INCOMPLETE',
      'connection string needs SharedAccessKey, SharedAccessSignature or x509=true',
    );
  }
  const parts: string[] = [];
  for (const [key, name] of Object.entries(KEYS)) {
    const value = cs[name];
    if (value === undefined) continue;
    if (value.includes(';')) {
      throw new ProtocolError('ERR_CONNECTION_STRING_MALFORMED', `${key} must not contain ";"`);
    }
    parts.push(`${key}=${value}`);
  }
  if (cs.x509) parts.push('x509=true');
  return parts.join(';');
}
