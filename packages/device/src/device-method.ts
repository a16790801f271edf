/**
 * What a direct-method handler returns: the status and JSON payload sent back on
 * `$iothub/methods/res/<status>/?$rid=…` (PROTOCOL.md §3.6). Equivalent to the Azure SDK's
 * `response.send(status, payload)`.
 *
 * @example
 * ```ts
 * import type { MethodResult } from '@gatehouse/device';
 * const ok: MethodResult = { status: 200, payload: { result: 'rebooting' } };
 * ```
 */
export interface MethodResult {
  /** Any integer; 200 for success by convention. */
  status: number;
  /** Serialised with `JSON.stringify`; `undefined` is sent as `null`. */
  payload?: unknown;
}

/**
 * Facts about the request besides its payload.
 *
 * @example
 * ```ts
 * import type { MethodRequest } from '@gatehouse/device';
 * const log = (req: MethodRequest) => console.log(req.methodName, req.requestId);
 * ```
 */
export interface MethodRequest {
  methodName: string;
  /** The hub's `$rid`, echoed in the response topic. */
  requestId: string;
}

/**
 * A direct-method handler: gets the parsed JSON payload (`null` when the caller sent none) and
 * returns (or resolves with) a {@link MethodResult}. A thrown error is answered with status 500.
 *
 * @example
 * ```ts
 * import type { MethodHandler } from '@gatehouse/device';
 * const blink: MethodHandler = async (payload) => ({ status: 200, payload: { blinked: payload } });
 * ```
 */
export type MethodHandler = (
  payload: unknown,
  request: MethodRequest,
) => MethodResult | Promise<MethodResult>;
