import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Kysely, Selectable } from 'kysely';
import type { ApiTokensTable, Database } from '../store/schema.js';
import { nowIso } from '../util.js';
import { checkId, commonError, isObject } from '../validation.js';
import { appError } from './errors.js';
import type { ApiPrincipal } from './principal.js';
import { isRoleId, ROLE_IDS, type RoleId } from './roles.js';

/** One role of a token (CENTRAL_API.md §1.2 `RoleAssignment`; organizations are not supported yet). */
export interface RoleAssignment {
  role: RoleId;
}

/** An API token as `GET /api/apiTokens[/{id}]` returns it: never the secret. */
export interface ApiToken {
  id: string;
  roles: RoleAssignment[];
  expiry: string;
}

/** The answer to `PUT /api/apiTokens/{id}`: the only time `token` is ever returned. */
export interface CreatedApiToken extends ApiToken {
  token: string;
}

export type { ApiPrincipal } from './principal.js';

export interface ApiTokenServiceOptions {
  /** The application host name: the `sr` of the tokens this service issues. */
  hostName: string;
  now?: () => Date;
}

/** The ID of the administrator token created on first start. */
export const BOOTSTRAP_TOKEN_ID = 'admin';

const DAY_MS = 24 * 60 * 60 * 1000;
/** IoT Central tokens last about a year (CENTRAL_API.md §1.1). */
const DEFAULT_LIFETIME_MS = 365 * DAY_MS;
/** The bootstrap token is the way in to a fresh server: it should not lock the owner out after a year. */
const BOOTSTRAP_LIFETIME_MS = 10 * 365 * DAY_MS;
const MIN_BOOTSTRAP_SECRET_LENGTH = 16;
const MAX_HEADER_LENGTH = 4096;
const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2})$/i;

type TokenRow = Selectable<ApiTokensTable>;

function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** Constant-time comparison of two SHA-256 hex digests. */
function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === 32 && y.length === 32 && timingSafeEqual(x, y);
}

function newSecret(): string {
  return randomBytes(32).toString('base64url');
}

function unauthenticated(message: string): never {
  throw commonError('ERR_UNAUTHENTICATED', message);
}

const UNKNOWN_TOKEN = 'The API token is unknown or revoked, or its secret is wrong.';
/** A Bearer secret may also be a web UI session token (sessions.ts, checked first by authenticator.ts). */
const UNKNOWN_BEARER =
  'The Bearer secret is unknown or revoked: no API token or signed-in session has it (signed out, deleted, or mistyped).';

/**
 * API tokens: the credentials of REST clients. The secret is shown once, at
 * creation, and stored only as its SHA-256 hash (DESIGN.md, security rules).
 * A 256-bit random secret needs no slow hash: guessing it is hopeless either way.
 */
export class ApiTokenService {
  private readonly hostName: string;
  private readonly now: () => Date;

  constructor(
    private readonly db: Kysely<Database>,
    options: ApiTokenServiceOptions,
  ) {
    this.hostName = options.hostName;
    this.now = options.now ?? (() => new Date());
  }

  async list(): Promise<ApiToken[]> {
    const rows = await this.db
      .selectFrom('api_tokens')
      .selectAll()
      .orderBy('created_at')
      .orderBy('id')
      .execute();
    return rows.map(toApi);
  }

  async get(id: string): Promise<ApiToken> {
    return toApi(await this.require(id));
  }

  /**
   * `PUT /api/apiTokens/{id}`: create the token, or replace it (the old secret
   * stops working). Body: `{ roles: [{ role }] (min 1), expiry?: date-time }`.
   */
  async create(id: string, body: unknown): Promise<CreatedApiToken> {
    checkId('apiTokenId', id);
    if (!isObject(body)) throw commonError('ERR_VALIDATION', 'The body must be a JSON object.');
    const roles = parseRoles(body['roles']);
    const now = this.now();
    const expiry = parseExpiry(body['expiry'], now);
    const secret = newSecret();
    await this.save(id, secret, roles, expiry, now);
    return { id, roles, expiry: expiry.toISOString(), token: this.tokenText(id, secret, expiry) };
  }

  async delete(id: string): Promise<void> {
    checkId('apiTokenId', id);
    const r = await this.db.deleteFrom('api_tokens').where('id', '=', id).executeTakeFirst();
    if (Number(r.numDeletedRows) === 0)
      throw appError('ERR_API_TOKEN_NOT_FOUND', `API token '${id}' does not exist.`);
  }

