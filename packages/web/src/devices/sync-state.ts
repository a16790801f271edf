import type { PropertyMetadata } from './types';

/** Sync state of one writable property (CENTRAL_API.md §5.3). */
export function syncState(
  meta: PropertyMetadata | undefined,
  reported: unknown,
): { label: string; tone: 'ok' | 'warn' | 'bad' | 'muted'; detail?: string } {
  if (meta === undefined || meta.desiredVersion === undefined) {
    return meta?.ackCode === 200 ? { label: 'Synced', tone: 'ok' } : { label: 'Not set', tone: 'muted' };
  }
  const acked = meta.ackVersion !== undefined && meta.ackVersion >= meta.desiredVersion;
  // `desiredVersion` is the twin's version: a later change to another property raises it, so an
  // ack of an older version still counts when it reports the value asked for.
  const sameValue = JSON.stringify(reported) === JSON.stringify(meta.desiredValue);
  const code = meta.ackCode;
  const detail = meta.ackDescription;
  if (code !== undefined && (acked || sameValue)) {
    if (code >= 400) return { label: `Error ${code}`, tone: 'bad', ...(detail ? { detail } : {}) };
    if (code === 200 && sameValue) return { label: 'Synced', tone: 'ok', ...(detail ? { detail } : {}) };
    if (code >= 201 && code <= 203) return { label: 'Pending', tone: 'warn', ...(detail ? { detail } : {}) };
  }
  return { label: 'Pending', tone: 'warn', detail: 'waiting for the device to acknowledge' };
}
