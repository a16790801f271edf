/**
 * PostgreSQL advisory lock keys of Gatehouse (one 64-bit number per job, PG15
 * `explicit-locking.html` §13.3.5). Nodes of one cluster share a database, so the same key
 * on every node makes the job run on one node at a time. Kysely's migrator takes its own
 * (3853314791062309107) inside the migration transaction; ours are distinct.
 */
export const ADVISORY_LOCKS = {
  /** Held by a node while it migrates the schema (session lock on a dedicated client). */
  migrations: 7_274_850_163_001n,
  /** Held by a node while it creates the application's identity (ID scope, TLS, admin, defaults). */
  startup: 7_274_850_163_002n,
  /** Held while telemetry partitions are created or dropped. */
  telemetryPartitions: 7_274_850_163_003n,
} as const;
