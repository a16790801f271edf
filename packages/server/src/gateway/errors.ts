import { errorFactory, type ErrorSpec } from '../errors.js';

/**
 * Gateway error codes. None reaches a device as such: a device sees a CONNACK code, a DPS
 * error body or a closed connection; these are for the services that publish through a
 * connection (the hub's QoS 1 deliveries), and the reasons a connection is closed before TLS
 * when it comes through a PROXY v2 load balancer (logged, counted by reason).
 */
export const GATEWAY_ERRORS = {
  ERR_MQTT_CONNECTION_CLOSED: {
    status: 503,
    summary: 'The MQTT connection closed before the packet was sent or acknowledged.',
  },
  ERR_MQTT_PACKET_IDS_EXHAUSTED: {
    status: 503,
    summary: 'All 65,535 packet identifiers of the connection are waiting for a PUBACK.',
  },
  ERR_MQTT_SEND_QUEUE_FULL: {
    status: 503,
    summary:
      'A publish to a device was refused: its connection already holds the write-buffer budget (`--max-write-buffer`, default 1 MiB) unsent and as much again waiting. A C2D message stays queued for later.',
    fix: 'The device reads too slowly or not at all; it is closed after the send timeout (`--send-timeout`, 15 s) if its output does not drain.',
  },
  ERR_MQTT_QOS2_NOT_SUPPORTED: {
    status: 400,
    summary:
      'A device published with QoS 2, which neither DPS nor the hub supports: the connection is closed.',
  },
  ERR_MQTT_TOPIC_FORBIDDEN: {
    status: 403,
    summary:
      'A device published or subscribed outside its own topics: the connection is closed (or the subscription refused).',
  },
  // PROXY protocol v2 (proxy-protocol.ts): the connection is closed before TLS.
  ERR_PROXY_BAD_SIGNATURE: {
    status: 400,
    summary:
      'A connection from a trusted proxy did not start with the PROXY v2 signature (a v1 text header, or garbage): it is closed.',
    fix: 'Configure the proxy with `send-proxy-v2` (HAProxy), not `send-proxy` (v1).',
  },
  ERR_PROXY_HEADER_MISSING: {
    status: 400,
    summary:
      'A connection from a `--proxy-trusted` address started TLS without a PROXY v2 header: with `--proxy-protocol v2` one is required, so it is closed.',
    fix: 'Add `send-proxy-v2` to the HAProxy `server` lines, or remove that address from `--proxy-trusted` if devices connect from it directly.',
  },
  ERR_PROXY_BAD_VERSION: {
    status: 400,
    summary: 'The PROXY header version is not 2 (spec §2.2: the receiver must only accept 2).',
    fix: 'Use `send-proxy-v2` on the proxy.',
  },
  ERR_PROXY_BAD_COMMAND: {
    status: 400,
    summary: 'The PROXY v2 command is neither LOCAL (0) nor PROXY (1) (spec §2.2: drop the connection).',
  },
  ERR_PROXY_BAD_FAMILY: {
    status: 400,
    summary:
      'The PROXY v2 address family or transport protocol is not one the spec defines (spec §2.2: reject as invalid).',
  },
  ERR_PROXY_ADDRESS_TRUNCATED: {
    status: 400,
    summary:
      'The PROXY v2 length is shorter than the address block of its family (12 bytes for TCP over IPv4, 36 for IPv6), or a TLV runs past the header.',
  },
  ERR_PROXY_HEADER_TOO_LONG: {
    status: 400,
    summary: 'The PROXY v2 header announces more bytes than the receiver accepts (1,024 after the fixed 16).',
    fix: 'Do not send large TLVs with passthrough (`proxy-v2-options` on the HAProxy server line).',
  },
  ERR_PROXY_HEADER_TRUNCATED: {
    status: 400,
    summary:
      'The connection ended, or 3 s passed, before the whole PROXY v2 header arrived (spec §2.2: reject partial headers).',
  },
  ERR_PROXY_UNTRUSTED_PEER: {
    status: 403,
    summary:
      'A PROXY v2 header came from an address outside `--proxy-trusted`: a client may not choose the address it is recorded under, so it is closed.',
    fix: 'Add the proxy’s address to `--proxy-trusted` (CIDR, repeatable or comma-separated).',
  },
  ERR_PROXY_TRUSTED_INVALID: {
    status: 400,
    summary:
      '`--proxy-trusted` (GATEHOUSE_PROXY_TRUSTED) holds an entry that is not an IPv4/IPv6 address or CIDR range: the server does not start.',
    fix: 'Give ranges like `10.0.0.0/8`, `127.0.0.1` or `fd00::/8`, repeated or separated by commas.',
  },
  ERR_PROXY_TRUSTED_REQUIRED: {
    status: 400,
    summary:
      '`--proxy-protocol v2` was given without `--proxy-trusted`, or `--proxy-trusted` without `--proxy-protocol v2`: the server does not start.',
    fix: 'Give both: `--proxy-protocol v2 --proxy-trusted <the load balancer addresses>`.',
  },
} as const satisfies Record<string, ErrorSpec>;

export const gatewayError = errorFactory(GATEWAY_ERRORS);
