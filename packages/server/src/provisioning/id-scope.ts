import { randomHex } from '../util.js';
import { importError } from '../import/errors.js';
import type { ProvisioningStore } from './provisioning-store.js';

/** Azure's ID scope shape: `0ne` followed by 8 upper-case hex digits (e.g. `0ne003E64EF`). */
export const ID_SCOPE_PATTERN = /^0ne[0-9A-F]{8}$/;

export function generateIdScope(): string {
  return `0ne${randomHex(4)}`;
}

/**
 * The application's ID scope: created on first start, the same ever after. `wanted` (`gatehouse
 * serve --id-scope`, e.g. the Azure DPS scope devices already have) is taken on the first start
 * and refused when the database already has another one (only an import changes it later).
 */
export async function ensureIdScope(store: ProvisioningStore, wanted?: string): Promise<string> {
  if (wanted !== undefined && !ID_SCOPE_PATTERN.test(wanted)) {
    throw importError(
      'ERR_ID_SCOPE_INVALID',
      `'${wanted}' is not an ID scope: it is '0ne' followed by 8 upper-case hexadecimal digits, e.g. 0ne003E64EF.`,
    );
  }
  const scope = await store.setSettingIfAbsent('idScope', wanted ?? generateIdScope());
  if (wanted !== undefined && scope !== wanted) {
    throw importError(
      'ERR_ID_SCOPE_CONFLICT',
      `This database already has the ID scope ${scope}; --id-scope ${wanted} is refused. Start without --id-scope, use a new data folder, or change the scope with \`gatehouse import … --id-scope ${wanted}\`.`,
    );
  }
  return scope;
}

/** An ID scope option: fixed, or read when needed (an import may change it while the server runs). */
export type IdScopeSource = string | (() => string);

export function currentIdScope(source: IdScopeSource): string {
  return typeof source === 'function' ? source() : source;
}
