/**
 * DTDL documents and checks shared by the DTDL test files: the Thermostat with changes, content
 * and nested-schema builders, and the assertion that a body is refused with ERR_DTDL_INVALID.
 */
import assert from 'node:assert/strict';
import { THERMOSTAT_MODEL } from '../../src/app/device-templates-builtin.js';
import type { Json } from '../../src/app/dtdl-elements.js';
import { parseTemplateBody } from '../../src/app/dtdl-template.js';
import { GatehouseError } from '../../src/errors.js';

export const ID = 'dtmi:test:Template;1';
export const clone = <T>(v: T): T => structuredClone(v);

/** The Thermostat with extra contents appended (they are contents[4], [5], …). */
export function thermostatWith(...extra: unknown[]): Json {
  const model = clone(THERMOSTAT_MODEL) as Json;
  model['contents'] = [...(model['contents'] as unknown[]), ...extra];
  return model;
}

export function modelWith(changes: Json): Json {
  return { ...(clone(THERMOSTAT_MODEL) as Json), ...changes };
}

export const telemetry = (name: string, schema: unknown, more: Json = {}) => ({
  '@type': 'Telemetry',
  name,
  schema,
  ...more,
});
export const property = (name: string, schema: unknown, more: Json = {}) => ({
  '@type': 'Property',
  name,
  schema,
  ...more,
});
/** `levels` Arrays around `inner`. */
export const nestAround = (levels: number, inner: unknown): unknown =>
  levels === 0 ? inner : { '@type': 'Array', elementSchema: nestAround(levels - 1, inner) };
export const nest = (levels: number): unknown =>
  levels === 0 ? 'double' : { '@type': 'Array', elementSchema: nest(levels - 1) };

/** Parsing `body` as template {@link ID} is refused with 400 ERR_DTDL_INVALID, the message containing or matching `expected`. */
export function expectDtdlRefusal(body: unknown, expected: string | RegExp): void {
  assert.throws(
    () => parseTemplateBody(body, ID),
    (err: unknown) => {
      assert.ok(err instanceof GatehouseError, String(err));
      assert.equal(err.code, 'ERR_DTDL_INVALID');
      assert.equal(err.status, 400);
      if (typeof expected === 'string') {
        assert.ok(
          err.message.includes(expected),
          `message: ${err.message}\nexpected to contain: ${expected}`,
        );
      } else {
        assert.match(err.message, expected);
      }
      return true;
    },
  );
}
