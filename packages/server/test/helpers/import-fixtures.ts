/**
 * The import fixtures (test/fixtures/import, written from Azure's documented shapes) as
 * `{ name, content }` files for `POST /api/imports`, with the `{{…}}` certificate placeholders
 * filled in (JSON-escaped) by certificates made for this run.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const FIXTURES = join(import.meta.dirname, '../../../test/fixtures/import');

export function fixture(
  name: string,
  values: Record<string, string> = {},
): { name: string; content: string } {
  let content = readFileSync(join(FIXTURES, name), 'utf8');
  for (const [k, v] of Object.entries(values))
    content = content.split(`{{${k}}}`).join(JSON.stringify(v).slice(1, -1));
  return { name, content };
}

export interface PlanItemBody {
  action: string;
  kind: string;
  id?: string;
  file?: string;
  line?: number;
  code?: string;
  reason?: string;
  notes?: string[];
}

export interface PlanBody {
  dryRun: boolean;
  applied: boolean;
  idScope: string;
  items: PlanItemBody[];
  summary: { created: number; updated: number; unchanged: number; refused: number };
}

/** `kind id action` per line, sorted: a stable picture of a plan for assertions. */
export function actions(plan: PlanBody): string[] {
  return plan.items.map((i) => `${i.kind} ${i.id ?? ''} ${i.action}`).sort();
}
