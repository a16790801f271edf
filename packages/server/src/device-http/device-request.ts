import type { IncomingMessage, ServerResponse } from 'node:http';

import type { Certificate } from '@gatehouse/pki';
import type { Logger } from 'pino';

/** One device HTTPS request as the routes see it, after the listener parsed the URL and TLS peer. */
export interface DeviceRequest {
  req: IncomingMessage;
  res: ServerResponse;
  /** The path as sent (still percent-encoded), without the query. */
  pathname: string;
  query: URLSearchParams;
  /** The TLS client chain as sent, leaf first (PROTOCOL.md §7.4); empty without a certificate. */
  clientCertificates: Certificate[];
  remoteAddress?: string;
  log: Logger;
}

/** What a route answered, for the metrics and the access log. */
export interface Served {
  route: string;
  status: number;
}
