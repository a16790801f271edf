/** Response schemas of the import (import/plan.ts `ImportPlan`). */
import { arr, bool, int, obj, str, strEnum } from './common.js';

const PLAN_ACTION = strEnum('created', 'updated', 'unchanged', 'refused');

/**
 * One line of the plan (`PlanItem`): `id` is absent for a line read too little to have one,
 * `file` and `line` for the ID scope; `code` and `reason` come with a refusal, `notes` with
 * what of the Azure record is not kept.
 */
export const IMPORT_PLAN_ITEM = obj(
  {
    action: PLAN_ACTION,
    kind: strEnum('deviceTemplate', 'enrollmentGroup', 'individualEnrollment', 'device', 'idScope', 'record'),
  },
  { id: str, file: str, line: int, code: str, reason: str, notes: arr(str) },
);

/** The plan: what the import changed (`applied`), or would change (`dryRun`). */
export const IMPORT_PLAN = obj({
  format: strEnum('hub', 'dps', 'central'),
  dryRun: bool,
  applied: bool,
  idScope: str,
  items: arr(IMPORT_PLAN_ITEM),
  summary: obj({ created: int, updated: int, unchanged: int, refused: int }),
});
