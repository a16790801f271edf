import type { Kysely, Selectable } from 'kysely';
import type { Database, UsersTable } from '../store/schema.js';
import { isUniqueViolation, serializable } from '../store/transactions.js';
import { characterCount, nowIso } from '../util.js';
import { checkId, commonError, isObject } from '../validation.js';
import { parseRoles, type RoleAssignment } from './api-tokens.js';
import { appError } from './errors.js';
import {
  generatePassword,
  hashPassword,
  MAX_PASSWORD_LENGTH,
  MIN_PASSWORD_LENGTH,
  verifyPassword,
} from './passwords.js';
import { isCommonPassword } from './common-passwords.js';
import type { ApiPrincipal } from './principal.js';
import { isRoleId, ROLE_IDS } from './roles.js';
import { SessionEnds } from './session-ends.js';

/**
 * A user as `GET /api/users[/{id}]` returns it (CENTRAL_API.md §1.2 `User`, type
 * `email`), plus `username`, what the user signs in with. Never the password.
 */
export interface User {
  id: string;
  type: 'email';
  email: string;
  username: string;
  roles: RoleAssignment[];
  /** Present (true) only on a disabled user: signs in nowhere, has no session. */
  disabled?: true;
}

export type UserRow = Selectable<UsersTable>;

/** The ID and user name of the administrator created on first start. */
export const ADMIN_USER_ID = 'admin';

const MAX_NAME_LENGTH = 254;
const EMAIL = /^[^\s@\p{Cc}]+@[^\s@\p{Cc}]+$/u;
// Printable, no spaces: a user name is typed into a sign-in form and shown in messages.
const USERNAME = /^[^\s\p{Cc}]+$/u;
/**
 * Characters that show nothing or reorder what is shown: format characters (Cf: zero-width
 * spaces and joiners U+200B–U+200D, the direction marks and overrides U+200E–U+200F,
 * U+202A–U+202E and U+2066–U+2069, U+FEFF, the soft hyphen) and lone surrogates (Cs). In a
 * user name they make two names look alike, or make one read as another in the user list and
 * in messages (Unicode TR #36 §2 visual spoofing). Controls (Cc) break USERNAME and EMAIL.
 */
const INVISIBLE = /[\p{Cf}\p{Cs}]/u;

/**
 * The users of the web UI (DESIGN.md: the UI requires authentication). Each has
 * roles like an API token and a password stored as an scrypt hash. Sessions
 * (sessions.ts) are how a signed-in user calls the API.
 */
export class UserService {
  private readonly now: () => Date;
  /** Raised after a change that ends sessions of a user (session-ends.ts). */
  readonly sessionEnds = new SessionEnds();

  constructor(
    private readonly db: Kysely<Database>,
    options: { now?: () => Date } = {},
  ) {
    this.now = options.now ?? (() => new Date());
  }

  async list(): Promise<User[]> {
    const rows = await this.db.selectFrom('users').selectAll().orderBy('created_at').orderBy('id').execute();
    return rows.map(toApi);
  }

  async get(id: string): Promise<User> {
    return toApi(await this.require(id));
  }

