import { randomBytes } from 'node:crypto';
import {
  accessSync,
  constants,
  existsSync,
  linkSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { CliError } from './output.js';

/** One file a command writes. */
export interface OutputFile {
  /** File name inside the output folder. */
  name: string;
  contents: string;
  /** Permission bits for a newly created file: 0o600 for private keys. */
  mode: number;
}

function errno(err: unknown): string | undefined {
  return err && typeof err === 'object' && 'code' in err && typeof err.code === 'string'
    ? err.code
    : undefined;
}

/**
 * Reads a file the user named, turning file-system failures into `ERR_CLI_READ_FILE`.
 * `what` says what the file is for ("the parent certificate"), so the message is self-explanatory.
 */
export function readInputFile(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    const reason =
      errno(err) === 'ENOENT'
        ? 'it does not exist'
        : errno(err) === 'EISDIR'
          ? 'it is a folder'
          : errno(err) === 'EACCES'
            ? 'permission denied'
            : (errno(err) ?? String(err));
    throw new CliError('ERR_CLI_READ_FILE', `Cannot read ${what} ${path}: ${reason}.`);
  }
}

/** Whether a path exists as a regular file (for optional inputs such as a parent's fullchain). */
export function fileExists(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/**
 * Checks that `dir` is an existing folder we can write into and returns its absolute path.
 * It is never created: a typo in `--out` should fail, not scatter keys into a new folder.
 */
export function checkOutputDir(dir: string): string {
  if (dir.length === 0) throw new CliError('ERR_CLI_OUTPUT_DIR', 'The output folder name is empty.');
  const absolute = resolve(dir);
  let isDirectory: boolean;
  try {
    isDirectory = statSync(absolute).isDirectory();
  } catch (err) {
    const reason = errno(err) === 'ENOTDIR' ? 'part of the path is a file' : 'it does not exist';
    throw new CliError('ERR_CLI_OUTPUT_DIR', `Cannot use the output folder ${dir}: ${reason}.`);
  }
  if (!isDirectory)
    throw new CliError('ERR_CLI_OUTPUT_DIR', `Cannot use the output folder ${dir}: it is not a folder.`);
  try {
    accessSync(absolute, constants.W_OK | constants.X_OK);
  } catch {
    throw new CliError('ERR_CLI_OUTPUT_DIR', `Cannot use the output folder ${dir}: it is not writable.`);
  }
  return absolute;
}

/** Refuses, before any work is done, when an output file already exists and `force` is off. */
export function refuseExisting(dir: string, names: string[], force: boolean): void {
  if (force) return;
  const existing = names.filter((name) => existsSync(join(dir, name)));
  if (existing.length > 0) {
    throw new CliError(
      'ERR_CLI_FILE_EXISTS',
      `${existing.join(', ')} already exist${existing.length === 1 ? 's' : ''} in ${dir}; use --force to overwrite.`,
    );
  }
}

/** Link errors that mean "this file system has no hard links", not "the target exists". */
const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'EXDEV', 'ENOSYS', 'EMLINK']);

function tryUnlink(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}

/** Moves a staged file to its final name; without `force` an existing target is never replaced. */
function commit(tmp: string, final: string, force: boolean): void {
  if (force) {
    renameSync(tmp, final);
    return;
  }
  try {
    // link(2) fails with EEXIST instead of replacing, closing the race between our existence
    // check and the write.
    linkSync(tmp, final);
    tryUnlink(tmp);
  } catch (err) {
    if (!NO_HARD_LINKS.has(errno(err) ?? '')) throw err;
    if (existsSync(final)) throw Object.assign(new Error(`${final} exists`), { code: 'EEXIST' });
    renameSync(tmp, final);
  }
}

/**
 * Writes every file of one run, or none: each is written to a hidden temporary name in `dir`
 * first, then moved into place. A failure while staging removes the temporaries; a failure while
 * moving also removes the files this run created (files already replaced under `force` stay
 * replaced).
 *
 * @returns the absolute paths written, in the order given.
 */
export function writeFilesAtomically(
  dir: string,
  files: OutputFile[],
  options: { force: boolean },
): string[] {
  const staged: { tmp: string; final: string }[] = [];
  const cleanup = (): void => staged.forEach((s) => tryUnlink(s.tmp));
  try {
    for (const file of files) {
      const tmp = join(dir, `.${file.name}.${randomBytes(6).toString('hex')}.tmp`);
      staged.push({ tmp, final: join(dir, file.name) });
      writeFileSync(tmp, file.contents, { mode: file.mode, flag: 'wx' });
    }
  } catch (err) {
    cleanup();
    throw new CliError('ERR_CLI_WRITE_FILE', `Cannot write into ${dir}: ${errno(err) ?? String(err)}.`);
  }
  // Files this run created (not replaced), so a failure can take them back.
  const created: string[] = [];
  try {
    for (const { tmp, final } of staged) {
      const replacing = options.force && existsSync(final);
      commit(tmp, final, options.force);
      if (!replacing) created.push(final);
    }
  } catch (err) {
    created.forEach(tryUnlink);
    cleanup();
    if (errno(err) === 'EEXIST') {
      throw new CliError(
        'ERR_CLI_FILE_EXISTS',
        `An output file appeared in ${dir} while writing; use --force to overwrite.`,
      );
    }
    throw new CliError('ERR_CLI_WRITE_FILE', `Cannot write into ${dir}: ${errno(err) ?? String(err)}.`);
  }
  return staged.map((s) => s.final);
}
