/**
 * One side of a device twin: property names to JSON values, plus the `$version` the hub
 * assigns (PROTOCOL.md §3.5).
 *
 * @example
 * ```ts
 * import type { TwinProperties } from '@gatehouse/device';
 * const desired: TwinProperties = { targetTemperature: 21, $version: 4 };
 * ```
 */
export type TwinProperties = Record<string, unknown> & { $version?: number };

/**
 * What `HubClient.getTwin()` resolves with: the desired and reported documents, the body of
 * the hub's `$iothub/twin/res/200` answer.
 *
 * @example
 * ```ts
 * import type { Twin } from '@gatehouse/device';
 * const twin: Twin = await client.getTwin();
 * console.log(twin.desired['targetTemperature'], twin.reported.$version);
 * ```
 */
export interface Twin {
  desired: TwinProperties;
  reported: TwinProperties;
}
