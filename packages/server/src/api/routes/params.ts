import type { FastifyContextConfig } from 'fastify';
import { commonError } from '../../validation.js';

/** DTDL v2 names (CENTRAL_API.md §6): what IoT Central accepts as a component name. */
const COMPONENT_NAME = /^[a-zA-Z](?:[a-zA-Z0-9_]{0,62}[a-zA-Z0-9])?$/;

/**
 * Checks a component name in a path. It becomes part of a method name (`{component}*{command}`,
 * CENTRAL_API.md §1.2), so a `*` or `/` in it would name another command.
 */
export function checkComponent(name: string): string {
  if (!COMPONENT_NAME.test(name)) {
    throw commonError(
      'ERR_INVALID_ID',
      `component '${name}' is invalid: use a letter, then letters, digits and _ (not last), at most 64 characters.`,
    );
  }
  return name;
}

/** A query parameter's text, `undefined` when absent or empty (a repeated parameter is refused). */
export function queryText(query: Record<string, unknown>, name: string): string | undefined {
  const value = query[name];
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string') {
    throw commonError('ERR_BAD_REQUEST', `The query parameter '${name}' may appear only once.`);
  }
  return value;
}

/**
 * The route config of what IoT Central lets an Operator do: run commands, write properties
 * (root and component) and (our extension) send cloud-to-device messages: the `operate`
 * permission of app/roles.ts (Operator, Builder, Administrator).
 */
export const OPERATOR_ACTION = { permission: 'operate' } as const satisfies FastifyContextConfig;
