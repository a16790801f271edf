import type { ApiTokenService } from './api-tokens.js';
import type { ApiPrincipal } from './principal.js';
import type { SessionService } from './sessions.js';

/** What the REST API's auth hook calls (api/auth.ts). */
export interface Authenticator {
  authenticate(authorization: string | undefined): Promise<ApiPrincipal>;
}

const MAX_HEADER_LENGTH = 4096;

/**
 * The credentials the REST API accepts: a web UI session token or an API token
 * secret as `Bearer <secret>`, or the API token text (`SharedAccessSignature …`).
 * Both secrets are 256-bit random values looked up by hash, so a Bearer secret
 * is tried as a session first and then as an API token; every refusal (and
 * every malformed header) is the API token service's, with its messages.
 */
export class ApiAuthenticator implements Authenticator {
  constructor(
    private readonly tokens: ApiTokenService,
    private readonly sessions: SessionService,
  ) {}

  async authenticate(authorization: string | undefined): Promise<ApiPrincipal> {
    const secret = bearerSecret(authorization);
    if (secret !== undefined) {
      const principal = await this.sessions.authenticate(secret);
      if (principal) return principal;
    }
    return this.tokens.authenticate(authorization);
  }
}

/** The secret of a well-formed `Bearer <secret>` header, else undefined. */
function bearerSecret(authorization: string | undefined): string | undefined {
  if (authorization === undefined || authorization.length > MAX_HEADER_LENGTH) return undefined;
  const match = /^\s*bearer\s+(\S+)\s*$/i.exec(authorization);
  return match?.[1];
}
