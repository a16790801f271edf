/**
 * `gatehouse serve`'s connection limits of the device ports (docs/security.md#limits): the
 * per-address connect rate and the connection cap, decided before TLS, and what one connection
 * may have unsent (QoS 1 inflight window, write-buffer budget, send timeout). Every value is
 * checked here, before the data folder is touched.
 */
import { isIP } from 'node:net';

import { Option } from 'commander';

import { CliError } from '../output.js';

export interface LimitFlags {
  connectRatePerIp: number;
  connectBurstPerIp: number;
  /** Absent: the server's default (loopback); `[]` after `none`. */
  connectRateExempt?: string[];
  maxConnections: number;
  maxInflight: number;
  maxUncommittedTelemetry: number;
  maxWriteBuffer: number;
  sendTimeout: number;
  handshakeTimeout: number;
  connectTimeout: number;
  maxPacketSize: number;
  httpHeadersTimeout: number;
  apiRequestTimeout: number;
  deviceRequestTimeout: number;
  apiBodyLimit: number;
}

function wholeNumber(flag: string, min: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isInteger(n) || n < min)
      throw new CliError(
        'ERR_CLI_INVALID_OPTION',
        `${flag}: '${value}' is not a whole number of at least ${min}.`,
      );
    return n;
  };
}

const UNITS: Record<string, number> = { '': 1, k: 1024, kib: 1024, m: 1024 * 1024, mib: 1024 * 1024 };

/** A size in bytes, or with a KiB/MiB unit (`512KiB`, `1MiB`, `2m`), of at least `min` KiB. */
export function byteSize(flag: string, minKiB: number): (value: string) => number {
  return (value) => {
    const m = /^(\d+)\s*([a-z]*)$/i.exec(value.trim());
    const unit = m ? UNITS[(m[2] ?? '').toLowerCase()] : undefined;
    const n = m && unit !== undefined ? Number(m[1]) * unit : NaN;
    if (!Number.isSafeInteger(n) || n < minKiB * 1024)
      throw new CliError(
        'ERR_CLI_INVALID_OPTION',
        `${flag}: '${value}' is not a size of at least ${minKiB}KiB (bytes, or with KiB or MiB).`,
      );
    return n;
  };
}

/** `--connect-rate-exempt`: CIDRs or addresses, repeatable or comma-separated; `none` exempts nothing. */
function exemptList(value: string, previous: string[] | undefined): string[] {
  const list = previous ?? [];
  for (const entry of value.split(',').map((v) => v.trim())) {
    if (entry === '' || entry === 'none') continue;
    const [address = '', prefix] = entry.split('/');
    const family = isIP(address);
    const max = family === 6 ? 128 : 32;
    if (family === 0 || (prefix !== undefined && (!/^\d{1,3}$/.test(prefix) || Number(prefix) > max)))
      throw new CliError(
        'ERR_CLI_INVALID_OPTION',
        `--connect-rate-exempt: '${entry}' is not an IPv4 or IPv6 address or CIDR range (e.g. 10.0.0.0/8), or none.`,
      );
    list.push(entry);
  }
  return list;
}

