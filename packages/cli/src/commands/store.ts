import { resolve } from 'node:path';
import type { Command } from 'commander';
import { CliError } from '../output.js';
import { SERVER_DEFAULTS } from '../server-defaults.js';

interface CopyFlags {
  from: string;
  to?: string;
  force?: boolean;
  json?: boolean;
}

const BAR_WIDTH = 30;

/** A one-line progress bar on a terminal; a line per finished table elsewhere (logs, CI). */
function progressPrinter(json: boolean): {
  update: (p: { table: string; copied: number; total: number; allCopied: number; allTotal: number }) => void;
  end: () => void;
} {
  if (json) return { update: () => undefined, end: () => undefined };
  const tty = process.stderr.isTTY === true;
  let lastTable = '';
  let lastDraw = 0;
  return {
    update(p) {
      if (!tty) {
        if (p.copied === p.total) process.stderr.write(`  ${p.table}: ${p.total} rows\n`);
        return;
      }
      const now = Date.now();
      if (p.table === lastTable && p.copied !== p.total && now - lastDraw < 100) return;
      lastTable = p.table;
      lastDraw = now;
      const share = p.allTotal === 0 ? 1 : p.allCopied / p.allTotal;
      const filled = Math.round(share * BAR_WIDTH);
      const bar = '#'.repeat(filled) + '-'.repeat(BAR_WIDTH - filled);
      process.stderr.write(
        `\r[${bar}] ${String(Math.floor(share * 100)).padStart(3)}%  ${p.table} ${p.copied}/${p.total}\x1b[K`,
      );
    },
    end() {
      if (tty) process.stderr.write('\n');
    },
  };
}

/**
 * `gatehouse store copy --from <data folder> --to postgres://…`: an application that started on
 * SQLite moves to PostgreSQL (and so to a cluster) with everything it holds.
 */
export function registerStoreCommands(program: Command): void {
  const store = program.command('store').description('move the application between stores');
  store
    .command('copy')
    .description('copy everything of an SQLite data folder into an empty PostgreSQL database')
    .option('--from <dir>', 'the data folder of `gatehouse serve` on SQLite', SERVER_DEFAULTS.dataDir)
    .option('--to <url>', 'postgres://USER@HOST:PORT/DATABASE (default: GATEHOUSE_DATABASE_URL)')
    .option('--force', 'replace what the target database holds instead of refusing')
    .option('--json', 'print the report as JSON')
    .action(async (flags: CopyFlags) => {
      const to = flags.to ?? process.env['GATEHOUSE_DATABASE_URL'];
      if (to === undefined || to.trim() === '') {
        throw new CliError(
          'ERR_CLI_MISSING_OPTION',
          '--to is missing: give the PostgreSQL URL to copy into (postgres://USER@HOST:PORT/DATABASE), or set GATEHOUSE_DATABASE_URL.',
        );
      }
      const { copyStore } = await import('@gatehouse/server');
      const from = resolve(flags.from);
      const progress = progressPrinter(flags.json === true);
      let started = false;
      let report;
      try {
        report = await copyStore({
          from,
          to: to.trim(),
          force: flags.force === true,
          onProgress: (p) => {
            // Said once the checks passed, so a refusal stays one line.
            if (!started && !flags.json)
              process.stderr.write(`Copying ${from} into the PostgreSQL database…\n`);
            started = true;
            progress.update(p);
          },
        });
      } finally {
        progress.end();
      }
      if (flags.json) {
        process.stdout.write(JSON.stringify(report, null, 2) + '\n');
        return;
      }
      const width = Math.max(...report.tables.map((t) => t.table.length));
      const lines = [
        `Copied ${report.rows} rows of ${report.tables.length} tables from ${from} to ${report.target}; every table's count matches the source:`,
        ...report.tables.map((t) => `  ${t.table.padEnd(width)}  ${t.rows}`),
        report.tlsIdentity
          ? `The server CA (${from}/server-ca.pem) is the database's now: devices that trust it trust every node.`
          : 'The data folder has no server CA of its own (it ran with --tls-cert): give every node the same --tls-cert and --tls-key.',
        `Next: gatehouse serve --database-url ${report.target}  (on every node; see docs/cluster.md)`,
      ];
      process.stdout.write(lines.join('\n') + '\n');
    });
}
