import type { Logger } from 'pino';

import type { AuditLog } from './audit-log.js';

/** IoT Central keeps its audit log 30 days (EXPORT_RULES.md §2.7): so do we, unless told otherwise. */
export const DEFAULT_AUDIT_RETENTION_DAYS = 30;

const DAY_MS = 86_400_000;

/**
 * Deletes the audit entries older than `days` (default {@link DEFAULT_AUDIT_RETENTION_DAYS}).
 * Runs in the server's hourly retention job, a cluster singleton (cluster/singleton.ts): one
 * node prunes per hour. Returns how many were deleted; a failure is logged, and the next hour
 * tries again.
 */
export async function pruneAuditLog(
  log: AuditLog,
  days: number | undefined,
  logger: Logger,
  now: Date = new Date(),
): Promise<number> {
  const cutoff = new Date(now.getTime() - (days ?? DEFAULT_AUDIT_RETENTION_DAYS) * DAY_MS).toISOString();
  try {
    const deleted = await log.prune(cutoff);
    if (deleted > 0) logger.info({ deleted, cutoff }, 'audit log retention applied');
    return deleted;
  } catch (err) {
    logger.error({ err }, 'audit log retention failed');
    return 0;
  }
}
