import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import { characterCount, nowIso } from '../util.js';
import { commonError, isObject } from '../validation.js';
import { appError } from './errors.js';
import { MAX_PASSWORD_LENGTH, verifyPassword } from './passwords.js';
import { describePrincipal, type ApiPrincipal } from './principal.js';
import { SignInLimits, type SignInAttempt, type SignInLimitOptions } from './sign-in-limits.js';
import { toApi, userRoles, usernameKey, type User, type UserService } from './users.js';

/** `POST /api/session` answer: the only time the token is shown. */
export interface CreatedSession {
  token: string;
  expiresAt: string;
  user: SessionUser;
}

/** `GET /api/session` answer. */
export interface SessionInfo {
  user: SessionUser;
  expiresAt: string;
  /** The session ends after this long without a request (`--session-idle-timeout`). */
  idleTimeoutSeconds: number;
}

/** The signed-in user as the web UI needs it: roles as plain role IDs. */
export interface SessionUser {
  id: string;
  username: string;
  roles: string[];
}

export interface SessionServiceOptions {
  now?: () => Date;
  /** Session lifetime; default 12 hours (fixed from sign-in, not sliding). */
  lifetimeMs?: number;
  /**
   * A session unused this long ends (OWASP ASVS 5.0 7.3.1); default 30 minutes. Every
   * authenticated request counts as use, a dashboard's refresh included.
   */
  idleTimeoutMs?: number;
  /** Failed sign-ins per user name allowed within `throttleWindowMs` (default 10 per minute). */
  maxFailures?: number;
  throttleWindowMs?: number;
  /** The per-address and per-user-name hourly limits (sign-in-limits.ts). */
  limits?: SignInLimitOptions;
}

const HOUR_MS = 3_600_000;
/** A working day: long enough not to interrupt, short enough that a forgotten browser tab ends. */
const DEFAULT_LIFETIME_MS = 12 * HOUR_MS;
/** NIST SP 800-63B's inactivity limit at AAL2. */
export const DEFAULT_IDLE_TIMEOUT_MS = 30 * 60_000;
/** `last_used_at` is written at most this often per session (one write a minute, not per request). */
const TOUCH_INTERVAL_MS = 60_000;
/** Longer than any user name; passwords are measured as the rules measure them (passwords.ts). */
const MAX_INPUT_LENGTH = 1024;
const SIGNIN_FAILED = 'The user name or password is wrong.';

function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/**
 * Sign-in sessions of the web UI. A session token is an opaque 256-bit random
 * secret, sent as `Authorization: Bearer <token>` like an API token secret and
 * stored only as its SHA-256 hash (DESIGN.md security rules); the session ends
 * 12 hours after sign-in, after 30 minutes without a request, on sign-out, or when the
 * user's password changes.
 */
