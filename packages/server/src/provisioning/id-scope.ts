import { randomHex } from '../util.js';
import type { ProvisioningStore } from './provisioning-store.js';

/** Azure's ID scope shape: `0ne` followed by 8 upper-case hex digits (e.g. `0ne003E64EF`). */
export const ID_SCOPE_PATTERN = /^0ne[0-9A-F]{8}$/;

export function generateIdScope(): string {
  return `0ne${randomHex(4)}`;
}

/** The application's ID scope: created on first start, the same ever after. */
export async function ensureIdScope(store: ProvisioningStore): Promise<string> {
  return store.setSettingIfAbsent('idScope', generateIdScope());
}
