/**
 * `webhook@v1`: an HTTP POST of each message (or, with `batching`, of a JSON array of messages)
 * with the destination's query and header customizations and its authorization (EXPORT_RULES.md
 * §2.10). A send resolves once every POST answered 2xx; anything else rejects with a
 * {@link DeliveryError} in words: refused, DNS, TLS, timeout, or `HTTP 503: <first line>`.
 */
import { createHmac } from 'node:crypto';
import { Agent as HttpAgent, request as httpRequest, type ClientRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

import { DeliveryError, type DeliveryContext, type DestinationAdapter } from '../contracts.js';
import { OAuthClient } from './webhook-oauth.js';
import type { WebhookConfig } from './webhook-config.js';

export { maskWebhookDestination, validateWebhookDestination, type WebhookConfig } from './webhook-config.js';

/** One POST may take this long before it counts as failed. */
const REQUEST_TIMEOUT_MS = 15_000;
/** POSTs in flight at once when messages are sent one per request. */
const PARALLEL_POSTS = 16;

/** A network failure in words a user can act on (the error's `code`, or its cause's for fetch). */
export function describeFetchError(err: unknown, url: string): string {
  const cause =
    (err as { cause?: { code?: string; message?: string } }).cause ??
    (err as { code?: string; message?: string });
  const code = cause.code;
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
        return `TLS: ${cause.message ?? code} (${host})`;
      }
      return `${host}: ${cause.message ?? (err as Error).message}`;
  }
}

export class WebhookDestination implements DestinationAdapter {
  private readonly oauth: OAuthClient | undefined;
  private readonly url: string;
  private closed = false;
  private readonly inflight = new Set<ClientRequest>();
  private readonly agents = {
    http: new HttpAgent({ keepAlive: true, maxSockets: PARALLEL_POSTS }),
    https: new HttpsAgent({ keepAlive: true, maxSockets: PARALLEL_POSTS }),
  };

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
      // Several POSTs in flight (keep-alive connections): one at a time caps a webhook at the
      // inverse of its round trip. Arrival order is then best effort, as EXPORT_RULES.md §2.9 allows.
      let next = 0;
      const worker = async () => {
        while (next < batch.length) await this.post(JSON.stringify(batch[next++]));
      };
      await Promise.all(Array.from({ length: Math.min(PARALLEL_POSTS, batch.length) }, worker));
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const req of this.inflight) req.destroy(new Error('the destination was closed'));
    this.agents.http.destroy();
    this.agents.https.destroy();
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
    if (this.closed) throw new DeliveryError('the destination was closed');
    const headers = await this.headers(body);
    let answer: { status: number; text: string };
    try {
      answer = await this.request(body, headers);
    } catch (err) {
      throw new DeliveryError(describeFetchError(err, this.url));
    }
    if (answer.status >= 200 && answer.status < 300) return;
    // A refused token is fetched again on the next try.
    if (answer.status === 401) this.oauth?.forget();
    const permanent =
      answer.status >= 400 && answer.status < 500 && answer.status !== 408 && answer.status !== 429;
    const first = answer.text.split(/\r?\n/, 1)[0]?.trim().slice(0, 200) ?? '';
    throw new DeliveryError(`HTTP ${answer.status}${first ? `: ${first}` : ''}`, permanent);
  }

  /**
   * One POST over node:http(s) with a keep-alive agent: a fraction of fetch()'s CPU per request,
   * which matters at thousands of messages per second.
   */
  private request(body: string, headers: Record<string, string>): Promise<{ status: number; text: string }> {
    const url = new URL(this.url);
    const client = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = client(
        url,
        {
          method: 'POST',
          agent: url.protocol === 'https:' ? this.agents.https : this.agents.http,
          headers: { ...headers, 'content-length': Buffer.byteLength(body) },
          timeout: REQUEST_TIMEOUT_MS,
        },
        (res) => {
          const ok = (res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 300;
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            // Only the first line of a refusal is kept: no need to hold a large body.
            if (!ok && size < 4096) chunks.push(c);
            size += c.length;
          });
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
          );
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { name: 'TimeoutError' })));
      req.on('error', reject);
      this.inflight.add(req);
      req.on('close', () => this.inflight.delete(req));
      req.end(body);
    });
  }
}

export function createWebhookDestination(config: Record<string, unknown>): DestinationAdapter {
  return new WebhookDestination(config as unknown as WebhookConfig);
}
