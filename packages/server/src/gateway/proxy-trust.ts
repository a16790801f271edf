/**
 * Which peers may send a PROXY header (`--proxy-trusted`). The spec (HAProxy
 * doc/proxy-protocol.txt §5) warns that a receiver accepting the header from anyone lets a
 * client "hide its activities or make them appear as coming from somewhere else"; "accepting
 * the header only from a number of known sources should be safe". Matching is Node's
 * `net.BlockList`, which also matches IPv4-mapped IPv6 peers (`::ffff:127.0.0.1`) against
 * IPv4 ranges.
 */
import { BlockList, isIP } from 'node:net';

import { gatewayError } from './errors.js';

/** The set of trusted proxy addresses, from CIDRs or single addresses. */
export class TrustedProxies {
  private readonly list = new BlockList();

  private constructor(
    /** The ranges as given, normalised to `address/prefix`. */
    readonly ranges: readonly string[],
  ) {
    for (const range of ranges) {
      const [address = '', prefix = ''] = range.split('/');
      this.list.addSubnet(address, Number(prefix), isIP(address) === 6 ? 'ipv6' : 'ipv4');
    }
  }

  /**
   * Parses `--proxy-trusted` values: each may hold several ranges separated by commas. Throws
   * `ERR_PROXY_TRUSTED_INVALID` naming the first bad entry.
   *
   * @example
   * TrustedProxies.parse(['127.0.0.1/32', '10.0.0.0/8,fd00::/8']).has('10.1.2.3'); // true
   */
  static parse(values: readonly string[], flag = '--proxy-trusted'): TrustedProxies {
    const ranges: string[] = [];
    for (const entry of values.flatMap((v) => v.split(',')).map((v) => v.trim())) {
      if (entry === '') continue;
      const slash = entry.indexOf('/');
      const address = slash === -1 ? entry : entry.slice(0, slash);
      const family = isIP(address);
      const max = family === 6 ? 128 : 32;
      const prefixText = slash === -1 ? String(max) : entry.slice(slash + 1);
      const prefix = Number(prefixText);
      if (family === 0 || !/^\d{1,3}$/.test(prefixText) || prefix > max)
        throw gatewayError(
          'ERR_PROXY_TRUSTED_INVALID',
          `${flag} '${entry}' is not an IPv4 or IPv6 address or CIDR range (e.g. 10.0.0.0/8, fd00::/8)`,
        );
      ranges.push(`${address}/${prefix}`);
    }
    return new TrustedProxies(ranges);
  }

  get size(): number {
    return this.ranges.length;
  }

  /** Whether a peer address (as `socket.remoteAddress` reports it) is a trusted proxy. */
  has(address: string | undefined): boolean {
    if (address === undefined) return false;
    const family = isIP(address);
    if (family === 0) return false;
    return this.list.check(address, family === 6 ? 'ipv6' : 'ipv4');
  }
}

/**
 * The listeners' PROXY settings from `--proxy-protocol` and `--proxy-trusted`: undefined when
 * neither is given (nothing changes). Either one alone is refused, because a header that no
 * peer may send, or trusted peers whose headers are not read, is a configuration mistake.
 *
 * @example
 * proxyProtocolSettings('v2', ['10.0.0.0/8']); // { trusted: TrustedProxies }
 */
export function proxyProtocolSettings(
  version: 'v2' | undefined,
  trusted: readonly string[] | undefined,
): { trusted: TrustedProxies } | undefined {
  const ranges = TrustedProxies.parse(trusted ?? []);
  if (version === undefined && ranges.size === 0) return undefined;
  if (version === undefined)
    throw gatewayError('ERR_PROXY_TRUSTED_REQUIRED', '--proxy-trusted is given without --proxy-protocol v2');
  if (ranges.size === 0)
    throw gatewayError(
      'ERR_PROXY_TRUSTED_REQUIRED',
      '--proxy-protocol v2 needs --proxy-trusted <CIDR>: the addresses of the load balancers allowed to send the header',
    );
  return { trusted: ranges };
}