  /** The user row a session or a sign-in names; undefined when it is gone. */
  async row(id: string): Promise<UserRow | undefined> {
    return this.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** The user who signs in with `username` (case ignored). */
  async findByUsername(username: string): Promise<UserRow | undefined> {
    return this.db
      .selectFrom('users')
      .selectAll()
      .where('username_key', '=', usernameKey(username))
      .executeTakeFirst();
  }

  /**
   * `PUT /api/users/{id}`: create or replace. Body `{ type: "email", email,
   * roles, username?, password? }`; `username` defaults to `email`. Without
   * `password` an existing user keeps theirs (a new one cannot sign in until an
   * administrator sets one). A new password ends the user's other sessions.
   */
  async put(id: string, body: unknown, actor?: ApiPrincipal): Promise<User> {
    checkId('userId', id);
    if (!isObject(body)) throw commonError('ERR_VALIDATION', 'The body must be a JSON object.');
    checkType(body['type'], true);
    const email = parseEmail(body['email']);
    const username = body['username'] === undefined ? email : parseUsername(body['username']);
    const roles = parseRoles(body['roles']);
    const password = parsePassword(body['password']);
    const disabled = parseDisabled(body['disabled']);
    return this.save(id, { email, username, roles, password, disabled }, actor, false);
  }

  /** `PATCH /api/users/{id}`: merge `email`, `username`, `roles`, `password`. */
  async patch(id: string, body: unknown, actor?: ApiPrincipal): Promise<User> {
    const existing = await this.require(id);
    if (!isObject(body)) throw commonError('ERR_VALIDATION', 'The body must be a JSON object.');
    checkType(body['type'], false);
    const current = toApi(existing);
    const change = {
      email: body['email'] === undefined ? current.email : parseEmail(body['email']),
      username: body['username'] === undefined ? current.username : parseUsername(body['username']),
      roles: body['roles'] === undefined ? current.roles : parseRoles(body['roles']),
      password: parsePassword(body['password']),
      disabled: parseDisabled(body['disabled']),
    };
    return this.save(id, change, actor, true);
  }

  /** `DELETE /api/users/{id}`: not yourself, not the last administrator; their sessions end. */
  async delete(id: string, actor?: ApiPrincipal): Promise<void> {
    const existing = await this.require(id);
    if (actor?.kind === 'user' && actor.userId === id) {
      throw appError(
        'ERR_USER_DELETE_SELF',
        `You are signed in as '${existing.username}' and cannot delete your own account: ask another administrator.`,
      );
    }
    await serializable(this.db, async (trx) => {
      // Checked and deleted in one transaction: two concurrent deletions (or a deletion and a
      // demotion) of the last two administrators cannot both see "another one is left".
      const current = await userRow(trx, id);
      if (!current) throw appError('ERR_USER_NOT_FOUND', `User '${id}' does not exist.`);
      if (isAdministrator(current)) await requireAnotherAdministrator(trx, id);
      await trx.deleteFrom('user_sessions').where('user_id', '=', id).execute();
      await trx.deleteFrom('users').where('id', '=', id).execute();
    });
    this.sessionEnds.emit(id);
  }

  /** Replace the password hash; ends every session of the user except `keepSessionId`. */
  async setPassword(id: string, password: string, keepSessionId?: string): Promise<void> {
    checkPasswordRules(password);
    const hash = await hashPassword(password);
    await this.db.transaction().execute(async (trx) => {
      await trx
        .updateTable('users')
        .set({ password_hash: hash, updated_at: nowIso(this.now()) })
        .where('id', '=', id)
        .execute();
      let sessions = trx.deleteFrom('user_sessions').where('user_id', '=', id);
      if (keepSessionId !== undefined) sessions = sessions.where('id', '!=', keepSessionId);
      await sessions.execute();
    });
    this.sessionEnds.emit(id);
  }

  /**
   * On first start (no users yet) create the administrator `admin` with
   * `password` (GATEHOUSE_ADMIN_PASSWORD) or a generated one, which is returned
   * so the CLI can print it once. When a password is given and `admin` does not
   * have it (or is gone, or lost the Administrator role), it is made so: the
   * operator said "this is the administrator's password", as with the token.
   */
  async ensureAdminUser(
    options: { password?: string; email?: string } = {},
  ): Promise<{ password?: string; created: boolean }> {
    const { password } = options;
    if (password !== undefined) {
      checkPasswordRules(password, 'The administrator password (GATEHOUSE_ADMIN_PASSWORD)');
    }
    const admin = await this.row(ADMIN_USER_ID);
    const roles: RoleAssignment[] = [{ role: ROLE_IDS.administrator }];
    if (!admin) {
      const anyone = await this.db.selectFrom('users').select('id').limit(1).executeTakeFirst();
      // Someone deleted `admin` on purpose: only an explicit password brings it back.
      if (anyone && password === undefined) return { created: false };
      const chosen = password ?? generatePassword();
      const now = nowIso(this.now());
      // The user name `admin` may have been given to someone else since: theirs stays.
      const taken = await this.findByUsername(ADMIN_USER_ID);
      const username = taken ? `${ADMIN_USER_ID}-${now.replace(/\D/g, '')}` : ADMIN_USER_ID;
      await this.db
        .insertInto('users')
        .values({
          id: ADMIN_USER_ID,
          type: 'email',
          email: options.email ?? 'admin@localhost',
          username,
          username_key: usernameKey(username),
          password_hash: await hashPassword(chosen),
          roles: JSON.stringify(roles),
          created_at: now,
          updated_at: now,
        })
        .execute();
      return password === undefined ? { password: chosen, created: true } : { created: true };
    }
    if (password !== undefined) {
      if (!(await verifyPassword(password, admin.password_hash)))
        await this.setPassword(ADMIN_USER_ID, password);
      // The operator's way back in: the administrator named by the password is enabled again.
      if (admin.disabled !== 0) {
        await this.db.updateTable('users').set({ disabled: 0 }).where('id', '=', ADMIN_USER_ID).execute();
      }
      if (!isAdministrator(admin)) {
        const current = toApi(admin).roles;
        await this.db
          .updateTable('users')
          .set({ roles: JSON.stringify([...roles, ...current]), updated_at: nowIso(this.now()) })
          .where('id', '=', ADMIN_USER_ID)
          .execute();
      }
    }
    return { created: false };
  }

  /**
   * The write of PUT and PATCH. The password is hashed first; then the checks (user name
   * free, another administrator left) and the write are one serializable transaction that
   * awaits nothing but the database (store/transactions.ts), so concurrent requests, on this
   * node or another, see each other's writes instead of all passing the same check (two
   * demotions leaving no administrator, two creations of one user name).
   */
  private async save(
    id: string,
    change: {
      email: string;
      username: string;
      roles: RoleAssignment[];
      password: string | undefined;
      /** Undefined: as it is (a new user: enabled). */
      disabled: boolean | undefined;
    },
    actor: ApiPrincipal | undefined,
    mustExist: boolean,
  ): Promise<User> {
    const key = usernameKey(change.username);
    const keepsAdmin =
      change.roles.some((r) => r.role === ROLE_IDS.administrator) && change.disabled !== true;
    if (change.disabled === true && actor?.kind === 'user' && actor.userId === id) {
      throw appError(
        'ERR_USER_DISABLE_SELF',
        `You are signed in as '${change.username}' and cannot disable your own account: ask another administrator.`,
      );
    }
    const hash = change.password === undefined ? undefined : await hashPassword(change.password);
    const now = nowIso(this.now());
    const fields = {
      type: 'email',
      email: change.email,
      username: change.username,
      username_key: key,
      roles: JSON.stringify(change.roles),
      updated_at: now,
      ...(hash !== undefined ? { password_hash: hash } : {}),
      ...(change.disabled !== undefined ? { disabled: change.disabled ? 1 : 0 } : {}),
    };
    let endsSessions = hash !== undefined;
    try {
      await serializable(this.db, async (trx) => {
        const holder = await trx
          .selectFrom('users')
          .select('id')
          .where('username_key', '=', key)
          .executeTakeFirst();
        if (holder && holder.id !== id) throw usernameTaken(change.username);
        const existing = await userRow(trx, id);
        // A PATCH of a user deleted meanwhile must not bring it back.
        if (!existing && mustExist) throw appError('ERR_USER_NOT_FOUND', `User '${id}' does not exist.`);
        if (existing && isAdministrator(existing) && !keepsAdmin) await requireAnotherAdministrator(trx, id);
        if (existing) {
          await trx.updateTable('users').set(fields).where('id', '=', id).execute();
        } else {
          await trx
            .insertInto('users')
            .values({ id, ...fields, password_hash: hash ?? null, created_at: now })
            .execute();
        }
        if (change.disabled === true) {
          // ASVS 7.4.2: a disabled account keeps no session (the streams close by sessionEnds).
          await trx.deleteFrom('user_sessions').where('user_id', '=', id).execute();
          endsSessions = true;
        } else if (hash !== undefined) {
          // A new password ends the sessions opened with the old one (but not the caller's own).
          let sessions = trx.deleteFrom('user_sessions').where('user_id', '=', id);
          if (actor?.kind === 'user' && actor.userId === id)
            sessions = sessions.where('id', '!=', actor.sessionId);
          await sessions.execute();
        }
      });
    } catch (err) {
      // The checks above make this unreachable through this service; another writer of the
      // same database (a second process) could still win the race for the user name.
      if (isUniqueViolation(err, 'users', 'username_key')) throw usernameTaken(change.username, err);
      throw err;
    }
    if (endsSessions) this.sessionEnds.emit(id);
    return this.get(id);
  }

  private async require(id: string): Promise<UserRow> {
    checkId('userId', id);
    const row = await this.row(id);
    if (!row) throw appError('ERR_USER_NOT_FOUND', `User '${id}' does not exist.`);
    return row;
  }
}

function userRow(db: Kysely<Database>, id: string): Promise<UserRow | undefined> {
  return db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
}

/**
 * Refuses unless a user other than `exceptId` is an administrator who can sign in: an
 * administrator without a password (created without one) cannot, so does not count.
 */
async function requireAnotherAdministrator(db: Kysely<Database>, exceptId: string): Promise<void> {
  const rows = await db
    .selectFrom('users')
    .selectAll()
    .where('id', '!=', exceptId)
    .where('disabled', '=', 0)
    .where('password_hash', 'is not', null)
    .where('password_hash', '!=', '')
    .execute();
  if (!rows.some(isAdministrator)) {
    throw appError(
      'ERR_LAST_ADMIN',
      `User '${exceptId}' is the last administrator who can sign in: give another user the Administrator role and a password first.`,
    );
  }
}

function usernameTaken(username: string, cause?: unknown): Error {
  return appError('ERR_USERNAME_TAKEN', `The user name '${username}' belongs to another user.`, { cause });
}

/** Sign-in and uniqueness ignore case (and Unicode compatibility forms). */
export function usernameKey(username: string): string {
  return username.normalize('NFKC').toLowerCase();
}

/** The roles of a stored user; a corrupt row grants nothing. */
export function userRoles(row: UserRow): RoleAssignment[] {
  try {
    const parsed: unknown = JSON.parse(row.roles);
    if (!Array.isArray(parsed)) return [];
    return parsed
      .filter((r): r is RoleAssignment => isObject(r) && isRoleId(r['role']))
      .map((r) => ({ role: r.role }));
  } catch {
    return [];
  }
}

export function toApi(row: UserRow): User {
  return {
    id: row.id,
    type: 'email',
    email: row.email,
    username: row.username,
    roles: userRoles(row),
    ...(row.disabled !== 0 ? { disabled: true as const } : {}),
  };
}

function isAdministrator(row: UserRow): boolean {
  return userRoles(row).some((r) => r.role === ROLE_IDS.administrator);
}

function checkType(value: unknown, required: boolean): void {
  if (value === undefined && !required) return;
  if (value !== 'email') {
    throw commonError(
      'ERR_VALIDATION',
      value === 'servicePrincipal' || value === 'adGroup'
        ? `'type' '${value}' is not supported: Gatehouse has no Azure Active Directory; use 'email'.`
        : "'type' is required and must be 'email'.",
    );
  }
}

function parseEmail(value: unknown): string {
  if (typeof value === 'string') checkVisible('email', value);
  if (typeof value !== 'string' || characterCount(value) > MAX_NAME_LENGTH || !EMAIL.test(value)) {
    throw commonError(
      'ERR_VALIDATION',
      `'email' is required: an e-mail address such as ada@example.com, at most ${MAX_NAME_LENGTH} characters.`,
    );
  }
  return value;
}

/** Refuses a name with an {@link INVISIBLE} character, naming its code point. */
function checkVisible(field: 'username' | 'email', value: string): void {
  const found = INVISIBLE.exec(value)?.[0];
  if (found === undefined) return;
  const code = `U+${(found.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`;
  throw commonError(
    'ERR_VALIDATION',
    `'${field}' contains ${code}, an invisible or text-direction control character: ${field === 'email' ? 'an e-mail address (the user name unless one is given)' : 'a user name'} must be visible text only.`,
  );
}

function parseUsername(value: unknown): string {
  if (typeof value === 'string') checkVisible('username', value);
  if (
    typeof value !== 'string' ||
    value.length === 0 ||
    characterCount(value) > MAX_NAME_LENGTH ||
    !USERNAME.test(value)
  ) {
    throw commonError(
      'ERR_VALIDATION',
      `'username' must be 1–${MAX_NAME_LENGTH} characters without spaces or control characters.`,
    );
  }
  return value;
}

function parseDisabled(value: unknown): boolean | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') throw commonError('ERR_VALIDATION', "'disabled' must be true or false.");
  return value;
}

function parsePassword(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw commonError('ERR_VALIDATION', "'password' must be a string.");
  checkPasswordRules(value);
  return value;
}

/** ≥ 8 characters (Unicode code points), ≤ 1024. */
export function checkPasswordRules(password: string, what = 'The password'): void {
  const length = characterCount(password);
  if (length < MIN_PASSWORD_LENGTH) {
    throw appError(
      'ERR_PASSWORD_WEAK',
      `${what} is too short: use at least ${MIN_PASSWORD_LENGTH} characters.`,
    );
  }
  if (length > MAX_PASSWORD_LENGTH) {
    throw appError(
      'ERR_PASSWORD_WEAK',
      `${what} is too long: use at most ${MAX_PASSWORD_LENGTH} characters.`,
    );
  }
  if (isCommonPassword(password)) {
    throw appError(
      'ERR_PASSWORD_WEAK',
      `${what} is one of the 50,000 most common passwords, the first ones an attacker tries: choose another.`,
    );
  }
}
