/**
 * OAuth 2.0 client credentials for `webhook@v1` (EXPORT_RULES.md §2.10, SPEC-P
 * `WebhookV1DestinationOAuthAuth`): the token is fetched from `tokenUrl` and sent as
 * `Authorization: Bearer …` until shortly before `expires_in`, or until the webhook answers 401.
 * `requestType` json sends the request as JSON; auto and urlencoded as a form (RFC 6749 §4.4.2).
 */
import { DeliveryError } from '../contracts.js';
import type { WebhookAuthorization } from './webhook-config.js';

type OAuth = Extract<WebhookAuthorization, { type: 'oauth' }>;

/** Renewed this long before it expires. */
const EARLY_MS = 30_000;

export class OAuthClient {
  private token: { value: string; expires: number } | undefined;

  constructor(private readonly auth: OAuth) {}

  forget(): void {
    this.token = undefined;
  }

  async authorization(): Promise<string> {
    if (!this.token || Date.now() >= this.token.expires) this.token = await this.fetchToken();
    return `Bearer ${this.token.value}`;
  }

  private async fetchToken(): Promise<{ value: string; expires: number }> {
    const fields: Record<string, string> = {
      grant_type: 'client_credentials',
      client_id: this.auth.clientId,
      client_secret: this.auth.clientSecret,
      ...(this.auth.scope ? { scope: this.auth.scope } : {}),
      ...(this.auth.audience ? { audience: this.auth.audience } : {}),
    };
    const json = this.auth.requestType === 'json';
    let res: Response;
    try {
      res = await fetch(this.auth.tokenUrl, {
        method: 'POST',
        headers: { 'content-type': json ? 'application/json' : 'application/x-www-form-urlencoded' },
        body: json ? JSON.stringify(fields) : new URLSearchParams(fields).toString(),
        signal: AbortSignal.timeout(15_000),
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new DeliveryError(
        `OAuth token request failed: ${cause?.code ?? cause?.message ?? (err as Error).message}`,
      );
    }
    const text = await res.text();
    if (!res.ok) {
      throw new DeliveryError(
        `OAuth token request: HTTP ${res.status}: ${text.split(/\r?\n/, 1)[0]?.slice(0, 200) ?? ''}`,
        res.status >= 400 && res.status < 500,
      );
    }
    let body: { access_token?: unknown; expires_in?: unknown };
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      throw new DeliveryError('OAuth token request: the answer is not JSON');
    }
    if (typeof body.access_token !== 'string') {
      throw new DeliveryError('OAuth token request: the answer has no access_token');
    }
    const seconds = typeof body.expires_in === 'number' ? body.expires_in : 3600;
    return { value: body.access_token, expires: Date.now() + Math.max(0, seconds * 1000 - EARLY_MS) };
  }
}
