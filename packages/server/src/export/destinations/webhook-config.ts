/**
 * The `webhook@v1` body (EXPORT_RULES.md §1.3, §2.10): `url`, query and header customizations
 * (`{ value, secret }`, secret ones masked), `authorization` `header` or `oauth` (client
 * credentials). Beyond IoT Central: `signature` (an HMAC-SHA256 of the body in a header, with a
 * per-destination secret) and `batching` (a JSON array of up to `maxMessages` per POST).
 */
import type { FieldProblem } from '../contracts.js';

export interface Customization {
  value: string;
  secret: boolean;
}

export type WebhookAuthorization =
  | { type: 'header'; value: string }
  | {
      type: 'oauth';
      tokenUrl: string;
      clientId: string;
      clientSecret: string;
      audience?: string;
      scope?: string;
      requestType: 'auto' | 'json' | 'urlencoded';
    };

export interface WebhookConfig {
  url: string;
  queryCustomizations?: Record<string, Customization>;
  headerCustomizations?: Record<string, Customization>;
  authorization?: WebhookAuthorization;
  /** Header `<header>: sha256=<hex HMAC-SHA256 of the body>`. */
  signature?: { secret: string; header: string };
  /** Up to `maxMessages` messages as one JSON array per POST. */
  batching?: { enabled: boolean; maxMessages: number };
}

export const DEFAULT_SIGNATURE_HEADER = 'x-gatehouse-signature';
export const MAX_BATCH = 1000;
const MASK = '*****';
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** A URL refusal in words, or undefined when `text` is an http(s) URL. */
export function checkHttpUrl(text: unknown): string | undefined {
  if (typeof text !== 'string' || text.trim() === '') return 'is required (an http:// or https:// URL)';
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return `'${text.slice(0, 100)}' is not a valid URL`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return `must be an http:// or https:// URL, not ${url.protocol.slice(0, -1)}://`;
  }
  return undefined;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function customizations(
  body: Record<string, unknown>,
  field: 'queryCustomizations' | 'headerCustomizations',
  problems: FieldProblem[],
): Record<string, Customization> | undefined {
  const raw = body[field];
  if (raw === undefined || raw === null) return undefined;
  if (!isObject(raw)) {
    problems.push({ field, message: 'must be an object of name → { value, secret }' });
    return undefined;
  }
  const out: Record<string, Customization> = {};
  for (const [name, entry] of Object.entries(raw)) {
    const at = `${field}.${name}`;
    if (field === 'headerCustomizations' && !HEADER_NAME.test(name)) {
      problems.push({ field: at, message: 'is not a valid HTTP header name' });
      continue;
    }
    if (!isObject(entry) || typeof entry['value'] !== 'string') {
      problems.push({ field: `${at}.value`, message: 'is required (a string)' });
      continue;
    }
    if (entry['secret'] !== undefined && typeof entry['secret'] !== 'boolean') {
      problems.push({ field: `${at}.secret`, message: 'must be true or false' });
      continue;
    }
    out[name] = { value: entry['value'], secret: entry['secret'] === true };
  }
  return out;
}

function requiredString(
  o: Record<string, unknown>,
  key: string,
  at: string,
  problems: FieldProblem[],
): string {
  const v = o[key];
  if (typeof v !== 'string' || v === '') {
    problems.push({ field: `${at}.${key}`, message: 'is required (a string)' });
    return '';
  }
  return v;
}