export function limitOptions(): Option[] {
  return [
    new Option(
      '--connect-rate-per-ip <n>',
      'device ports: new connections per second per client address, refused before TLS beyond it (0: no limit)',
    )
      .env('GATEHOUSE_CONNECT_RATE_PER_IP')
      .default(20)
      .argParser(wholeNumber('--connect-rate-per-ip', 0)),
    new Option('--connect-burst-per-ip <n>', 'device ports: connections one client address may open at once')
      .env('GATEHOUSE_CONNECT_BURST_PER_IP')
      .default(100)
      .argParser(wholeNumber('--connect-burst-per-ip', 1)),
    new Option(
      '--connect-rate-exempt <cidr>',
      'addresses the per-address rate does not apply to, repeatable or comma-separated (default 127.0.0.0/8,::1: loopback; none for nothing)',
    )
      .env('GATEHOUSE_CONNECT_RATE_EXEMPT')
      .argParser(exemptList),
    new Option(
      '--max-connections <n>',
      'device ports: connections open at once, across both ports (0: no cap)',
    )
      .env('GATEHOUSE_MAX_CONNECTIONS')
      .default(100_000)
      .argParser(wholeNumber('--max-connections', 0)),
    new Option('--max-inflight <n>', 'QoS 1 messages to one device awaiting its PUBACK; later ones wait')
      .env('GATEHOUSE_MAX_INFLIGHT')
      .default(32)
      .argParser(wholeNumber('--max-inflight', 1)),
    new Option(
      '--max-uncommitted-telemetry <n>',
      'telemetry messages read and not yet committed, across all devices, before reading pauses',
    )
      .env('GATEHOUSE_MAX_UNCOMMITTED_TELEMETRY')
      .default(50_000)
      .argParser(wholeNumber('--max-uncommitted-telemetry', 1)),
    new Option(
      '--max-write-buffer <size>',
      'unsent output per device connection before further messages wait (1MiB, 512KiB)',
    )
      .env('GATEHOUSE_MAX_WRITE_BUFFER')
      .default(1024 * 1024, '1MiB')
      .argParser(byteSize('--max-write-buffer', 16)),
    new Option(
      '--send-timeout <seconds>',
      'a device connection whose output does not drain this long is closed',
    )
      .env('GATEHOUSE_SEND_TIMEOUT')
      .default(15)
      .argParser(wholeNumber('--send-timeout', 1)),
    new Option(
      '--handshake-timeout <seconds>',
      'device ports: a TLS handshake not finished in this long is closed',
    )
      .env('GATEHOUSE_HANDSHAKE_TIMEOUT')
      .default(10)
      .argParser(wholeNumber('--handshake-timeout', 1)),
    new Option(
      '--connect-timeout <seconds>',
      'MQTT: a connection that sends no CONNECT this long after TLS is closed',
    )
      .env('GATEHOUSE_CONNECT_TIMEOUT')
      .default(10)
      .argParser(wholeNumber('--connect-timeout', 1)),
    new Option(
      '--max-packet-size <size>',
      'largest incoming MQTT packet; a larger declared length closes the connection on its header',
    )
      .env('GATEHOUSE_MAX_PACKET_SIZE')
      .default(256 * 1024 + 1024, '257KiB')
      .argParser(byteSize('--max-packet-size', 1)),
    new Option(
      '--http-headers-timeout <seconds>',
      'REST port and device HTTPS: a request whose headers take longer is answered 408 and closed',
    )
      .env('GATEHOUSE_HTTP_HEADERS_TIMEOUT')
      .default(20)
      .argParser(wholeNumber('--http-headers-timeout', 1)),
    new Option(
      '--api-request-timeout <seconds>',
      'REST port: a request (body included, an import too) taking longer to arrive is answered 408',
    )
      .env('GATEHOUSE_API_REQUEST_TIMEOUT')
      .default(120)
      .argParser(wholeNumber('--api-request-timeout', 1)),
    new Option(
      '--device-request-timeout <seconds>',
      'device HTTPS: a request taking longer to arrive is answered 408',
    )
      .env('GATEHOUSE_DEVICE_REQUEST_TIMEOUT')
      .default(60)
      .argParser(wholeNumber('--device-request-timeout', 1)),
    new Option(
      '--api-body-limit <size>',
      'REST port: the largest request body, imports excepted (32MiB); larger ones are answered 413',
    )
      .env('GATEHOUSE_API_BODY_LIMIT')
      .default(1024 * 1024, '1MiB')
      .argParser(byteSize('--api-body-limit', 16)),
  ];
}

/** The server's `deviceLimits` from the flags. */
export function limitServerOptions(flags: LimitFlags) {
  return {
    deviceLimits: {
      connectRatePerIp: flags.connectRatePerIp,
      connectBurstPerIp: flags.connectBurstPerIp,
      ...(flags.connectRateExempt !== undefined ? { rateExempt: flags.connectRateExempt } : {}),
      maxConnections: flags.maxConnections,
      maxInflight: flags.maxInflight,
      maxUncommittedTelemetry: flags.maxUncommittedTelemetry,
      maxWriteBufferBytes: flags.maxWriteBuffer,
      sendTimeoutMs: flags.sendTimeout * 1000,
      handshakeTimeoutMs: flags.handshakeTimeout * 1000,
      connectTimeoutMs: flags.connectTimeout * 1000,
      maxPacketBytes: flags.maxPacketSize,
    },
    httpLimits: {
      headersTimeoutMs: flags.httpHeadersTimeout * 1000,
      apiRequestTimeoutMs: flags.apiRequestTimeout * 1000,
      deviceRequestTimeoutMs: flags.deviceRequestTimeout * 1000,
      apiBodyLimitBytes: flags.apiBodyLimit,
    },
  };
}
