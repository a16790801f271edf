/**
 * IoT Hub MQTT topics: what a device may publish and subscribe to, and the topics the hub
 * publishes (PROTOCOL.md §3.2–§3.6). Authorization rule: a device only touches its own topics
 * (DESIGN.md, security rules).
 *
 * @packageDocumentation
 */
import { isStatusCode, parseQuery } from './encoding.js';
import { isValidDeviceId, isValidModuleId } from './device-id.js';
import { ProtocolError } from './errors.js';
import { encodePropertyBag, type PropertyBagInput } from './property-bag.js';

const TWIN_GET = '$iothub/twin/GET/?';
const TWIN_PATCH_REPORTED = '$iothub/twin/PATCH/properties/reported/?';
const TWIN_RES = '$iothub/twin/res/';
const TWIN_PATCH_DESIRED = '$iothub/twin/PATCH/properties/desired/';
const METHODS_RES = '$iothub/methods/res/';
const METHODS_POST = '$iothub/methods/POST/';

/**
 * Filter the SDK subscribes for direct-method requests (QoS 0).
 *
 * @example
 * ```ts
 * import { METHODS_REQUEST_FILTER } from '@gatehouse/protocol';
 * client.subscribe(METHODS_REQUEST_FILTER, { qos: 0 });
 * ```
 */
export const METHODS_REQUEST_FILTER = '$iothub/methods/POST/#';

/**
 * Filter the SDK subscribes for twin responses (QoS 0).
 *
 * @example
 * ```ts
 * import { TWIN_RESPONSE_FILTER } from '@gatehouse/protocol';
 * client.subscribe(TWIN_RESPONSE_FILTER, { qos: 0 });
 * ```
 */
export const TWIN_RESPONSE_FILTER = '$iothub/twin/res/#';

/**
 * Filter the SDK subscribes for desired-property patches (QoS 0).
 *
 * @example
 * ```ts
 * import { TWIN_DESIRED_FILTER } from '@gatehouse/protocol';
 * client.subscribe(TWIN_DESIRED_FILTER, { qos: 0 });
 * ```
 */
export const TWIN_DESIRED_FILTER = '$iothub/twin/PATCH/properties/desired/#';

/**
 * The C2D filter of one device, `devices/<deviceId>/messages/devicebound/#` (QoS 1).
 *
 * @example
 * ```ts
 * import { c2dFilter } from '@gatehouse/protocol';
 * c2dFilter('dev-1'); // 'devices/dev-1/messages/devicebound/#'
 * ```
 */
export function c2dFilter(deviceId: string): string {
  return `devices/${deviceId}/messages/devicebound/#`;
}

/**
 * What a device's PUBLISH means, or why it is refused.
 *
 * @example
 * ```ts
 * import type { HubPublishTopic } from '@gatehouse/protocol';
 * const t: HubPublishTopic = { kind: 'methodResponse', status: 200, rid: '1' };
 * ```
 */
export type HubPublishTopic =
  | { kind: 'telemetry'; bag: string }
  | { kind: 'twinGet'; rid: string }
  | { kind: 'twinPatchReported'; rid: string }
  | { kind: 'methodResponse'; status: number; rid: string }
  | { kind: 'forbidden'; reason: string };

function eventsPrefix(deviceId: string, moduleId?: string): string {
  return moduleId === undefined
    ? `devices/${deviceId}/messages/events`
    : `devices/${deviceId}/modules/${moduleId}/messages/events`;
}

function ridOf(query: string): string | undefined {
  return parseQuery(query)?.['$rid'] || undefined;
}

/**
 * Classifies a PUBLISH from the authenticated device `deviceId` (and module `moduleId`, for
 * module connections). Telemetry is accepted only on the caller's own
 * `devices/<deviceId>/messages/events/<bag>` (modules: `devices/<d>/modules/<m>/messages/events/<bag>`);
 * the returned `bag` is still percent-encoded (see `decodePropertyBag`), with one trailing `/`
 * (output events) removed. Twin and method topics need a non-empty `$rid`.
 *
 * @example
 * ```ts
 * import { parseHubPublishTopic } from '@gatehouse/protocol';
 * parseHubPublishTopic('dev-1', 'devices/dev-1/messages/events/%24.mid=m1'); // { kind: 'telemetry', bag: '%24.mid=m1' }
 * parseHubPublishTopic('dev-1', 'devices/dev-2/messages/events/'); // { kind: 'forbidden', reason: … }
 * parseHubPublishTopic('dev-1', '$iothub/methods/res/200/?$rid=7'); // { kind: 'methodResponse', status: 200, rid: '7' }
 * ```
 */