  /**
   * Check an `Authorization` header: `Bearer <secret>`, or the token text
   * itself, `SharedAccessSignature sr=<host>&sig=<secret>&skn=<id>&se=<ms>`,
   * as IoT Central clients send it (CENTRAL_API.md §1.1).
   */
  async authenticate(authorization: string | undefined): Promise<ApiPrincipal> {
    if (authorization === undefined || authorization.trim() === '') {
      unauthenticated(
        'The Authorization header is missing: send "Bearer <secret>" or an API token ("SharedAccessSignature sr=…").',
      );
    }
    if (authorization.length > MAX_HEADER_LENGTH) {
      unauthenticated(`The Authorization header is malformed: longer than ${MAX_HEADER_LENGTH} characters.`);
    }
    const text = authorization.trim();
    const space = text.search(/\s/);
    const scheme = space === -1 ? text : text.slice(0, space);
    const credentials = space === -1 ? '' : text.slice(space).trim();
    switch (scheme.toLowerCase()) {
      case 'bearer':
        return this.authenticateBearer(credentials);
      case 'sharedaccesssignature':
        return this.authenticateSas(credentials);
      default:
        unauthenticated(
          `The Authorization scheme '${scheme.slice(0, 32)}' is not supported: use Bearer or SharedAccessSignature.`,
        );
    }
  }

  /**
   * On first start, create the administrator token `admin` with `secret`
   * (GATEHOUSE_ADMIN_TOKEN) or a generated secret, which is returned so the
   * CLI can print it once. When `admin` exists and a secret is given that
   * differs, the secret is replaced, so CI can drive a fresh or reused data dir.
   */
  async ensureBootstrapToken(secret?: string): Promise<{ secret?: string; created: boolean }> {
    if (secret !== undefined && (secret.length < MIN_BOOTSTRAP_SECRET_LENGTH || /\s/.test(secret))) {
      throw commonError(
        'ERR_VALIDATION',
        `The administrator token secret (GATEHOUSE_ADMIN_TOKEN) must be at least ${MIN_BOOTSTRAP_SECRET_LENGTH} characters, without spaces.`,
      );
    }
    const now = this.now();
    const expiry = new Date(now.getTime() + BOOTSTRAP_LIFETIME_MS);
    const roles: RoleAssignment[] = [{ role: ROLE_IDS.administrator }];
    const existing = await this.db
      .selectFrom('api_tokens')
      .selectAll()
      .where('id', '=', BOOTSTRAP_TOKEN_ID)
      .executeTakeFirst();
    if (!existing) {
      const chosen = secret ?? newSecret();
      await this.save(BOOTSTRAP_TOKEN_ID, chosen, roles, expiry, now);
      return secret === undefined ? { secret: chosen, created: true } : { created: true };
    }
    if (secret !== undefined) {
      const current = toApi(existing);
      const stale =
        !sameHash(existing.secret_hash, hashSecret(secret)) ||
        Date.parse(existing.expiry) <= now.getTime() ||
        !current.roles.some((r) => r.role === ROLE_IDS.administrator);
      // The operator said "this is the administrator's secret": make it so.
      if (stale) {
        await this.db
          .updateTable('api_tokens')
          .set({
            secret_hash: hashSecret(secret),
            roles: JSON.stringify(roles),
            expiry: expiry.toISOString(),
          })
          .where('id', '=', BOOTSTRAP_TOKEN_ID)
          .execute();
      }
    }
    return { created: false };
  }

  private async authenticateBearer(secret: string): Promise<ApiPrincipal> {
    if (secret === '' || /\s/.test(secret))
      unauthenticated('The Authorization header is malformed: expected "Bearer <secret>".');
    const hash = hashSecret(secret);
    const row = await this.db
      .selectFrom('api_tokens')
      .selectAll()
      .where('secret_hash', '=', hash)
      .executeTakeFirst();
    if (!row || !sameHash(row.secret_hash, hash)) unauthenticated(UNKNOWN_BEARER);
    return this.accept(row);
  }

  private async authenticateSas(fieldsText: string): Promise<ApiPrincipal> {
    const fields = parseSasFields(fieldsText);
    const sig = fields.get('sig');
    const skn = fields.get('skn');
    const se = fields.get('se');
    if (!sig || !skn) {
      unauthenticated(
        'The Authorization header is malformed: a SharedAccessSignature needs sig=<secret> and skn=<token ID>.',
      );
    }
    if (se !== undefined && !/^[0-9]{1,16}$/.test(se)) {
      unauthenticated('The Authorization header is malformed: se must be the expiry in epoch milliseconds.');
    }
    const row = await this.db.selectFrom('api_tokens').selectAll().where('id', '=', skn).executeTakeFirst();
    // Hash either way, so an unknown ID and a wrong secret take the same time.
    const presented = hashSecret(sig);
    const matches = sameHash(row?.secret_hash ?? '0'.repeat(64), presented);
    if (!row || !matches) unauthenticated(UNKNOWN_TOKEN);
    if (se !== undefined && Number(se) <= this.now().getTime()) {
      unauthenticated(`The API token '${row.id}' has expired (se=${se}).`);
    }
    return this.accept(row);
  }

