/**
 * `gatehouse serve`'s options for the REST/web listener's defences (docs/security.md, Web):
 * the failed sign-in limits per client address and per user name, and the reverse proxies
 * whose `X-Forwarded-*` headers are believed (the client's address for the limit, HTTPS for
 * the cookie's `Secure` and HSTS).
 */
import { Option } from 'commander';

import { CliError } from '../output.js';

export interface WebFlags {
  signInIpLimit: number;
  signInAccountLimit: number;
  sessionIdleTimeout: number;
  httpTrustProxy?: string[];
}

function count(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1 || n > 1_000_000)
      throw new CliError(
        'ERR_CLI_INVALID_OPTION',
        `${flag}: '${value}' is not a whole number from 1 to 1000000.`,
      );
    return n;
  };
}

/** Minutes a sign-in session may go unused: 1 to 720 (the session's 12-hour lifetime). */
function minutes(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 720)
    throw new CliError(
      'ERR_CLI_INVALID_OPTION',
      `--session-idle-timeout: '${value}' is not a whole number of minutes from 1 to 720.`,
    );
  return n;
}

/** A CIDR or an address, IPv4 or IPv6, as `--proxy-trusted` takes them. */
function cidr(value: string, previous: string[] | undefined): string[] {
  const items = value
    .split(',')
    .map((v) => v.trim())
    .filter((v) => v !== '');
  for (const item of items) {
    if (!/^[0-9a-fA-F:.]+(\/\d{1,3})?$/.test(item))
      throw new CliError(
        'ERR_CLI_INVALID_OPTION',
        `--http-trust-proxy: '${item}' is not an address or CIDR (10.0.0.0/8, 127.0.0.1, fd00::/8).`,
      );
  }
  return [...(previous ?? []), ...items];
}

export function webOptions(): {
  signInIpLimit: Option;
  signInAccountLimit: Option;
  sessionIdleTimeout: Option;
  httpTrustProxy: Option;
} {
  return {
    signInIpLimit: new Option(
      '--sign-in-ip-limit <n>',
      'failed sign-ins allowed per client address per minute',
    )
      .env('GATEHOUSE_SIGN_IN_IP_LIMIT')
      .default(5)
      .argParser(count('--sign-in-ip-limit')),
    signInAccountLimit: new Option(
      '--sign-in-account-limit <n>',
      'failed sign-ins allowed per user name per hour',
    )
      .env('GATEHOUSE_SIGN_IN_ACCOUNT_LIMIT')
      .default(20)
      .argParser(count('--sign-in-account-limit')),
    sessionIdleTimeout: new Option(
      '--session-idle-timeout <minutes>',
      'a web sign-in session unused this many minutes ends (1-720)',
    )
      .env('GATEHOUSE_SESSION_IDLE_TIMEOUT')
      .default(30)
      .argParser(minutes),
    httpTrustProxy: new Option(
      '--http-trust-proxy <cidr>',
      'reverse proxies in front of --http-port whose X-Forwarded-For/-Proto/-Host are believed (repeatable or comma-separated)',
    )
      .env('GATEHOUSE_HTTP_TRUST_PROXY')
      .argParser(cidr),
  };
}

/** The server options the web flags set. */
export function webServerOptions(flags: WebFlags): {
  signInLimits: { ipFailures: number; accountFailures: number };
  sessionIdleTimeoutMs: number;
  httpTrustProxy?: string[];
} {
  return {
    signInLimits: { ipFailures: flags.signInIpLimit, accountFailures: flags.signInAccountLimit },
    sessionIdleTimeoutMs: flags.sessionIdleTimeout * 60_000,
    ...(flags.httpTrustProxy?.length ? { httpTrustProxy: flags.httpTrustProxy } : {}),
  };
}