export function parseHubPublishTopic(deviceId: string, topic: string, moduleId?: string): HubPublishTopic {
  if (!isValidDeviceId(deviceId) || (moduleId !== undefined && !isValidModuleId(moduleId))) {
    return { kind: 'forbidden', reason: 'invalid device identity' };
  }
  const events = eventsPrefix(deviceId, moduleId);
  if (topic === events || topic.startsWith(events + '/')) {
    let bag = topic.slice(events.length + 1);
    if (bag.endsWith('/')) bag = bag.slice(0, -1);
    return { kind: 'telemetry', bag };
  }
  if (topic.startsWith('devices/')) {
    return { kind: 'forbidden', reason: 'devices may only publish telemetry to their own events topic' };
  }
  if (topic.startsWith(TWIN_GET)) {
    const rid = ridOf(topic.slice(TWIN_GET.length));
    return rid ? { kind: 'twinGet', rid } : { kind: 'forbidden', reason: 'twin request without $rid' };
  }
  if (topic.startsWith(TWIN_PATCH_REPORTED)) {
    const rid = ridOf(topic.slice(TWIN_PATCH_REPORTED.length));
    return rid
      ? { kind: 'twinPatchReported', rid }
      : { kind: 'forbidden', reason: 'twin request without $rid' };
  }
  if (topic.startsWith(METHODS_RES)) {
    const rest = topic.slice(METHODS_RES.length);
    const sep = rest.indexOf('/?');
    // The app chooses the status; the SDK formats it with %d, so any integer may arrive.
    const statusText = sep === -1 ? '' : rest.slice(0, sep);
    if (!/^-?[0-9]{1,9}$/.test(statusText)) {
      return { kind: 'forbidden', reason: 'method response without an integer status' };
    }
    const rid = ridOf(rest.slice(sep + 2));
    return rid
      ? { kind: 'methodResponse', status: Number(statusText), rid }
      : { kind: 'forbidden', reason: 'method response without $rid' };
  }
  return { kind: 'forbidden', reason: 'topic is not open to devices' };
}

/**
 * May the device subscribe to `filter`? Only its own C2D filter, the three `$iothub` filters
 * the SDK uses, and — for module connections — `devices/<d>/modules/<m>/inputs/#`, each
 * exactly as the SDK sends it (PROTOCOL.md §3.2). Wildcards anywhere else (`#`, `+`,
 * `devices/+/…`), other devices' topics and DPS filters are refused. Device ids containing
 * `+`, `#` or `/` are refused outright, so an id can never turn into a wildcard.
 *
 * @example
 * ```ts
 * import { hubSubscriptionAllowed } from '@gatehouse/protocol';
 * hubSubscriptionAllowed('dev-1', 'devices/dev-1/messages/devicebound/#'); // true
 * hubSubscriptionAllowed('dev-1', 'devices/dev-2/messages/devicebound/#'); // false
 * hubSubscriptionAllowed('dev-1', '#'); // false
 * ```
 */
export function hubSubscriptionAllowed(deviceId: string, filter: string, moduleId?: string): boolean {
  if (!isValidDeviceId(deviceId) || (moduleId !== undefined && !isValidModuleId(moduleId))) return false;
  if (
    filter === METHODS_REQUEST_FILTER ||
    filter === TWIN_RESPONSE_FILTER ||
    filter === TWIN_DESIRED_FILTER
  ) {
    return true;
  }
  if (moduleId === undefined) return filter === c2dFilter(deviceId);
  return filter === `devices/${deviceId}/modules/${moduleId}/inputs/#`;
}

function checkRid(rid: string): string {
  if (rid === '') throw new ProtocolError('ERR_PROTOCOL_INVALID_ARGUMENT', 'request id must not be empty');
  return encodeURIComponent(rid);
}

function checkStatus(status: number): void {
  if (!isStatusCode(status))
    throw new ProtocolError('ERR_PROTOCOL_INVALID_ARGUMENT', `invalid status ${status}`);
}

function checkVersion(version: number): void {
  if (!Number.isSafeInteger(version) || version < 0) {
    throw new ProtocolError('ERR_PROTOCOL_INVALID_ARGUMENT', 'twin $version must be a non-negative integer');
  }
}

