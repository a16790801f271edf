/**
 * The answer of an import (and of its dry run): one line per record, saying what it changes
 * or why it was refused, with the file and line it came from.
 */
import type { RecordKind, RecordSource } from './records.js';

export type PlanAction = 'created' | 'updated' | 'unchanged' | 'refused';

export interface PlanItem {
  action: PlanAction;
  /** `record`: a refused line whose kind could not be told (e.g. not valid JSON). */
  kind: RecordKind | 'idScope' | 'record';
  /** The record's ID; absent when a line could not be read far enough to have one. */
  id?: string;
  file?: string;
  line?: number;
  /** Refused: the stable error code and the reason. */
  code?: string;
  reason?: string;
  /** What of the Azure record is not kept. */
  notes?: string[];
}

export interface ImportPlan {
  format: ImportFormat;
  dryRun: boolean;
  /** True when the changes were committed: not a dry run and nothing refused. */
  applied: boolean;
  idScope: string;
  items: PlanItem[];
  summary: Record<PlanAction, number>;
}

export const IMPORT_FORMATS = ['hub', 'dps', 'central'] as const;
export type ImportFormat = (typeof IMPORT_FORMATS)[number];

export function planItem(
  action: PlanAction,
  kind: PlanItem['kind'],
  id: string | undefined,
  source: RecordSource | undefined,
  extra: Partial<PlanItem> = {},
): PlanItem {
  return {
    action,
    kind,
    ...(id !== undefined ? { id } : {}),
    ...(source ? { file: source.file, line: source.line } : {}),
    ...extra,
  };
}

export function summarize(items: PlanItem[]): Record<PlanAction, number> {
  const summary = { created: 0, updated: 0, unchanged: 0, refused: 0 };
  for (const item of items) summary[item.action]++;
  return summary;
}
