import { errorFactory, type ErrorSpec } from '../errors.js';

/** Why a node does not start (or stop) cleanly: refusals printed by `gatehouse serve`. */
export const LIFECYCLE_ERRORS = {
  ERR_DATA_DIR_LOCKED: {
    status: 409,
    summary:
      'Another running `gatehouse serve` (the pid is in the message) uses this data folder: a second one is refused.',
    fix: 'Stop the other process, or give this one its own `--data` folder. If no Gatehouse runs with that pid, delete `<data>/gatehouse.pid`.',
  },
  ERR_DATA_DIR_LOCK_FAILED: {
    status: 500,
    summary:
      'The lock file `<data>/gatehouse.pid` could not be created or read (permissions, a read-only folder).',
    fix: 'Make the data folder writable by the user running Gatehouse.',
  },
} as const satisfies Record<string, ErrorSpec>;

export const lifecycleError = errorFactory(LIFECYCLE_ERRORS);
