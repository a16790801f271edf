/**
 * Response schemas of the telemetry series operations (hub/telemetry-series.ts `DeviceSeries`
 * and `FleetSeries`).
 */
import { arr, bool, dateTime, int, num, obj, str, strEnum } from './common.js';

const BUCKET = obj({ time: dateTime, value: num, count: int });

const HEADER = {
  from: dateTime,
  to: dateTime,
  /** An ISO 8601 duration (PT1M, P1D…). */
  interval: str,
  aggregation: strEnum('avg', 'min', 'max', 'sum', 'count', 'first', 'last'),
  source: strEnum('raw', 'minute', 'hour'),
};

/** A device's (or a component's) series: JSON by default, or (`format=csv`) a CSV attachment. */
export const DEVICE_SERIES = {
  ...obj({ deviceId: str, name: str, ...HEADER, value: arr(BUCKET) }, { component: str }),
  description:
    'application/json: the buckets, oldest first. With format=csv: text/csv; charset=utf-8 (columns time,value,count), as an attachment.',
};

/** A device group's or a template's series, one per device: JSON, or (`format=csv`) a CSV attachment. */
export const FLEET_SERIES = {
  ...obj({ ...HEADER, value: arr(obj({ deviceId: str, value: arr(BUCKET) })), truncated: bool }),
  description:
    'application/json: one series per device (the first 100 by ID). With format=csv: text/csv; charset=utf-8 (columns deviceId,time,value,count), as an attachment.',
};
