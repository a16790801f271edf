import type { FilterNode } from '../api/odata-filter.js';

/**
 * One request for the device list (CENTRAL_API.md §1.1–§1.2), parsed and checked by the API
 * (api/list-query.ts) and answered by the store (hub/device-list.ts).
 */
export interface DeviceListQuery {
  filter?: FilterNode;
  order?: ReadonlyArray<{ field: string; descending: boolean }>;
  /** Page size; absent: every matching device. */
  top?: number;
  /** `$skiptoken` from the previous page's nextLink. */
  skipToken?: string;
  /** Only these devices (a device group's members). */
  ids?: readonly string[];
}
