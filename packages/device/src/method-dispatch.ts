/**
 * Running a direct-method handler (PROTOCOL.md §3.6): parse the JSON request, call the app's
 * handler, and turn every outcome into a `{ status, payload }` to send back. Internal.
 */
import type { MethodHandler, MethodResult } from './device-method.js';

/**
 * The answer to one method request: the handler's result; 501 without handler; 400 for a body
 * that is not JSON (the SDK's wording); 500 when the handler throws or returns no status.
 */
export async function runMethod(
  handlers: ReadonlyMap<string, MethodHandler>,
  methodName: string,
  requestId: string,
  payload: Buffer,
): Promise<MethodResult> {
  const handler = handlers.get(methodName);
  if (!handler) return { status: 501, payload: { message: `method '${methodName}' is not implemented` } };
  let request: unknown = null;
  const text = payload.toString('utf8');
  if (text.trim() !== '') {
    try {
      request = JSON.parse(text);
    } catch (err) {
      return { status: 400, payload: { message: `Invalid request format: ${(err as Error).message}` } };
    }
  }
  try {
    const result = await handler(request, { methodName, requestId });
    if (!result || !Number.isSafeInteger(result.status)) {
      return { status: 500, payload: { message: 'the method handler returned no integer status' } };
    }
    return result;
  } catch (err) {
    return { status: 500, payload: { message: err instanceof Error ? err.message : String(err) } };
  }
}
