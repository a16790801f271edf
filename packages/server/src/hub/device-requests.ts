/**
 * What one node can ask the node that holds a device's connection (CLUSTER.md §6.1, §6.3), and
 * the answers. The hub implements {@link DeviceOwner} for the devices connected to it; the
 * router (device-router.ts) carries requests and replies over the bus. Nothing here knows the
 * transport: a method call is "this name and payload", not an MQTT topic.
 */

/** Each kind of request with its reply. */
export interface DeviceRequests {
  /** A direct method (PROTOCOL.md §3.6): wait up to `connectWaitMs` for the method subscription. */
  method: {
    request: { name: string; payload: string; connectWaitMs: number; responseTimeoutMs: number };
    reply: MethodOutcome;
  };
  /** Cloud-to-device messages were queued: deliver them (the store holds them, §6.3). */
  c2dWake: { request: Record<string, never>; reply: { delivered: boolean } };
  /** A desired-property patch was stored: push it to the device (`body` has `$version`). */
  desired: { request: { version: number; body: string }; reply: { sent: boolean } };
  /**
   * Close the device's connection (device disabled or deleted, or a newer connection elsewhere,
   * §6.2). A connection whose epoch is higher than `epoch` is newer than the kick and stays.
   */
  kick: { request: { epoch: number; reason: string }; reply: KickOutcome };
}

export type DeviceRequestKind = keyof DeviceRequests;

export type DeviceRequest = {
  [K in DeviceRequestKind]: { kind: K } & DeviceRequests[K]['request'];
}[DeviceRequestKind];

export type MethodOutcome =
  /** The device answered: its status and body (base64 over the bus). */
  | { outcome: 'completed'; status: number; payload: Buffer }
  /** Connected, but without the method subscription within the wait. */
  | { outcome: 'notSubscribed' }
  /** The connection is gone (it closed while the request travelled). */
  | { outcome: 'offline' }
  /** The device did not answer within the response timeout. */
  | { outcome: 'timeout' };

export type KickOutcome = { outcome: 'closed' } | { outcome: 'newer' } | { outcome: 'gone' };

/** The owning side: what the hub does for a device connected here. */
export type DeviceOwner = {
  [K in DeviceRequestKind]: (
    deviceId: string,
    request: DeviceRequests[K]['request'],
  ) => Promise<DeviceRequests[K]['reply']>;
};

/**
 * The answer of a routed request: the owner's reply; `offline` when no node holds the device
 * (PUBLISH reached nobody); `timeout` when the owner did not reply in time (it died or
 * stalled); `unavailable` when the bus is down (nothing could be sent); `failed` when the
 * owner could not handle it (its error message).
 */
export type RouteResult<T> =
  | { status: 'ok'; reply: T }
  | { status: 'offline' }
  | { status: 'timeout' }
  | { status: 'unavailable'; error: Error }
  | { status: 'failed'; error: string };
