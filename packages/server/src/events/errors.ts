import { errorFactory, type ErrorSpec } from '../errors.js';

/**
 * Message bus error codes (CLUSTER.md §4, §6.1). The bus is ephemeral: nothing acknowledged
 * depends on it, so its errors say "try again / fix Redis", never "data lost".
 */
export const BUS_ERRORS = {
  ERR_BUS_UNREACHABLE: {
    status: 503,
    summary:
      'Redis (`--redis-url`, GATEHOUSE_REDIS_URL) did not answer when the server started, so the node cannot join the cluster.',
    fix: 'Start Redis or correct the URL (`redis://HOST:PORT`); check with `redis-cli -u <url> ping`.',
  },
  ERR_BUS_URL_INVALID: {
    status: 400,
    summary: 'The Redis URL is not `redis://[user:password@]HOST[:PORT][/DB]` (or `rediss://` for TLS).',
    fix: 'Pass e.g. `--redis-url redis://127.0.0.1:6379`.',
  },
  ERR_BUS_UNAVAILABLE: {
    status: 503,
    summary:
      'The connection to Redis is down (the bus reconnects by itself): a message to another node could not be sent. Nothing stored was lost.',
    fix: 'Retry once Redis is reachable again; the node logs `bus state` changes and its readiness check fails meanwhile.',
  },
  ERR_BUS_CLOSED: {
    status: 503,
    summary: 'The bus was used after the server began shutting down.',
  },
} as const satisfies Record<string, ErrorSpec>;

export type BusErrorCode = keyof typeof BUS_ERRORS;

export const busError = errorFactory(BUS_ERRORS);