  private accept(row: TokenRow): ApiPrincipal {
    if (Date.parse(row.expiry) <= this.now().getTime()) {
      unauthenticated(`The API token '${row.id}' expired at ${row.expiry}: create a new one.`);
    }
    return { kind: 'apiToken', tokenId: row.id, roles: toApi(row).roles.map((r) => r.role) };
  }

  private async save(
    id: string,
    secret: string,
    roles: RoleAssignment[],
    expiry: Date,
    now: Date,
  ): Promise<void> {
    const row = {
      id,
      secret_hash: hashSecret(secret),
      roles: JSON.stringify(roles),
      expiry: expiry.toISOString(),
      created_at: nowIso(now),
    };
    await this.db
      .insertInto('api_tokens')
      .values(row)
      .onConflict((oc) =>
        oc.column('id').doUpdateSet({ secret_hash: row.secret_hash, roles: row.roles, expiry: row.expiry }),
      )
      .execute();
  }

  private async require(id: string): Promise<TokenRow> {
    checkId('apiTokenId', id);
    const row = await this.db.selectFrom('api_tokens').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw appError('ERR_API_TOKEN_NOT_FOUND', `API token '${id}' does not exist.`);
    return row;
  }

  private tokenText(id: string, secret: string, expiry: Date): string {
    return `SharedAccessSignature sr=${encodeURIComponent(this.hostName)}&sig=${secret}&skn=${id}&se=${expiry.getTime()}`;
  }
}

/**
 * The field list of an API token. Not `parseSharedAccessSignature` of
 * @gatehouse/protocol: that one checks a device token (standard base64 `sig`,
 * `se` in seconds), while here `sig` is a base64url secret and `se` is in ms.
 */
function parseSasFields(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  if (text === '' || /\s/.test(text)) {
    unauthenticated(
      'The Authorization header is malformed: expected "SharedAccessSignature sr=…&sig=…&skn=…&se=…".',
    );
  }
  for (const segment of text.split('&')) {
    const eq = segment.indexOf('=');
    if (eq <= 0)
      unauthenticated(
        'The Authorization header is malformed: every SharedAccessSignature field must be name=value.',
      );
    const name = segment.slice(0, eq);
    let value: string;
    try {
      value = decodeURIComponent(segment.slice(eq + 1));
    } catch {
      unauthenticated(
        `The Authorization header is malformed: field '${name.slice(0, 16)}' has bad percent-encoding.`,
      );
    }
    if (fields.has(name))
      unauthenticated(`The Authorization header is malformed: field '${name.slice(0, 16)}' appears twice.`);
    fields.set(name, value);
  }
  return fields;
}

/** `roles` of a body: at least one `{ role: <role ID> }`, duplicates dropped (also used for users). */
export function parseRoles(value: unknown): RoleAssignment[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw commonError(
      'ERR_VALIDATION',
      "'roles' is required: an array of at least one { role: <role ID> } (see GET /api/roles).",
    );
  }
  const out: RoleAssignment[] = [];
  value.forEach((item: unknown, i) => {
    if (!isObject(item))
      throw commonError('ERR_VALIDATION', `'roles[${i}]' must be an object { role: <role ID> }.`);
    const role = item['role'];
    if (!isRoleId(role)) {
      throw commonError(
        'ERR_VALIDATION',
        `'roles[${i}].role' must be the ID of a role (see GET /api/roles), not '${String(role)}'.`,
      );
    }
    if (item['organization'] !== undefined) {
      throw commonError('ERR_VALIDATION', `'roles[${i}].organization': organizations are not supported.`);
    }
    if (!out.some((r) => r.role === role)) out.push({ role });
  });
  return out;
}

function parseExpiry(value: unknown, now: Date): Date {
  if (value === undefined || value === null) return new Date(now.getTime() + DEFAULT_LIFETIME_MS);
  if (typeof value !== 'string' || !ISO_DATE_TIME.test(value) || Number.isNaN(Date.parse(value))) {
    throw commonError(
      'ERR_VALIDATION',
      "'expiry' must be an ISO 8601 date-time such as 2030-01-01T00:00:00Z.",
    );
  }
  const expiry = new Date(Date.parse(value));
  if (expiry.getTime() <= now.getTime())
    throw commonError('ERR_VALIDATION', "'expiry' must be in the future.");
  return expiry;
}

function toApi(row: TokenRow): ApiToken {
  let roles: RoleAssignment[] = [];
  try {
    const parsed: unknown = JSON.parse(row.roles);
    if (Array.isArray(parsed)) {
      roles = parsed
        .filter((r): r is RoleAssignment => isObject(r) && isRoleId(r['role']))
        .map((r) => ({ role: r.role }));
    }
  } catch {
    // A corrupt row grants nothing.
  }
  return { id: row.id, roles, expiry: row.expiry };
}
