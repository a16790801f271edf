/**
 * The MQTT CONNECT username, which tells DPS and hub connections apart on a shared listener
 * (PROTOCOL.md §1.2, §3.1, §9).
 *
 * @packageDocumentation
 */
import { emptyRecord, tryDecodeURIComponent } from './encoding.js';

/**
 * A DPS username: `<idScope>/registrations/<registrationId>/api-version=…&ClientVersion=…`.
 *
 * @example
 * ```ts
 * import type { DpsUsername } from '@gatehouse/protocol';
 * const u: DpsUsername = { kind: 'dps', idScope: '0ne0001', registrationId: 'dev-1', params: {} };
 * ```
 */
export interface DpsUsername {
  kind: 'dps';
  idScope: string;
  registrationId: string;
  /** `api-version` parameter, when present (the SDK sends `2019-03-31`). */
  apiVersion?: string;
  /** All parameters, percent-decoded (e.g. `ClientVersion`). */
  params: Record<string, string>;
}

/**
 * A hub username: `<hostName>/<deviceId>[/<moduleId>]/?api-version=…[&model-id=…]&DeviceClientType=…`.
 *
 * @example
 * ```ts
 * import type { HubUsername } from '@gatehouse/protocol';
 * const u: HubUsername = { kind: 'hub', hostName: 'hub', deviceId: 'dev-1', params: {} };
 * ```
 */
export interface HubUsername {
  kind: 'hub';
  /** The connection-string HostName (may carry `:port`), never the GatewayHostName. */
  hostName: string;
  deviceId: string;
  moduleId?: string;
  /** `api-version` (the SDK sends `2021-04-12`). */
  apiVersion?: string;
  /** Plug and Play model id, e.g. `dtmi:com:example:Thermostat;1` (sent unencoded). */
  modelId?: string;
  /** Decoded `DeviceClientType`, e.g. `azure-iot-device/1.18.4 (node v20.20.2; Debian 12; x64)`. */
  deviceClientType?: string;
  /** All parameters, percent-decoded. */
  params: Record<string, string>;
}

/**
 * Either kind of parsed username.
 *
 * @example
 * ```ts
 * import { parseMqttUsername, type MqttUsername } from '@gatehouse/protocol';
 * const u: MqttUsername | null = parseMqttUsername(packet.username ?? '');
 * ```
 */
export type MqttUsername = DpsUsername | HubUsername;

// Parameters are split on `&` then at the first `=`. Values are percent-decoded when that is
// possible and kept verbatim otherwise: `model-id` arrives raw (`dtmi:a:b;1` contains `:` and
// `;`, which are neither separators nor escapes) while `DeviceClientType` is encoded.
// `+` is NOT a space here: the SDK encodes with encodeURIComponent.
function parseParams(text: string): Record<string, string> {
  const params = emptyRecord();
  for (const segment of text.split('&')) {
    if (segment === '') continue;
    const eq = segment.indexOf('=');
    const rawKey = eq === -1 ? segment : segment.slice(0, eq);
    const rawValue = eq === -1 ? '' : segment.slice(eq + 1);
    const key = tryDecodeURIComponent(rawKey) ?? rawKey;
    if (!(key in params)) params[key] = tryDecodeURIComponent(rawValue) ?? rawValue;
  }
  return params;
}

function parseHub(username: string): HubUsername | null {
  // The parameter part starts at a "/?" whose prefix is exactly host/device or
  // host/device/module. Scanning every "/?" keeps device ids that contain "?" working.
  for (let at = username.indexOf('/?'); at !== -1; at = username.indexOf('/?', at + 1)) {
    const segments = username.slice(0, at).split('/');
    if (segments.length < 2 || segments.length > 3 || segments.some((s) => s === '')) continue;
    const [hostName, deviceId, moduleId] = segments as [string, string, string | undefined];
    const params = parseParams(username.slice(at + 2));
    const result: HubUsername = { kind: 'hub', hostName, deviceId, params };
    if (moduleId !== undefined) result.moduleId = moduleId;
    if (params['api-version'] !== undefined) result.apiVersion = params['api-version'];
    if (params['model-id'] !== undefined) result.modelId = params['model-id'];
    if (params['DeviceClientType'] !== undefined) result.deviceClientType = params['DeviceClientType'];
    return result;
  }
  return null;
}

function parseDps(username: string): DpsUsername | null {
  // Lenient (PROTOCOL.md §1.2): docs show only `…/api-version=2019-03-31`, the Node SDK adds
  // `&ClientVersion=…`; a bare `<scope>/registrations/<id>` is accepted too.
  const first = username.indexOf('/');
  const second = username.indexOf('/', first + 1);
  if (first <= 0 || second === -1 || username.slice(first + 1, second) !== 'registrations') return null;
  const third = username.indexOf('/', second + 1);
  const idScope = username.slice(0, first);
  const registrationId = username.slice(second + 1, third === -1 ? undefined : third);
  if (registrationId === '') return null;
  let rest = third === -1 ? '' : username.slice(third + 1);
  if (rest.startsWith('?')) rest = rest.slice(1);
  const params = parseParams(rest);
  const result: DpsUsername = { kind: 'dps', idScope, registrationId, params };
  if (params['api-version'] !== undefined) result.apiVersion = params['api-version'];
  return result;
}

/**
 * Classifies and parses a CONNECT username. A hub username is recognised by its `/?` before
 * the parameters; otherwise `<scope>/registrations/<id>…` is DPS; anything else is `null`.
 * The hub form is tried first so that a hub device literally named `registrations` is not
 * mistaken for DPS.
 *
 * @example
 * ```ts
 * import { parseMqttUsername } from '@gatehouse/protocol';
 * parseMqttUsername('0ne0001/registrations/dev-1/api-version=2019-03-31&ClientVersion=azure-iot-provisioning-device%2F1.9.1');
 * // → { kind: 'dps', idScope: '0ne0001', registrationId: 'dev-1', apiVersion: '2019-03-31', params: {…} }
 * parseMqttUsername('hub.example.com/dev-1/?api-version=2021-04-12&model-id=dtmi:com:example:Thermostat;1');
 * // → { kind: 'hub', hostName: 'hub.example.com', deviceId: 'dev-1', modelId: 'dtmi:com:example:Thermostat;1', … }
 * ```
 */
export function parseMqttUsername(username: string): MqttUsername | null {
  return parseHub(username) ?? parseDps(username);
}
