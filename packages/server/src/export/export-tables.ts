/**
 * The tables of data export (migration '0011_data_export', export-migration.ts). Kept here and
 * not in store/schema.ts: export is its own context; its services see the store through
 * `db.withTables<ExportTables>()`.
 */
import type { Generated } from 'kysely';

export interface ExportDestinationsTable {
  id: string;
  display_name: string;
  type: string;
  /** JSON: the type's configuration as given (secrets included; never answered). */
  config: string;
  created_at: string;
  updated_at: string;
}

export interface ExportsTable {
  id: string;
  display_name: string;
  enabled: number;
  source: string;
  filter: string | null;
  /** JSON: Record<key, Enrichment>. */
  enrichments: string;
  /** JSON: Array<{ id, transform? }>. */
  destinations: string;
  created_at: string;
  updated_at: string;
}

/** Where one export stands with one destination: the last id it delivered, and its counters. */
export interface ExportCursorsTable {
  export_id: string;
  destination_id: string;
  /** Last telemetry id (telemetry source) or outbox id (the others) the destination accepted. */
  cursor: number;
  delivered: number;
  dropped: number;
  last_export_time: string | null;
  last_error: string | null;
  last_error_time: string | null;
  updated_at: string;
}

/**
 * The outbox of the sources other than telemetry (properties, connectivity, lifecycle):
 * one row per change, the exported message without applicationId and enrichments.
 * `dedupe` makes the write idempotent when several nodes see the same change.
 */
export interface ExportOutboxTable {
  id: Generated<number>;
  source: string;
  device_id: string | null;
  template_id: string | null;
  message: string;
  enqueued_at: string;
  dedupe: string;
}

export type ExportTables = {
  export_destinations: ExportDestinationsTable;
  exports: ExportsTable;
  export_cursors: ExportCursorsTable;
  export_outbox: ExportOutboxTable;
};