/**
 * Hub → device twin response `$iothub/twin/res/<status>/?$rid=<rid>[&$version=<v>]`. The SDK
 * ignores the status and reads only the body: errors need `{"errorCode":…,"message":…}`
 * (PROTOCOL.md §3.5).
 *
 * @example
 * ```ts
 * import { twinResponseTopic } from '@gatehouse/protocol';
 * twinResponseTopic(204, 'c0ffee00-0000-4000-8000-000000000001', 7);
 * // '$iothub/twin/res/204/?$rid=c0ffee00-0000-4000-8000-000000000001&$version=7'
 * ```
 */
export function twinResponseTopic(status: number, rid: string, version?: number): string {
  checkStatus(status);
  let topic = `${TWIN_RES}${status}/?$rid=${checkRid(rid)}`;
  if (version !== undefined) {
    checkVersion(version);
    topic += `&$version=${version}`;
  }
  return topic;
}

/**
 * Hub → device desired-properties notification `$iothub/twin/PATCH/properties/desired/?$version=<N>`.
 * The body must be JSON and should include `"$version": N` (the SDK ignores the topic's).
 *
 * @example
 * ```ts
 * import { desiredPatchTopic } from '@gatehouse/protocol';
 * desiredPatchTopic(5); // '$iothub/twin/PATCH/properties/desired/?$version=5'
 * ```
 */
export function desiredPatchTopic(version: number): string {
  checkVersion(version);
  return `${TWIN_PATCH_DESIRED}?$version=${version}`;
}

/**
 * Hub → device direct-method request `$iothub/methods/POST/<name>/?$rid=<rid>`. The SDK uses
 * the name segment verbatim, so it must be non-empty and free of `/ ? # +` and whitespace.
 * Send the literal body `null` for a method without payload (PROTOCOL.md §3.6).
 *
 * @example
 * ```ts
 * import { methodRequestTopic } from '@gatehouse/protocol';
 * methodRequestTopic('reboot', '1'); // '$iothub/methods/POST/reboot/?$rid=1'
 * ```
 */
