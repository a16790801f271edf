import { join } from 'node:path';
import type { Issued } from '@gatehouse/pki';
import { checkOutputDir, refuseExisting, writeFilesAtomically, type OutputFile } from '../../files.js';
import { parseCreateOptions, type CreateFlags, type CreateOptions } from './options.js';

/** The files a run writes: the fullchain is absent for a verification certificate. */
export interface RunFiles {
  cert: string;
  key: string;
  fullchain?: string;
}

/** A run whose options and output folder have been checked and whose files do not exist yet. */
export interface PreparedRun {
  options: CreateOptions;
  /** Absolute output folder; parents are looked up here too. */
  dir: string;
  files: RunFiles;
}

/**
 * Everything that can be checked without the parent: the options, the output folder and the
 * output files. Called before any file is read or written.
 */
export function prepare(flags: CreateFlags, files: RunFiles): PreparedRun {
  const options = parseCreateOptions(flags);
  const dir = checkOutputDir(options.outDir);
  refuseExisting(dir, Object.values(files) as string[], options.force);
  return { options, dir, files };
}

/** ` --out DIR` when the user gave one, for the follow-up command we suggest. */
export function outFlag(run: PreparedRun): string {
  return run.options.outGiven ? ` --out ${run.options.outDir}` : '';
}

/** How a path is shown to the user: as they would type it from where they are. */
function shown(run: PreparedRun, file: string): string {
  return run.options.outGiven ? join(run.options.outDir, file) : file;
}

/**
 * Writes the issued certificate, its key (mode 0600) and its fullchain (the certificate, then its
 * parents up to the root, nothing else) in one all-or-nothing step, then reports.
 */
export function finish(
  run: PreparedRun,
  issued: Issued,
  report: {
    command: string;
    title: string;
    /** One line printed before "Next:", e.g. why an unusual parent was accepted. */
    note?: string;
    next: (show: (file: string) => string) => string;
  },
): void {
  const { certificate, privateKey, chain } = issued;
  const outputs: OutputFile[] = [
    { name: run.files.cert, contents: certificate.pem, mode: 0o644 },
    { name: run.files.key, contents: privateKey.toPem(), mode: 0o600 },
  ];
  if (run.files.fullchain) {
    outputs.push({ name: run.files.fullchain, contents: chain.map((c) => c.pem).join(''), mode: 0o644 });
  }
  const written = writeFilesAtomically(run.dir, outputs, { force: run.options.force });
  const next = report.next((file) => shown(run, file));

  if (run.options.json) {
    const [cert, key, fullchain] = written;
    const result = {
      command: report.command,
      subject: certificate.subject,
      issuer: certificate.issuer,
      keyType: certificate.keyType,
      serialNumber: certificate.serialNumber,
      notBefore: certificate.notBefore.toISOString(),
      notAfter: certificate.notAfter.toISOString(),
      isCA: certificate.isCA,
      sha1Thumbprint: certificate.sha1Thumbprint,
      sha256Thumbprint: certificate.sha256Thumbprint,
      chain: chain.map((c) => c.subject),
      files: { cert, key, ...(fullchain ? { fullchain } : {}) },
      ...(report.note ? { note: report.note } : {}),
      next,
    };
    process.stdout.write(JSON.stringify(result, null, 2) + '\n');
    return;
  }
  const width = Math.max(...outputs.map((o) => shown(run, o.name).length));
  const role: Record<string, string> = {
    [run.files.cert]: 'the certificate',
    [run.files.key]: 'its private key (mode 0600, keep it secret)',
  };
  if (run.files.fullchain) {
    role[run.files.fullchain] =
      `the certificate and its parents (${chain.length} certificate${chain.length === 1 ? '' : 's'})`;
  }
  const lines = [
    `${report.title} (${certificate.keyType}, valid until ${certificate.notAfter.toISOString().slice(0, 10)}):`,
    ...outputs.map((o) => `  ${shown(run, o.name).padEnd(width)}  ${role[o.name] ?? ''}`),
    ...(report.note ? [`Note: ${report.note}`] : []),
    `Next: ${next}`,
  ];
  process.stdout.write(lines.join('\n') + '\n');
}