function authorization(
  body: Record<string, unknown>,
  problems: FieldProblem[],
): WebhookAuthorization | undefined {
  const raw = body['authorization'];
  if (raw === undefined || raw === null) return undefined;
  if (!isObject(raw)) {
    problems.push({ field: 'authorization', message: "must be an object with type 'header' or 'oauth'" });
    return undefined;
  }
  if (raw['type'] === 'header') {
    return { type: 'header', value: requiredString(raw, 'value', 'authorization', problems) };
  }
  if (raw['type'] === 'oauth') {
    const tokenUrl = requiredString(raw, 'tokenUrl', 'authorization', problems);
    const urlProblem = tokenUrl === '' ? undefined : checkHttpUrl(tokenUrl);
    if (urlProblem) problems.push({ field: 'authorization.tokenUrl', message: urlProblem });
    const requestType = raw['requestType'] ?? 'auto';
    if (requestType !== 'auto' && requestType !== 'json' && requestType !== 'urlencoded') {
      problems.push({
        field: 'authorization.requestType',
        message: "must be 'auto', 'json' or 'urlencoded'",
      });
    }
    const optional = (key: 'audience' | 'scope') => {
      const v = raw[key];
      if (v === undefined || v === null) return {};
      if (typeof v !== 'string')
        problems.push({ field: `authorization.${key}`, message: 'must be a string' });
      return typeof v === 'string' ? { [key]: v } : {};
    };
    return {
      type: 'oauth',
      tokenUrl,
      clientId: requiredString(raw, 'clientId', 'authorization', problems),
      clientSecret: requiredString(raw, 'clientSecret', 'authorization', problems),
      ...optional('audience'),
      ...optional('scope'),
      requestType: requestType as 'auto',
    };
  }
  problems.push({ field: 'authorization.type', message: "must be 'header' or 'oauth'" });
  return undefined;
}

export function validateWebhookDestination(
  input: unknown,
): { config: Record<string, unknown> } | { problems: FieldProblem[] } {
  const body = isObject(input) ? input : {};
  const problems: FieldProblem[] = [];
  const urlProblem = checkHttpUrl(body['url']);
  if (urlProblem) problems.push({ field: 'url', message: urlProblem });
  const config: WebhookConfig = { url: typeof body['url'] === 'string' ? body['url'] : '' };
  const query = customizations(body, 'queryCustomizations', problems);
  if (query) config.queryCustomizations = query;
  const headers = customizations(body, 'headerCustomizations', problems);
  if (headers) config.headerCustomizations = headers;
  const auth = authorization(body, problems);
  if (auth) config.authorization = auth;
  const sig = body['signature'];
  if (sig !== undefined && sig !== null) {
    if (!isObject(sig) || typeof sig['secret'] !== 'string' || sig['secret'].length < 16) {
      problems.push({
        field: 'signature.secret',
        message: 'is required: a string of at least 16 characters',
      });
    } else {
      const header = sig['header'] ?? DEFAULT_SIGNATURE_HEADER;
      if (typeof header !== 'string' || !HEADER_NAME.test(header)) {
        problems.push({ field: 'signature.header', message: 'is not a valid HTTP header name' });
      } else config.signature = { secret: sig['secret'], header };
    }
  }
  const batching = body['batching'];
  if (batching !== undefined && batching !== null) {
    const max = isObject(batching) ? (batching['maxMessages'] ?? 100) : undefined;
    const enabled = isObject(batching) ? (batching['enabled'] ?? true) : undefined;
    if (typeof enabled !== 'boolean') {
      problems.push({ field: 'batching.enabled', message: 'must be true or false' });
    } else if (typeof max !== 'number' || !Number.isInteger(max) || max < 1 || max > MAX_BATCH) {
      problems.push({ field: 'batching.maxMessages', message: `must be an integer from 1 to ${MAX_BATCH}` });
    } else config.batching = { enabled, maxMessages: max };
  }
  return problems.length > 0 ? { problems } : { config: config as unknown as Record<string, unknown> };
}

function maskCustomizations(
  c: Record<string, Customization> | undefined,
): Record<string, Customization> | undefined {
  if (!c) return undefined;
  return Object.fromEntries(Object.entries(c).map(([k, v]) => [k, v.secret ? { ...v, value: MASK } : v]));
}

/** The answer's form: secret customizations, the header value, the client secret and the signing secret masked. */
export function maskWebhookDestination(stored: Record<string, unknown>): Record<string, unknown> {
  const config = stored as unknown as WebhookConfig;
  const out: Record<string, unknown> = { url: config.url };
  const query = maskCustomizations(config.queryCustomizations);
  if (query) out['queryCustomizations'] = query;
  const headers = maskCustomizations(config.headerCustomizations);
  if (headers) out['headerCustomizations'] = headers;
  if (config.authorization?.type === 'header') out['authorization'] = { type: 'header', value: MASK };
  if (config.authorization?.type === 'oauth') {
    out['authorization'] = { ...config.authorization, clientSecret: MASK };
  }
  if (config.signature) out['signature'] = { header: config.signature.header, secret: MASK };
  if (config.batching) out['batching'] = config.batching;
  return out;
}
