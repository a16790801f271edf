/**
 * The `deviceTemplateLifecycle` source (EXPORT_RULES.md §2.6: `created`, `updated`, `deleted`;
 * no deviceId). Templates change through the REST API, which raises no hub event, so while an
 * enabled export reads this source the template table is compared with what was seen last, at
 * each reconcile of the exports (every few seconds). The outbox row's dedupe key is the
 * template, its `updated_at` and the change, so nodes of a cluster write each change once.
 * A template deleted while no node watches is not reported.
 */
import type { Kysely } from 'kysely';

import type { Database } from '../store/schema.js';
import type { ExportTables } from './export-tables.js';
import { SCHEMA } from './message-format.js';

export class TemplateWatch {
  private known: Map<string, string> | undefined;
  private readonly outbox: Kysely<ExportTables>;

  constructor(private readonly db: Kysely<Database>) {
    this.outbox = db.withTables<ExportTables>() as unknown as Kysely<ExportTables>;
  }

  /** Forget what was seen (no export reads the source any more). */
  reset(): void {
    this.known = undefined;
  }

  /** Writes the changes since the last call; the first call only takes the current state. Returns how many. */
  async check(now = new Date()): Promise<number> {
    const rows = await this.db.selectFrom('device_templates').select(['id', 'updated_at']).execute();
    const current = new Map(rows.map((r) => [r.id, r.updated_at]));
    const before = this.known;
    this.known = current;
    if (!before) return 0;
    const changes: Array<{ id: string; type: string; time: string }> = [];
    for (const [id, updated] of current) {
      const was = before.get(id);
      if (was === undefined) changes.push({ id, type: 'created', time: updated });
      else if (was !== updated) changes.push({ id, type: 'updated', time: updated });
    }
    for (const [id, updated] of before) {
      if (!current.has(id)) changes.push({ id, type: 'deleted', time: `${updated}>${now.toISOString()}` });
    }
    if (changes.length === 0) return 0;
    await this.outbox
      .insertInto('export_outbox')
      .values(
        changes.map((c) => ({
          source: 'deviceTemplateLifecycle',
          device_id: null,
          template_id: c.id,
          message: JSON.stringify({
            messageSource: 'deviceTemplateLifecycle',
            messageType: c.type,
            schema: SCHEMA,
            templateId: c.id,
            enqueuedTime: c.type === 'deleted' ? now.toISOString() : c.time,
          }),
          enqueued_at: c.type === 'deleted' ? now.toISOString() : c.time,
          dedupe: `deviceTemplateLifecycle|${c.id}|${c.time}|${c.type}`,
        })),
      )
      .onConflict((oc) => oc.column('dedupe').doNothing())
      .execute();
    return changes.length;
  }
}
