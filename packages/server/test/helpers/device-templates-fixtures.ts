/**
 * What the device template tests over a real server share: the built-in templates' IDs and
 * the check of an error answer (status, `x-ms-error-code`, code and message).
 */
import assert from 'node:assert/strict';

export interface ErrorBody {
  error: { code: string; message: string };
}

export const THERMOSTAT = 'dtmi:gatehouse:Thermostat;1';
export const SENSOR = 'dtmi:gatehouse:EnvironmentalSensor;1';
export const enc = encodeURIComponent;

/** An error answer: the status, `x-ms-error-code` and the code; `text` in the message. Returns the message. */
export async function expectError(
  res: Promise<{ status: number; body: unknown; headers: Headers }>,
  status: number,
  code: string,
  text?: string,
): Promise<string> {
  const r = await res;
  assert.equal(r.status, status, JSON.stringify(r.body));
  const body = r.body as ErrorBody;
  assert.equal(body.error.code, code);
  assert.equal(r.headers.get('x-ms-error-code'), code);
  if (text !== undefined) assert.ok(body.error.message.includes(text), body.error.message);
  return body.error.message;
}
