/**
 * The REST API client of the web app: JSON in and out, the signed-in user's
 * session as an HttpOnly cookie the page's scripts never see (the server sets it
 * at sign-in), the anti-forgery header on every call, and the server's error envelope
 * (`{ error: { code, message } }`) turned into an {@link ApiError} so a page
 * can show the server's own message beside the field that caused it.
 */

/**
 * Sent on every call: the server refuses a change made with the session cookie without it
 * (a custom header another site cannot send without the server's consent).
 */
export const REQUEST_HEADERS: Record<string, string> = { 'x-gatehouse-request': '1' };

// Earlier versions kept the session token here; it is dropped, the cookie replaces it.
try {
  localStorage.removeItem('gatehouse.token');
} catch {
  // No storage (private mode): nothing to drop.
}

/** An error the server answered with (or a network failure, code `ERR_NETWORK`). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** The envelope's `details`, when the server sent them (e.g. an import's plan). */
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

let unauthorizedListener: (() => void) | undefined;

/** Called when the server answers 401: the session ended, the app goes back to sign-in. */
export function onUnauthorized(listener: () => void): void {
  unauthorizedListener = listener;
}

/** One API call. `path` starts with `/api/`. Resolves to the parsed JSON body (undefined for 204). */
export async function api<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json', ...REQUEST_HEADERS };
  if (body !== undefined) headers['content-type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers,
      credentials: 'same-origin',
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  } catch (err) {
    throw new ApiError(0, 'ERR_NETWORK', `The server did not answer (${(err as Error).message}).`);
  }
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    parsed = text;
  }
  if (!response.ok) {
    const error = (
      parsed as { error?: { code?: string; message?: string; details?: Record<string, unknown> } } | undefined
    )?.error;
    const apiError = new ApiError(
      response.status,
      error?.code ?? `HTTP_${response.status}`,
      error?.message ?? `The server answered ${response.status} ${response.statusText}.`,
      error?.details,
    );
    if (response.status === 401 && path !== '/api/session') unauthorizedListener?.();
    throw apiError;
  }
  return parsed as T;
}

/** Text of a file the user picked (certificates are PEM text). */
export function readFileText(file: File): Promise<string> {
  return file.text();
}

/** Base64 of a text, for the API's `certificate` fields (PEM text, base64-encoded as IoT Central expects). */
export function toBase64(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}

/** The message to show for anything thrown by {@link api}. */
export function messageOf(err: unknown): string {
  if (err instanceof ApiError) return `${err.code}: ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}
