import assert from 'node:assert/strict';
import type { TestServer } from './test-server.js';

/** What `TestServer.api` answers. */
export interface HttpAnswer<T = unknown> {
  status: number;
  body: T;
  headers: Headers;
}

export const PASSWORD = 'correct horse battery';

/** An error answer of the real server: status, `x-ms-error-code`, the one envelope; returns the message. */
export function expectApiError(
  res: HttpAnswer,
  status: number,
  code: string,
  messageIncludes?: string | RegExp,
): string {
  assert.equal(
    res.status,
    status,
    `expected ${status} ${code}, got ${res.status}: ${JSON.stringify(res.body)}`,
  );
  assert.equal(res.headers.get('x-ms-error-code'), code);
  const error = (res.body as { error: { code: string; message: string; requestId: string } }).error;
  assert.equal(error.code, code);
  assert.equal(error.requestId, res.headers.get('x-ms-request-id'));
  if (typeof messageIncludes === 'string')
    assert.ok(error.message.includes(messageIncludes), `'${error.message}' lacks '${messageIncludes}'`);
  else if (messageIncludes) assert.match(error.message, messageIncludes);
  return error.message;
}

/** `POST /api/session` without credentials. */
export async function signIn(server: TestServer, username: string, password: string): Promise<HttpAnswer> {
  const res = await fetch(`${server.baseUrl}/api/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as unknown) : undefined, headers: res.headers };
}

/** Creates (or replaces) user `id` with these roles and {@link PASSWORD}, signs in, returns the session token. */
export async function userSession(server: TestServer, id: string, roles: string[]): Promise<string> {
  await putUser(server, id, roles);
  const res = await signIn(server, `${id}@example.com`, PASSWORD);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return (res.body as { token: string }).token;
}

/** Creates (or replaces) user `id` (`id@example.com`) with these roles and {@link PASSWORD}. */
export async function putUser(server: TestServer, id: string, roles: string[]): Promise<void> {
  const put = await server.api('PUT', `/api/users/${id}`, {
    type: 'email',
    email: `${id}@example.com`,
    roles: roles.map((role) => ({ role })),
    password: PASSWORD,
  });
  assert.equal(put.status, 200, JSON.stringify(put.body));
}
