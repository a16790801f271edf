import { errorFactory, type ErrorSpec } from '../errors.js';

/**
 * Error codes of the store: why `gatehouse serve --database-url` could not open PostgreSQL.
 * Each is raised at start, before any listener, so the CLI prints one line and exits non-zero.
 */
export const STORE_ERRORS = {
  ERR_DATABASE_URL_INVALID: {
    status: 500,
    summary: 'The database URL (`--database-url`, GATEHOUSE_DATABASE_URL) is not a PostgreSQL URL.',
    fix: 'Give `postgres://USER[:PASSWORD]@HOST:PORT/DATABASE` (password characters percent-encoded), or leave it unset for the embedded SQLite database.',
  },
  ERR_DATABASE_UNREACHABLE: {
    status: 503,
    summary:
      'PostgreSQL at the database URL cannot be reached: connection refused, unknown host, or no answer in time.',
    fix: 'Check that PostgreSQL runs and listens on that host and port (`pg_isready -h HOST -p PORT`), and that no firewall is in the way.',
  },
  ERR_DATABASE_AUTH_FAILED: {
    status: 503,
    summary:
      'PostgreSQL refused the user or password of the database URL (or pg_hba.conf refuses this client).',
    fix: 'Use a role that exists, with its password, and a pg_hba.conf line that lets this host connect to that database.',
  },
  ERR_DATABASE_NOT_FOUND: {
    status: 503,
    summary: 'The database named in the URL does not exist on that PostgreSQL server.',
    fix: 'Create it first (`createdb -h HOST -p PORT -U USER DATABASE`), or name an existing database in the URL.',
  },
  ERR_DATABASE_MIGRATION_FAILED: {
    status: 500,
    summary: 'The database schema could not be brought up to date (a migration failed); nothing was served.',
    fix: 'Read the cause in the message; make sure the role may create tables in the database (and owns those it has).',
  },
  ERR_STORE_COPY_SOURCE_MISSING: {
    status: 400,
    summary:
      '`gatehouse store copy --from` names a folder without gatehouse.db: not the data folder of an SQLite Gatehouse.',
    fix: 'Point --from at the folder `gatehouse serve` used (default ./gatehouse-data), the one that holds gatehouse.db.',
  },
  ERR_STORE_COPY_TARGET_NOT_EMPTY: {
    status: 409,
    summary:
      'The PostgreSQL database `gatehouse store copy` should fill already holds data; nothing was copied.',
    fix: 'Copy into a new, empty database before any node starts on it, or add --force to replace everything the target holds.',
  },
  ERR_STORE_COPY_SCHEMA_MISMATCH: {
    status: 500,
    summary:
      'The target database lacks a table or column of the source: the two were made by different Gatehouse versions.',
    fix: 'Run `gatehouse store copy` with the Gatehouse version the nodes will run; it brings both databases to its schema first.',
  },
  ERR_STORE_COPY_COUNT_MISMATCH: {
    status: 500,
    summary:
      'After the copy a table of the target did not hold the rows of the source, so the copy was rolled back.',
    fix: 'Make sure no server writes to either database during the copy (stop `gatehouse serve`), then copy again.',
  },
} as const satisfies Record<string, ErrorSpec>;

export const storeError = errorFactory(STORE_ERRORS);
