import type { FastifyReply, FastifyRequest } from 'fastify';
import { appError } from '../app/errors.js';

/**
 * The web UI's session cookie and the anti-forgery rules of cookie-authenticated requests
 * (OWASP ASVS 5.0 3.3.1–3.3.4, 3.5.1–3.5.3). The cookie carries the same opaque session token
 * `POST /api/session` otherwise answers in its body; `HttpOnly` keeps it from the page's
 * scripts, `SameSite=Strict` from other sites' requests. Over HTTPS (TLS on the socket, or a
 * reverse proxy named by `--http-trust-proxy` saying `X-Forwarded-Proto: https`) it is
 * `Secure` with the `__Host-` prefix (no Domain, Path=/: no sibling host can plant or read
 * it). Over plain HTTP (the default listener, meant for loopback or a private network) a
 * `Secure` cookie would not be stored by the browser, so the cookie is sent without it.
 */
export const SESSION_COOKIE = 'gatehouse_session';
export const HOST_SESSION_COOKIE = `__Host-${SESSION_COOKIE}`;

/**
 * The anti-forgery header the web UI sends on every request. A custom header makes a
 * cross-origin request "non-simple": the browser asks first (CORS preflight), and the API
 * answers no preflight, so another site cannot send it (ASVS 3.5.1).
 */
export const CSRF_HEADER = 'x-gatehouse-request';

/** Whether the client reached this listener over HTTPS. */
export function isHttps(request: FastifyRequest): boolean {
  return request.protocol === 'https';
}

/** The session token of the request's cookie; the `__Host-` one wins when both are sent. */
export function sessionCookieOf(request: FastifyRequest): string | undefined {
  const header = request.headers.cookie;
  if (header === undefined || header.length > 8192) return undefined;
  let plain: string | undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq === -1) continue;
    const name = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (value === '' || !/^[A-Za-z0-9_-]+$/.test(value)) continue;
    if (name === HOST_SESSION_COOKIE) return value;
    if (name === SESSION_COOKIE) plain ??= value;
  }
  return plain;
}

function cookieName(request: FastifyRequest): string {
  return isHttps(request) ? HOST_SESSION_COOKIE : SESSION_COOKIE;
}

function attributes(request: FastifyRequest, maxAgeSeconds: number): string {
  return `Path=/; Max-Age=${maxAgeSeconds}; HttpOnly; SameSite=Strict${isHttps(request) ? '; Secure' : ''}`;
}

/** Sets the session cookie for `token`, expiring with the session. */
export function setSessionCookie(
  request: FastifyRequest,
  reply: FastifyReply,
  token: string,
  expiresAt: string,
): void {
  const maxAge = Math.max(0, Math.floor((Date.parse(expiresAt) - Date.now()) / 1000));
  reply.header('set-cookie', `${cookieName(request)}=${token}; ${attributes(request, maxAge)}`);
}

/** Tells the browser to drop the session cookie (sign-out, or a cookie that no longer works). */
export function clearSessionCookie(request: FastifyRequest, reply: FastifyReply): void {
  reply.header('set-cookie', `${cookieName(request)}=; ${attributes(request, 0)}`);
}

/**
 * Refuses (ERR_CSRF_REFUSED) a state-changing request that the browser may have sent on
 * another site's behalf: without {@link CSRF_HEADER}, or marked cross-site by the browser
 * (`Sec-Fetch-Site`, ASVS 3.5.3), or from an `Origin` that is not this server's.
 */
export function checkCsrf(request: FastifyRequest): void {
  const site = request.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') {
    throw csrfRefused(`the browser marked it as sent from another site (Sec-Fetch-Site: ${String(site)})`);
  }
  const origin = request.headers.origin;
  if (origin !== undefined && !sameOrigin(request, origin)) {
    throw csrfRefused(`it comes from the page of another origin (${origin.slice(0, 200)})`);
  }
  if (request.headers[CSRF_HEADER] !== '1') {
    throw csrfRefused(`it lacks the header ${CSRF_HEADER}: 1 that the web UI sends`);
  }
}

function sameOrigin(request: FastifyRequest, origin: string): boolean {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  // request.host: the Host header, or X-Forwarded-Host from a trusted reverse proxy.
  const host = request.host.toLowerCase();
  const scheme = isHttps(request) ? 'https:' : 'http:';
  const defaultPort = scheme === 'https:' ? ':443' : ':80';
  return url.protocol === scheme && (url.host === host || `${url.host}${defaultPort}` === host);
}

function csrfRefused(why: string) {
  return appError(
    'ERR_CSRF_REFUSED',
    `This change is authenticated by the session cookie, but ${why}; it was not made. Scripts authenticate with Authorization: Bearer instead.`,
  );
}
