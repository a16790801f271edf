import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { CliError } from './output.js';
import { SERVER_DEFAULTS } from './server-defaults.js';

/** Where `gatehouse serve` answers by default (its `--http-port`). */
export const DEFAULT_URL = `http://localhost:${SERVER_DEFAULTS.httpPort}`;

/** How long one request may take before we call the server unreachable. */
const REQUEST_TIMEOUT_MS = 30_000;

/** The options every command that talks to a running server takes, as commander hands them over. */
export interface ConnectionFlags {
  url?: string;
  token?: string;
  data?: string;
  json?: boolean;
}

/** `--url`, `--token`, `--data` and `--json`, with their environment variables. */
export function addConnectionOptions(command: Command): Command {
  return command
    .addOption(
      new Option('--url <url>', 'address of the Gatehouse web UI and REST API')
        .env('GATEHOUSE_URL')
        .default(DEFAULT_URL),
    )
    .addOption(
      new Option(
        '--token <token>',
        'API token: a bearer secret or the whole "SharedAccessSignature sr=…" text (default: <data>/admin-token)',
      ).env('GATEHOUSE_TOKEN'),
    )
    .addOption(
      new Option('--data <dir>', "the server's data folder, where `gatehouse serve` keeps admin-token")
        .env('GATEHOUSE_DATA')
        .default(SERVER_DEFAULTS.dataDir),
    )
    .option('--json', 'print a JSON object instead of text');
}

/** The REST error body (CENTRAL_API.md §1.1). */
interface ErrorEnvelope {
  error: { code: string; message: string };
}

function isEnvelope(v: unknown): v is ErrorEnvelope {
  if (typeof v !== 'object' || v === null || !('error' in v)) return false;
  const e = v.error;
  return (
    typeof e === 'object' &&
    e !== null &&
    'code' in e &&
    typeof e.code === 'string' &&
    'message' in e &&
    typeof e.message === 'string'
  );
}

function errno(err: unknown): string | undefined {
  return err && typeof err === 'object' && 'code' in err && typeof err.code === 'string'
    ? err.code
    : undefined;
}

/** The socket-level reason under undici's `TypeError: fetch failed` (or an AggregateError of attempts). */
function networkCode(err: unknown): string | undefined {
  const cause = err && typeof err === 'object' && 'cause' in err ? err.cause : undefined;
  const direct = errno(cause) ?? errno(err);
  if (direct) return direct;
  if (cause && typeof cause === 'object' && 'errors' in cause && Array.isArray(cause.errors)) {
    return errno(cause.errors[0]);
  }
  return undefined;
}

/** The innermost message: undici's own refusals (e.g. "bad port") carry no code. */
function causeMessage(err: unknown): string {
  const cause = err && typeof err === 'object' && 'cause' in err ? err.cause : undefined;
  if (cause instanceof Error && cause.message !== '') return cause.message;
  return err instanceof Error ? err.message : String(err);
}

const NETWORK_REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'unknown host name',
  EAI_AGAIN: 'the host name cannot be resolved right now',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ECONNRESET: 'the connection was reset',
  ETIMEDOUT: 'the connection timed out',
  UND_ERR_CONNECT_TIMEOUT: 'the connection timed out',
  UND_ERR_SOCKET: 'the connection closed unexpectedly',
};

/** Parses `--url`; a trailing `/api` is accepted, since people copy the API address. */
export function parseBaseUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new CliError('ERR_CLI_INVALID_OPTION', `--url "${text}" is not a URL; use e.g. ${DEFAULT_URL}.`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new CliError('ERR_CLI_INVALID_OPTION', `--url "${text}" must start with http:// or https://.`);
  }
  url.search = '';
  url.hash = '';
  url.pathname = url.pathname.replace(/\/api\/?$/, '').replace(/\/?$/, '/');
  return url;
}

/** The credentials to send and, for messages, where they came from. */
interface Credentials {
  authorization: string;
  source: string;
}

/**
 * `--token` (or GATEHOUSE_TOKEN), else `<data>/admin-token`, the file `gatehouse serve` writes.
 * A token that starts with `SharedAccessSignature` (what `gatehouse token create` prints) is sent
 * as it is; anything else as `Bearer <token>`.
 */
export function resolveCredentials(flags: ConnectionFlags): Credentials {
  const given = flags.token?.trim();
  let token: string;
  let source: string;
  if (given) {
    token = given;
    source = process.env['GATEHOUSE_TOKEN']?.trim() === given ? 'GATEHOUSE_TOKEN' : '--token';
  } else {
    const dataDir = flags.data && flags.data !== '' ? flags.data : SERVER_DEFAULTS.dataDir;
    const file = resolve(join(dataDir, 'admin-token'));
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      const reason =
        errno(err) === 'ENOENT'
          ? 'does not exist'
          : errno(err) === 'EACCES'
            ? 'cannot be read (permission denied)'
            : errno(err) === 'EISDIR'
              ? 'is a folder'
              : `cannot be read (${errno(err) ?? String(err)})`;
      throw new CliError(
        'ERR_CLI_NO_TOKEN',
        `No API token: --token and GATEHOUSE_TOKEN are not set, and ${file} ${reason}. Run from the folder that holds the server's data, point --data (or GATEHOUSE_DATA) at it, or pass --token.`,
      );
    }
    token = text.trim();
    if (token === '') {
      throw new CliError(
        'ERR_CLI_NO_TOKEN',
        `No API token: --token and GATEHOUSE_TOKEN are not set, and ${file} is empty. Pass --token.`,
      );
    }
    source = file;
  }
  const authorization = /^sharedaccesssignature\s/i.test(token) ? token : `Bearer ${token}`;
  return { authorization, source };
}

