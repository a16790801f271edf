import assert from 'node:assert/strict';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { httpCall, type TestServer } from './test-server.js';
import type { HttpAnswer } from './users.js';

/** The header the web UI sends on every call (api/web-session.ts). */
export const UI_HEADER = { 'x-gatehouse-request': '1' } as const;

/** One raw HTTP call to the server, with the headers given and nothing else. */
export async function call(
  server: TestServer,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: unknown,
): Promise<HttpAnswer> {
  return httpCall(server.baseUrl, method, path, headers, body);
}

/** The web UI's sign-in: `cookie: true` with its header; answers the cookie pair (`name=value`) and the answer. */
export async function cookieSignIn(
  server: TestServer,
  username: string,
  password: string,
  headers: Record<string, string> = {},
): Promise<{ cookie: string; setCookie: string; answer: HttpAnswer }> {
  const answer = await call(
    server,
    'POST',
    '/api/session',
    { ...UI_HEADER, ...headers },
    {
      username,
      password,
      cookie: true,
    },
  );
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  const setCookie = answer.headers.get('set-cookie') ?? '';
  const pair = setCookie.split(';')[0] ?? '';
  assert.match(pair, /^(__Host-)?gatehouse_session=[A-Za-z0-9_-]{43}$/, setCookie);
  return { cookie: pair, setCookie, answer };
}

/** An open event stream (`GET path` with these headers) and when it ended. */
export interface OpenStream {
  response: IncomingMessage;
  /** Resolves with the time (performance.now()) the stream's connection ended. */
  ended: Promise<number>;
  close(): void;
}

/** Opens `path` as a long-lived GET and waits for its 200 and first bytes. */
export function openStream(
  server: TestServer,
  path: string,
  headers: Record<string, string>,
): Promise<OpenStream> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${server.baseUrl}${path}`, {
      headers: { accept: 'text/event-stream', ...headers },
    });
    req.once('error', reject);
    req.once('response', (response) => {
      if (response.statusCode !== 200) {
        reject(new Error(`stream answered ${response.statusCode}`));
        response.resume();
        return;
      }
      const ended = new Promise<number>((done) => {
        const at = () => done(performance.now());
        response.once('end', at);
        response.once('close', at);
        response.once('error', at);
        req.once('error', at);
      });
      response.once('data', () => resolve({ response, ended, close: () => req.destroy() }));
    });
    req.end();
  });
}
