/**
 * The `export_cursors` rows: where each export stands with each destination, and its counters.
 * A cursor moves only after the destination accepted the batch (at least once, never lost).
 */
import type { Kysely, Selectable } from 'kysely';

import type { Database } from '../store/schema.js';
import type { ExportCursorsTable, ExportTables } from './export-tables.js';

export type CursorRow = Selectable<ExportCursorsTable>;

export class CursorStore {
  private readonly db: Kysely<ExportTables>;

  constructor(db: Kysely<Database>) {
    this.db = db.withTables<ExportTables>() as unknown as Kysely<ExportTables>;
  }

  async get(exportId: string, destinationId: string): Promise<CursorRow | undefined> {
    return this.db
      .selectFrom('export_cursors')
      .selectAll()
      .where('export_id', '=', exportId)
      .where('destination_id', '=', destinationId)
      .executeTakeFirst();
  }

  async all(): Promise<CursorRow[]> {
    return this.db.selectFrom('export_cursors').selectAll().execute();
  }

  /** Starts (or restarts, when `reset`) a cursor at `head`: no backfill, as IoT Central. */
  async begin(exportId: string, destinationId: string, head: number, reset: boolean): Promise<void> {
    const time = new Date().toISOString();
    const q = this.db.insertInto('export_cursors').values({
      export_id: exportId,
      destination_id: destinationId,
      cursor: head,
      delivered: 0,
      dropped: 0,
      last_export_time: null,
      last_error: null,
      last_error_time: null,
      updated_at: time,
    });
    await (
      reset
        ? q.onConflict((oc) =>
            oc
              .columns(['export_id', 'destination_id'])
              .doUpdateSet({ cursor: head, last_error: null, last_error_time: null, updated_at: time }),
          )
        : q.onConflict((oc) => oc.columns(['export_id', 'destination_id']).doNothing())
    ).execute();
  }

  /**
   * Drops cursors of pairs that no longer exist. A cursor touched in the last minute stays: the
   * list of pairs may have been read just before another node created it.
   */
  async keepOnly(
    pairs: ReadonlyArray<{ exportId: string; destinationId: string }>,
    now = new Date(),
  ): Promise<void> {
    const keep = new Set(pairs.map((p) => `${p.exportId}\n${p.destinationId}`));
    const recent = new Date(now.getTime() - 60_000).toISOString();
    for (const row of await this.all()) {
      if (keep.has(`${row.export_id}\n${row.destination_id}`) || row.updated_at > recent) continue;
      await this.db
        .deleteFrom('export_cursors')
        .where('export_id', '=', row.export_id)
        .where('destination_id', '=', row.destination_id)
        .execute();
    }
  }

  /** The destination accepted everything up to `cursor` (`delivered` of it; `dropped` were over the bound). */
  async advance(
    exportId: string,
    destinationId: string,
    cursor: number,
    delivered: number,
    dropped: number,
    exported: boolean,
  ): Promise<void> {
    const time = new Date().toISOString();
    await this.db
      .updateTable('export_cursors')
      .set((eb) => ({
        cursor,
        delivered: eb('delivered', '+', delivered),
        dropped: eb('dropped', '+', dropped),
        ...(exported ? { last_export_time: time } : {}),
        updated_at: time,
      }))
      .where('export_id', '=', exportId)
      .where('destination_id', '=', destinationId)
      .where('cursor', '<', cursor)
      .execute();
  }

  async fail(exportId: string, destinationId: string, message: string): Promise<void> {
    const time = new Date().toISOString();
    await this.db
      .updateTable('export_cursors')
      .set({ last_error: message.slice(0, 1000), last_error_time: time, updated_at: time })
      .where('export_id', '=', exportId)
      .where('destination_id', '=', destinationId)
      .execute();
  }
}

/** True while the last attempt failed (an error newer than the last success). */
export function isFailing(row: CursorRow | undefined): boolean {
  if (!row?.last_error_time) return false;
  return row.last_export_time === null || row.last_error_time > row.last_export_time;
}
