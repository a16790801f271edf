import type { Metrics } from '../metrics.js';

/** Which service a device HTTPS request reached; `none` when the path named neither. */
export type DeviceHttpService = 'dps' | 'hub' | 'none';

/** Series of the device HTTPS listener, bound once per listener. */
export interface DeviceHttpMetrics {
  /** One answered request: service, route name (`register`, `c2d-complete`…) and status. */
  request(service: DeviceHttpService, route: string, status: number): void;
}

const NOOP: DeviceHttpMetrics = { request: () => undefined };

export function deviceHttpMetrics(metrics?: Metrics): DeviceHttpMetrics {
  if (!metrics) return NOOP;
  const requests = metrics.counter(
    'gatehouse_device_http_requests_total',
    'Device HTTPS requests (DPS and hub, PROTOCOL.md §2, §4) by service, route and status.',
  );
  return {
    request: (service, route, status) => requests.inc({ service, route, status: String(status) }),
  };
}
