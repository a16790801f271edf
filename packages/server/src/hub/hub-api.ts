/**
 * The contract between the hub context and its callers (the REST API and the
 * web UI's live views). The hub implements it; `api/routes/*` call it and
 * nothing else of the hub. Shapes follow CENTRAL_API.md §1.2, §3 and §5.3;
 * services validate input and throw GatehouseError with stable codes.
 */

import type { DeviceListQuery } from './device-list-query.js';

/** CENTRAL_API.md §3 `Device`, plus our read-only status fields. */
export interface Device {
  id: string;
  etag: string;
  displayName: string;
  /** Device template ID (a DTMI) or absent when unassigned. */
  template?: string;
  enabled: boolean;
  provisioned: boolean;
  simulated: boolean;
  /** Our extension: live status. */
  status: { connected: boolean; lastActivity: string | null; lastConnected: string | null };
}

/** `{ value, timestamp }` of `GET /devices/{id}/telemetry/{name}`. */
export interface TelemetryValue {
  value: unknown;
  timestamp: string;
}

/** One stored device-to-cloud message (history and the Raw data view). */
export interface TelemetryMessageRecord {
  id: number;
  deviceId: string;
  enqueuedTime: string;
  component: string | null;
  /** The body parsed as JSON when it is JSON, else the UTF-8 text, else base64 (see `bodyEncoding`). */
  body: unknown;
  bodyEncoding: 'json' | 'text' | 'base64';
  systemProperties: Record<string, string>;
  properties: Record<string, string>;
}

export interface TelemetryHistoryQuery {
  from?: Date;
  to?: Date;
  /** Only messages carrying this top-level field (name), when set. */
  name?: string;
  component?: string;
  limit?: number;
}

/** `POST /devices/{id}/commands/{name}` body and result (CENTRAL_API.md §1.2). */
export interface CommandRequest {
  request?: unknown;
  /** Seconds to wait for the device to be connected, 0–30 (default 0). */
  connectionTimeout?: number;
  /** Seconds to wait for the answer, 5–30 (default 30). */
  responseTimeout?: number;
}

export interface DeviceCommand {
  id: string;
  name: string;
  request?: unknown;
  response?: unknown;
  responseCode?: number;
  connectionTimeout: number;
  responseTimeout: number;
  /** Our extension: when it ran and how it ended. */
  time: string;
  status: 'completed' | 'deviceOffline' | 'timeout';
}

/** Our extension: `POST /devices/{id}/messages`. */
export interface CloudToDeviceRequest {
  /** Text body, or any JSON value (sent as JSON). */
  body: unknown;
  properties?: Record<string, string>;
  /** Seconds the message may wait for the device (default 3600, max 172800 like the hub's 2 days). */
  ttl?: number;
  messageId?: string;
  correlationId?: string;
}

export interface CloudToDeviceMessage {
  id: string;
  deviceId: string;
  messageId: string;
  /** `rejected`: the device rejected it over HTTPS (dead-lettered, not redelivered). */
  state: 'queued' | 'delivered' | 'expired' | 'rejected';
  created: string;
  expiry: string;
  delivered: string | null;
  properties: Record<string, string>;
}

/** Events on the live stream (server-sent events). */
export type HubEvent =
  | {
      type: 'telemetry';
      deviceId: string;
      component: string | null;
      enqueuedTime: string;
      body: unknown;
      properties: Record<string, string>;
      /** The stored row's id: with `enqueuedTime`, what an event stream resumes from. */
      id?: number;
    }
  | { type: 'connected' | 'disconnected'; deviceId: string; time: string; reason?: string }
  | {
      type: 'reportedProperties' | 'desiredProperties';
      deviceId: string;
      time: string;
      patch: Record<string, unknown>;
      version: number;
    }
  | {
      type: 'deviceChanged';
      deviceId: string;
      time: string;
      change: 'created' | 'updated' | 'deleted' | 'provisioned';
    }
  | { type: 'commandCompleted'; deviceId: string; time: string; command: DeviceCommand };

/** Devices of the list, and where the next page starts when more remain. */
export type DevicePage = Device[] & { nextToken?: string };

export interface HubApi {
  // Devices (CENTRAL_API.md §1.2 Devices). PUT creates or replaces; PATCH merges;
  // disabling a device closes its live connection at once.
  /**
   * Every device by ID; with a query, the page it asks for, filtered, sorted and paged in the
   * database (device-list.ts), with the token of the next page when more remain.
   */
  listDevices(query?: DeviceListQuery): Promise<DevicePage>;
  getDevice(id: string): Promise<Device>;
  // Twin tags (IoT Hub; Gatehouse extension to IoT Central's API): never sent to the device.
  getTags(id: string): Promise<Record<string, unknown>>;
  putTags(id: string, body: unknown): Promise<Record<string, unknown>>;
  patchTags(id: string, body: unknown): Promise<Record<string, unknown>>;
  putDevice(id: string, body: unknown): Promise<Device>;
  patchDevice(id: string, body: unknown): Promise<Device>;
  deleteDevice(id: string): Promise<void>;

  // Telemetry
  latestTelemetry(deviceId: string, name: string, component?: string): Promise<TelemetryValue>;
  telemetryHistory(deviceId: string, query: TelemetryHistoryQuery): Promise<TelemetryMessageRecord[]>;

  // Properties (CENTRAL_API.md §1.2 Properties, §5.3): GET returns reported values
  // with `$metadata`; PUT/PATCH of writable values become desired patches (202).
  getProperties(deviceId: string): Promise<Record<string, unknown>>;
  putProperties(deviceId: string, body: unknown): Promise<Record<string, unknown>>;
  patchProperties(deviceId: string, body: unknown): Promise<Record<string, unknown>>;
  // The same for one component's properties (the twin's `{ "<component>": { "__t": "c", … } }`).
  getComponentProperties(deviceId: string, component: string): Promise<Record<string, unknown>>;
  putComponentProperties(
    deviceId: string,
    component: string,
    body: unknown,
  ): Promise<Record<string, unknown>>;
  patchComponentProperties(
    deviceId: string,
    component: string,
    body: unknown,
  ): Promise<Record<string, unknown>>;

  // Commands (direct methods)
  runCommand(deviceId: string, name: string, body: unknown): Promise<DeviceCommand>;
  listCommands(deviceId: string, name: string): Promise<DeviceCommand[]>;

  // Cloud-to-device messages
  sendMessage(deviceId: string, body: unknown): Promise<CloudToDeviceMessage>;
  listMessages(deviceId: string): Promise<CloudToDeviceMessage[]>;

  // Live events; returns an unsubscribe function. `deviceId` undefined = the whole application.
  subscribe(listener: (event: HubEvent) => void, deviceId?: string): () => void;
  /** Resolves once the subscriptions asked for so far reach every node (a stream opens after it). */
  eventsSettled?(): Promise<void>;
  /**
   * Stored telemetry of one device (or all) enqueued at or after `from`, as live events, oldest
   * first, at most `limit` (the most recent): what a resuming event stream missed.
   */
  telemetryEventsSince(deviceId: string | undefined, from: string, limit: number): Promise<HubEvent[]>;
}
