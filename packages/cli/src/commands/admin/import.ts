import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { Command } from 'commander';
import { addConnectionOptions, ApiClient, type ConnectionFlags } from '../../api-client.js';
import { CliError } from '../../output.js';
import { print, table } from './shared.js';

/** The plan `POST /api/imports` answers (server `import/plan.ts`). */
interface PlanItem {
  action: 'created' | 'updated' | 'unchanged' | 'refused';
  kind: string;
  id?: string;
  file?: string;
  line?: number;
  code?: string;
  reason?: string;
  notes?: string[];
}

interface ImportPlan {
  format: string;
  dryRun: boolean;
  applied: boolean;
  idScope: string;
  items: PlanItem[];
  summary: Record<PlanItem['action'], number>;
}

interface ImportFlags extends ConnectionFlags {
  dryRun?: boolean;
  idScope?: string;
  verified?: boolean;
}

const FORMATS = ['hub', 'dps', 'central'];
/** An import checks every record in one transaction: about 2 ms a record, so allow 10 minutes. */
const IMPORT_TIMEOUT_MS = 10 * 60_000;

function readImportFile(path: string): { name: string; content: string } {
  try {
    return { name: basename(path), content: readFileSync(path, 'utf8') };
  } catch (err) {
    throw new CliError(
      'ERR_CLI_READ_FILE',
      `Cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}.`,
    );
  }
}

function where(item: PlanItem): string {
  return item.file !== undefined ? `${item.file}:${item.line ?? 1}` : '';
}

/** The plan as text: one line per record, refusals with their reason, then the counts. */
export function planLines(plan: ImportPlan): string[] {
  const rows = plan.items.map((i) => [
    i.action,
    i.kind,
    i.id ?? '',
    where(i),
    i.action === 'refused' ? `${i.code}: ${i.reason}` : (i.notes ?? []).join('; '),
  ]);
  const s = plan.summary;
  const verdict = plan.dryRun
    ? 'Dry run: nothing was changed.'
    : plan.applied
      ? 'Imported.'
      : 'Nothing was imported: every record must be accepted (all or nothing).';
  return [
    ...(rows.length > 0 ? table(['ACTION', 'KIND', 'ID', 'WHERE', 'NOTE'], rows) : ['No records.']),
    '',
    `${s.created} created, ${s.updated} updated, ${s.unchanged} unchanged, ${s.refused} refused. ID scope ${plan.idScope}.`,
    verdict,
  ];
}

/**
 * `gatehouse import <format> <file…>`: import an Azure fleet over the REST API
 * (docs/migrate-from-azure.md). `--dry-run` prints the plan and changes nothing.
 */
export function registerImportCommand(program: Command): void {
  addConnectionOptions(
    program
      .command('import')
      .description(
        'import an Azure export: hub (device identities), dps (enrollments) or central (templates, devices, groups)',
      )
      .argument('<format>', `what wrote the files: ${FORMATS.join(', ')}`)
      .argument('<file...>', 'the exported files (JSON lines or JSON)')
      .option('--dry-run', 'print what would change, change nothing')
      .option(
        '--id-scope <scope>',
        "make the Azure ID scope this application's (devices keep their configuration)",
      )
      .option(
        '--verified',
        'the CA certificates of DPS groups were verified in Azure: import them as verified',
      ),
  ).action(async (format: string, files: string[], flags: ImportFlags) => {
    if (!FORMATS.includes(format)) {
      throw new CliError(
        'ERR_CLI_USAGE',
        `'${format}' is not an import format: use ${FORMATS.join(', ')} (see --help).`,
      );
    }
    const body = {
      format,
      files: files.map(readImportFile),
      ...(flags.idScope !== undefined ? { idScope: flags.idScope } : {}),
      ...(flags.verified ? { verified: true } : {}),
    };
    const client = ApiClient.fromFlags(flags);
    let plan: ImportPlan;
    try {
      plan = await client.request<ImportPlan>(
        'POST',
        `api/imports${flags.dryRun ? '?dryRun=true' : ''}`,
        body,
        IMPORT_TIMEOUT_MS,
      );
    } catch (err) {
      // A refused import: show every refusal (file:line and reason), then the error.
      const refusedPlan =
        err instanceof CliError ? (err.details?.['plan'] as ImportPlan | undefined) : undefined;
      if (refusedPlan !== undefined) print(flags.json, refusedPlan, () => planLines(refusedPlan));
      throw err;
    }
    print(flags.json, plan, () => planLines(plan));
    if (plan.summary.refused > 0) {
      throw new CliError(
        'ERR_IMPORT_REFUSED',
        `${plan.summary.refused} record(s) would be refused; nothing was changed.`,
      );
    }
  });
}