export function methodRequestTopic(name: string, rid: string): string {
  if (name === '' || /[/?#+\s\0]/.test(name)) {
    throw new ProtocolError(
      'ERR_PROTOCOL_INVALID_ARGUMENT',
      'method name must be one topic level without wildcards',
    );
  }
  return `${METHODS_POST}${name}/?$rid=${checkRid(rid)}`;
}

/**
 * Hub → device cloud-to-device topic `devices/<deviceId>/messages/devicebound/<bag>`. `bag`
 * is either an already-encoded string (from `encodePropertyBag`) or properties to encode.
 * The SDK reads only the 5th `/`-separated segment, so the bag must not contain `/`.
 *
 * @example
 * ```ts
 * import { c2dTopic } from '@gatehouse/protocol';
 * c2dTopic('dev-1', { system: { '$.mid': 'm1' } }); // 'devices/dev-1/messages/devicebound/%24.mid=m1'
 * ```
 */
export function c2dTopic(deviceId: string, bag: string | PropertyBagInput = ''): string {
  if (!isValidDeviceId(deviceId)) {
    throw new ProtocolError('ERR_PROTOCOL_INVALID_ARGUMENT', 'invalid device id');
  }
  const encoded = typeof bag === 'string' ? bag : encodePropertyBag(bag);
  if (encoded.includes('/')) {
    throw new ProtocolError('ERR_PROTOCOL_INVALID_ARGUMENT', 'C2D property bag must not contain "/"');
  }
  return `devices/${deviceId}/messages/devicebound/${encoded}`;
}

/**
 * Device side: the telemetry topic `devices/<deviceId>[/modules/<moduleId>]/messages/events/<bag>`.
 *
 * @example
 * ```ts
 * import { telemetryTopic } from '@gatehouse/protocol';
 * telemetryTopic('dev-1', { system: { '$.ct': 'application/json' } });
 * // 'devices/dev-1/messages/events/%24.ct=application%2Fjson'
 * ```
 */
export function telemetryTopic(
  deviceId: string,
  bag: string | PropertyBagInput = '',
  moduleId?: string,
): string {
  if (!isValidDeviceId(deviceId) || (moduleId !== undefined && !isValidModuleId(moduleId))) {
    throw new ProtocolError('ERR_PROTOCOL_INVALID_ARGUMENT', 'invalid device or module id');
  }
  const encoded = typeof bag === 'string' ? bag : encodePropertyBag(bag);
  return `${eventsPrefix(deviceId, moduleId)}/${encoded}`;
}

/**
 * Device side: twin GET request topic `$iothub/twin/GET/?$rid=<rid>` (body `" "`, QoS 0).
 *
 * @example
 * ```ts
 * import { twinGetTopic } from '@gatehouse/protocol';
 * twinGetTopic('r1'); // '$iothub/twin/GET/?$rid=r1'
 * ```
 */
export function twinGetTopic(rid: string): string {
  return `${TWIN_GET}$rid=${checkRid(rid)}`;
}

/**
 * Device side: reported-properties patch topic `$iothub/twin/PATCH/properties/reported/?$rid=<rid>`.
 *
 * @example
 * ```ts
 * import { twinPatchReportedTopic } from '@gatehouse/protocol';
 * twinPatchReportedTopic('r2'); // '$iothub/twin/PATCH/properties/reported/?$rid=r2'
 * ```
 */
export function twinPatchReportedTopic(rid: string): string {
  return `${TWIN_PATCH_REPORTED}$rid=${checkRid(rid)}`;
}

/**
 * Device side: direct-method response topic `$iothub/methods/res/<status>/?$rid=<rid>`.
 *
 * @example
 * ```ts
 * import { methodResponseTopic } from '@gatehouse/protocol';
 * methodResponseTopic(200, '1'); // '$iothub/methods/res/200/?$rid=1'
 * ```
 */
export function methodResponseTopic(status: number, rid: string): string {
  if (!Number.isSafeInteger(status)) {
    throw new ProtocolError('ERR_PROTOCOL_INVALID_ARGUMENT', 'method status must be an integer');
  }
  return `${METHODS_RES}${status}/?$rid=${checkRid(rid)}`;
}

/**
 * What a hub PUBLISH means to the device.
 *
 * @example
 * ```ts
 * import type { HubCloudTopic } from '@gatehouse/protocol';
 * const t: HubCloudTopic = { kind: 'methodRequest', name: 'reboot', rid: '1' };
 * ```
 */
export type HubCloudTopic =
  | { kind: 'c2d'; bag: string }
  | { kind: 'twinResponse'; status: number; rid: string; version?: number }
  | { kind: 'desiredPatch'; version?: number }
  | { kind: 'methodRequest'; name: string; rid: string };

function versionOf(query: Record<string, string> | undefined): number | undefined {
  const text = query?.['$version'];
  return text !== undefined && /^[0-9]+$/.test(text) ? Number(text) : undefined;
}

/**
 * Device side: classifies a PUBLISH received from the hub; `null` for unknown topics or C2D
 * addressed to another device. The C2D `bag` is the 5th `/`-segment, still encoded.
 *
 * @example
 * ```ts
 * import { parseHubCloudTopic } from '@gatehouse/protocol';
 * parseHubCloudTopic('dev-1', '$iothub/methods/POST/reboot/?$rid=1'); // { kind: 'methodRequest', name: 'reboot', rid: '1' }
 * parseHubCloudTopic('dev-1', '$iothub/twin/res/200/?$rid=r1'); // { kind: 'twinResponse', status: 200, rid: 'r1' }
 * ```
 */
export function parseHubCloudTopic(deviceId: string, topic: string): HubCloudTopic | null {
  const c2d = `devices/${deviceId}/messages/devicebound/`;
  if (topic.startsWith(c2d)) {
    return { kind: 'c2d', bag: topic.slice(c2d.length).split('/')[0] ?? '' };
  }
  const queryAt = topic.indexOf('?');
  const path = queryAt === -1 ? topic : topic.slice(0, queryAt);
  const query = queryAt === -1 ? undefined : parseQuery(topic.slice(queryAt + 1));
  const rid = query?.['$rid'];
  if (path.startsWith(TWIN_RES)) {
    const status = path.slice(TWIN_RES.length).replace(/\/$/, '');
    if (!/^[0-9]{3}$/.test(status) || !rid) return null;
    const result: HubCloudTopic = { kind: 'twinResponse', status: Number(status), rid };
    const version = versionOf(query);
    if (version !== undefined) result.version = version;
    return result;
  }
  if (path === TWIN_PATCH_DESIRED || path === TWIN_PATCH_DESIRED.slice(0, -1)) {
    const version = versionOf(query);
    return version === undefined ? { kind: 'desiredPatch' } : { kind: 'desiredPatch', version };
  }
  if (path.startsWith(METHODS_POST)) {
    // The SDK also copes without the slash before `?` (PROTOCOL.md §3.6).
    const name = path.slice(METHODS_POST.length).replace(/\/$/, '');
    if (name === '' || name.includes('/') || !rid) return null;
    return { kind: 'methodRequest', name, rid };
  }
  return null;
}
