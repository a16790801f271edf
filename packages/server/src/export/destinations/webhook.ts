/**
 * `webhook@v1`: an HTTP POST of each message (or, with `batching`, of a JSON array of messages)
 * with the destination's query and header customizations and its authorization (EXPORT_RULES.md
 * §2.10). A send resolves once every POST answered 2xx; anything else rejects with a
 * {@link DeliveryError} in words: refused, DNS, TLS, timeout, or `HTTP 503: <first line>`.
 */
import { createHmac } from 'node:crypto';

import { DeliveryError, type DeliveryContext, type DestinationAdapter } from '../contracts.js';
import { OAuthClient } from './webhook-oauth.js';
import type { WebhookConfig } from './webhook-config.js';

export { maskWebhookDestination, validateWebhookDestination, type WebhookConfig } from './webhook-config.js';

/** One POST may take this long before it counts as failed. */
const REQUEST_TIMEOUT_MS = 15_000;

/** A network failure in words a user can act on (`cause.code` of undici's "fetch failed"). */
export function describeFetchError(err: unknown, url: string): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  const code = cause?.code ?? (err as { code?: string }).code;
  const host = (() => {
    try {
      return new URL(url).host;
    } catch {
      return url;
    }
  })();
  if ((err as Error).name === 'TimeoutError')
    return `no answer from ${host} within ${REQUEST_TIMEOUT_MS / 1000} s`;
  switch (code) {
    case 'ECONNREFUSED':
      return `connection refused by ${host}`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `DNS: the host name of ${host} does not resolve`;
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
      return `connection to ${host} closed before the answer`;
    case 'UND_ERR_CONNECT_TIMEOUT':
      return `connecting to ${host} timed out`;
    default:
      if (code && /CERT|SSL|TLS|SELF_SIGNED|ERR_TLS/.test(code)) {
        return `TLS: ${cause?.message ?? code} (${host})`;
      }
      return `${host}: ${cause?.message ?? (err as Error).message}`;
  }
}

/** `HTTP 500: <the body's first line>`, as a destination's `errors` shows it. */
export async function describeHttpFailure(res: Response): Promise<string> {
  const text = await res.text().catch(() => '');
  const first = text.split(/\r?\n/, 1)[0]?.trim().slice(0, 200) ?? '';
  return `HTTP ${res.status}${first ? `: ${first}` : ` ${res.statusText}`}`;
}

export class WebhookDestination implements DestinationAdapter {
  private readonly oauth: OAuthClient | undefined;
  private readonly url: string;
  private readonly controller = new AbortController();

  constructor(private readonly config: WebhookConfig) {
    const url = new URL(config.url);
    for (const [name, c] of Object.entries(config.queryCustomizations ?? {}))
      url.searchParams.set(name, c.value);
    this.url = url.toString();
    this.oauth = config.authorization?.type === 'oauth' ? new OAuthClient(config.authorization) : undefined;
  }

  async send(batch: readonly unknown[], _context: DeliveryContext): Promise<void> {
    if (this.config.batching?.enabled) {
      const size = this.config.batching.maxMessages;
      for (let i = 0; i < batch.length; i += size) await this.post(JSON.stringify(batch.slice(i, i + size)));
    } else {
      for (const message of batch) await this.post(JSON.stringify(message));
    }
  }

  async close(): Promise<void> {
    this.controller.abort();
  }

  private async headers(body: string): Promise<Record<string, string>> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    for (const [name, c] of Object.entries(this.config.headerCustomizations ?? {}))
      headers[name.toLowerCase()] = c.value;
    const auth = this.config.authorization;
    if (auth?.type === 'header') headers['authorization'] = auth.value;
    if (this.oauth) headers['authorization'] = await this.oauth.authorization();
    if (this.config.signature) {
      const mac = createHmac('sha256', this.config.signature.secret).update(body).digest('hex');
      headers[this.config.signature.header.toLowerCase()] = `sha256=${mac}`;
    }
    return headers;
  }

  private async post(body: string): Promise<void> {
    if (this.controller.signal.aborted) throw new DeliveryError('the destination was closed');
    let res: Response;
    try {
      res = await fetch(this.url, {
        method: 'POST',
        headers: await this.headers(body),
        body,
        signal: AbortSignal.any([this.controller.signal, AbortSignal.timeout(REQUEST_TIMEOUT_MS)]),
      });
    } catch (err) {
      if (err instanceof DeliveryError) throw err;
      throw new DeliveryError(describeFetchError(err, this.url));
    }
    if (res.status >= 200 && res.status < 300) {
      await res.body?.cancel().catch(() => undefined);
      return;
    }
    // A refused token is fetched again on the next try.
    if (res.status === 401) this.oauth?.forget();
    const permanent = res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429;
    throw new DeliveryError(await describeHttpFailure(res), permanent);
  }
}

export function createWebhookDestination(config: Record<string, unknown>): DestinationAdapter {
  return new WebhookDestination(config as unknown as WebhookConfig);
}