/**
 * One path segment, so that an ID can never change which resource is addressed. `.` and `..`
 * cannot be sent at all (URL parsing removes them, encoded or not); no resource allows them, so
 * they are refused here with the code the server gives any invalid ID.
 */
export function segment(value: string): string {
  if (/^\.{1,2}$/.test(value)) {
    throw new CliError('ERR_INVALID_ID', `'${value}' is not a valid ID: IDs start with a letter or a digit.`);
  }
  return encodeURIComponent(value);
}

/** A small client of the Gatehouse REST API: JSON in, JSON out, errors as `<code>: <message>`. */
export class ApiClient {
  readonly baseUrl: URL;
  private readonly credentials: Credentials;

  constructor(baseUrl: URL, credentials: Credentials) {
    this.baseUrl = baseUrl;
    this.credentials = credentials;
  }

  /** The client for a command's `--url`/`--token`/`--data` flags. */
  static fromFlags(flags: ConnectionFlags): ApiClient {
    const baseUrl = parseBaseUrl(flags.url && flags.url !== '' ? flags.url : DEFAULT_URL);
    return new ApiClient(baseUrl, resolveCredentials(flags));
  }

  /**
   * Sends one request to `path` (relative, e.g. `api/devices/x`; build IDs with {@link segment}).
   * Resolves to the parsed JSON body, or `undefined` for 204. A REST error becomes a CliError with
   * the server's code and message.
   */
  /**
   * Every item of a collection (CENTRAL_API.md §1.1 `{ value, nextLink? }`), following `nextLink`
   * page by page. Only the link's path and query are used: the next request goes to this
   * client's server with its credentials, whatever host the link names.
   */
  async requestAll<T>(path: string): Promise<T[]> {
    const items: T[] = [];
    let next: string | undefined = path;
    while (next !== undefined) {
      const page: { value: T[]; nextLink?: string } = await this.request('GET', next);
      items.push(...page.value);
      const link = page.nextLink === undefined ? undefined : new URL(page.nextLink);
      next = link === undefined ? undefined : link.pathname.slice(1) + link.search;
    }
    return items;
  }

  async request<T>(
    method: string,
    path: string,
    body?: unknown,
    /** Longer than the default 30 s for requests that do a lot of work (an import). */
    timeoutMs = REQUEST_TIMEOUT_MS,
  ): Promise<T> {
    const url = new URL(path, this.baseUrl);
    const origin = this.baseUrl.href;
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers: {
          authorization: this.credentials.authorization,
          accept: 'application/json',
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      const code = networkCode(err);
      const reason =
        err instanceof Error && err.name === 'TimeoutError'
          ? `no answer within ${timeoutMs / 1000} s`
          : ((code && NETWORK_REASONS[code]) ?? code ?? causeMessage(err));
      throw new CliError(
        'ERR_CLI_SERVER_UNREACHABLE',
        `Cannot reach Gatehouse at ${origin} (${reason}): is \`gatehouse serve\` running? Point --url (or GATEHOUSE_URL) at its web UI and REST API address.`,
      );
    }
    if (response.status === 204) return undefined as T;
    const text = await response.text();
    let parsed: unknown;
    let isJson = true;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      isJson = false;
    }
    if (!response.ok) {
      if (isJson && isEnvelope(parsed)) {
        const hint =
          response.status === 401 || response.status === 403
            ? ` (the token came from ${this.credentials.source})`
            : '';
        const message = hint ? `${parsed.error.message.replace(/\.$/, '')}${hint}.` : parsed.error.message;
        const error = new CliError(parsed.error.code, message);
        const details = (parsed.error as { details?: unknown }).details;
        if (typeof details === 'object' && details !== null)
          error.details = details as Record<string, unknown>;
        throw error;
      }
      throw new CliError(
        'ERR_CLI_BAD_RESPONSE',
        `${method} ${url.pathname} answered HTTP ${response.status} without a Gatehouse error body: is ${origin} the address of \`gatehouse serve\`?`,
      );
    }
    if (!isJson) {
      throw new CliError(
        'ERR_CLI_BAD_RESPONSE',
        `${method} ${url.pathname} answered HTTP ${response.status} with a body that is not JSON: is ${origin} the address of \`gatehouse serve\`?`,
      );
    }
    return parsed as T;
  }

  /** GET that resolves to `undefined` when the server answers with `notFoundCode`. */
  async find<T>(path: string, notFoundCode: string): Promise<T | undefined> {
    try {
      return await this.request<T>('GET', path);
    } catch (err) {
      if (err instanceof CliError && err.code === notFoundCode) return undefined;
      throw err;
    }
  }
}