export class SessionService {
  private readonly now: () => Date;
  private readonly lifetimeMs: number;
  private readonly idleTimeoutMs: number;
  private readonly limits: SignInLimits;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly users: UserService,
    options: SessionServiceOptions = {},
  ) {
    this.now = options.now ?? (() => new Date());
    this.lifetimeMs = options.lifetimeMs ?? DEFAULT_LIFETIME_MS;
    this.idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
    this.limits = new SignInLimits({
      ...options.limits,
      ...(options.maxFailures !== undefined ? { burstFailures: options.maxFailures } : {}),
      ...(options.throttleWindowMs !== undefined ? { burstWindowMs: options.throttleWindowMs } : {}),
      now: this.now,
    });
  }

  /**
   * `POST /api/session` `{ username, password }`. An unknown user name and a
   * wrong password get the same answer after the same work (passwords.ts). `clientIp`: the
   * caller's address, for the per-address limit.
   */
  async signIn(body: unknown, clientIp?: string): Promise<CreatedSession> {
    if (!isObject(body))
      throw commonError('ERR_VALIDATION', 'The body must be a JSON object { username, password }.');
    const username = body['username'];
    const password = body['password'];
    if (typeof username !== 'string' || username === '' || username.length > MAX_INPUT_LENGTH)
      throw commonError('ERR_VALIDATION', "'username' is required: the user name you sign in with.");
    if (typeof password !== 'string' || password === '' || characterCount(password) > MAX_PASSWORD_LENGTH)
      throw commonError('ERR_VALIDATION', "'password' is required.");
    const key = usernameKey(username);
    const row = await this.throttled(key, clientIp, async () => {
      const found = await this.users.findByUsername(username);
      return (await verifyPassword(password, found?.password_hash)) ? found : undefined;
    });
    if (!row) throw appError('ERR_SIGNIN_FAILED', SIGNIN_FAILED);
    // Said only to someone who knows the password.
    if (row.disabled !== 0)
      throw appError('ERR_USER_DISABLED', `User '${row.username}' is disabled: ask an administrator.`);
    const now = this.now();
    const token = randomBytes(32).toString('base64url');
    const expiresAt = new Date(now.getTime() + this.lifetimeMs).toISOString();
    await this.db.transaction().execute(async (trx) => {
      // Housekeeping on the way: expired sessions are useless rows.
      await trx.deleteFrom('user_sessions').where('expires_at', '<=', nowIso(now)).execute();
      await trx
        .insertInto('user_sessions')
        .values({
          id: randomUUID(),
          token_hash: hashToken(token),
          user_id: row.id,
          created_at: nowIso(now),
          expires_at: expiresAt,
          last_used_at: nowIso(now),
        })
        .execute();
    });
    return { token, expiresAt, user: sessionUser(toApi(row)) };
  }

  /**
   * The principal of a Bearer secret that is a session token; undefined when it
   * is not one (then it may be an API token). An expired session, and one unused for the
   * idle timeout, are refused here; a session in use has its `last_used_at` moved on at
   * most once a minute.
   */
  async authenticate(secret: string): Promise<ApiPrincipal | undefined> {
    const hash = hashToken(secret);
    const session = await this.db
      .selectFrom('user_sessions')
      .innerJoin('users', 'users.id', 'user_sessions.user_id')
      .selectAll('users')
      .select([
        'user_sessions.id as session_id',
        'user_sessions.token_hash',
        'user_sessions.expires_at',
        'user_sessions.created_at as session_created_at',
        'user_sessions.last_used_at',
        'users.disabled as user_disabled',
      ])
      .where('user_sessions.token_hash', '=', hash)
      .executeTakeFirst();
    if (!session || !timingSafeEqual(Buffer.from(session.token_hash, 'hex'), Buffer.from(hash, 'hex')))
      return undefined;
    // Disabling deletes the sessions too; this is the second lock of the same door.
    if (session.user_disabled !== 0)
      throw commonError(
        'ERR_UNAUTHENTICATED',
        `User '${session.username}' is disabled: the session has ended.`,
      );
    const now = this.now();
    if (Date.parse(session.expires_at) <= now.getTime()) {
      throw commonError(
        'ERR_UNAUTHENTICATED',
        `The session of user '${session.username}' expired at ${session.expires_at}: sign in again.`,
      );
    }
    const lastUsed = session.last_used_at ?? session.session_created_at;
    const idleMs = now.getTime() - Date.parse(lastUsed);
    if (idleMs >= this.idleTimeoutMs) {
      await this.db.deleteFrom('user_sessions').where('id', '=', session.session_id).execute();
      throw commonError(
        'ERR_UNAUTHENTICATED',
        `The session of user '${session.username}' ended after ${formatMinutes(this.idleTimeoutMs)} without use (last used at ${lastUsed}): sign in again.`,
      );
    }
    if (idleMs >= TOUCH_INTERVAL_MS) {
      await this.db
        .updateTable('user_sessions')
        .set({ last_used_at: nowIso(now) })
        .where('id', '=', session.session_id)
        .execute();
    }
    return {
      kind: 'user',
      userId: session.id,
      username: session.username,
      sessionId: session.session_id,
      roles: userRoles(session).map((r) => r.role),
    };
  }

  /** `GET /api/session`. */
  async get(principal: ApiPrincipal | null): Promise<SessionInfo> {
    const { user, session } = await this.current(principal);
    return {
      user: sessionUser(user),
      expiresAt: session.expires_at,
      idleTimeoutSeconds: Math.round(this.idleTimeoutMs / 1000),
    };
  }

  /** `DELETE /api/session`: the token stops working at once. */
  async signOut(principal: ApiPrincipal | null): Promise<void> {
    const { user, session } = await this.current(principal);
    await this.db.deleteFrom('user_sessions').where('id', '=', session.id).execute();
    this.users.sessionEnds.emit(user.id);
  }

  /**
   * `POST /api/session/password` `{ currentPassword, newPassword }`. Failures
   * count toward the sign-in throttle: a stolen session must not become a way
   * to guess the password. The user's other sessions end; this one goes on.
   */
  async changePassword(principal: ApiPrincipal | null, body: unknown): Promise<void> {
    const { user, session } = await this.current(principal);
    if (!isObject(body))
      throw commonError('ERR_VALIDATION', 'The body must be a JSON object { currentPassword, newPassword }.');
    const currentPassword = body['currentPassword'];
    const newPassword = body['newPassword'];
    if (typeof currentPassword !== 'string' || characterCount(currentPassword) > MAX_PASSWORD_LENGTH)
      throw commonError('ERR_VALIDATION', "'currentPassword' is required.");
    if (typeof newPassword !== 'string') throw commonError('ERR_VALIDATION', "'newPassword' is required.");
    const key = usernameKey(user.username);
    const ok = await this.throttled(key, undefined, async () => {
      const row = await this.users.row(user.id);
      return (await verifyPassword(currentPassword, row?.password_hash)) || undefined;
    });
    if (!ok) throw appError('ERR_CURRENT_PASSWORD_WRONG', "'currentPassword' is not your current password.");
    await this.users.setPassword(user.id, newPassword, session.id);
  }

  /**
   * Runs the password check `verify` for user name `key` under the throttle. The slot
   * is taken before the check awaits, so parallel guesses count while they are being
   * checked (at most `maxFailures` are ever checked at once). `verify` answers undefined
   * for a wrong password; that, and an error, count as a failure.
   */
  private async throttled<T>(
    key: string,
    ip: string | undefined,
    verify: () => Promise<T | undefined>,
  ): Promise<T | undefined> {
    const attempt = this.reserveAttempt(key, ip);
    let result: T | undefined;
    try {
      result = await verify();
    } finally {
      if (result === undefined) this.limits.fail(attempt);
      else this.limits.succeed(attempt);
    }
    return result;
  }

  private reserveAttempt(key: string, ip: string | undefined): SignInAttempt {
    const attempt = this.limits.reserve(key, ip);
    if ('held' in attempt) return attempt;
    const seconds = Math.ceil(attempt.waitMs / 1000);
    const detail = { retryAfterSeconds: seconds };
    if (attempt.scope === 'ip') {
      throw appError(
        'ERR_SIGNIN_IP_THROTTLED',
        `Too many failed sign-ins from this address: try again in ${seconds} s.`,
        { detail },
      );
    }
    throw appError(
      'ERR_SIGNIN_THROTTLED',
      `Too many failed sign-ins for this user name: try again in ${seconds} s.`,
      { detail },
    );
  }

  private async current(
    principal: ApiPrincipal | null,
  ): Promise<{ user: User; session: { id: string; expires_at: string } }> {
    if (principal?.kind !== 'user') {
      throw appError(
        'ERR_SESSION_REQUIRED',
        `${principal ? describePrincipal(principal) : 'The caller'} is not a signed-in user: sign in with POST /api/session.`,
      );
    }
    const session = await this.db
      .selectFrom('user_sessions')
      .select(['id', 'expires_at'])
      .where('id', '=', principal.sessionId)
      .executeTakeFirst();
    const row = await this.users.row(principal.userId);
    // Signed out or deleted between authentication and here.
    if (!session || !row) throw commonError('ERR_UNAUTHENTICATED', 'The session has ended: sign in again.');
    return { user: toApi(row), session };
  }
}

function formatMinutes(ms: number): string {
  const minutes = Math.round(ms / 60_000);
  return minutes === 1 ? '1 minute' : `${minutes} minutes`;
}

function sessionUser(user: User): SessionUser {
  return { id: user.id, username: user.username, roles: user.roles.map((r) => r.role) };
}
