/**
 * Three real `gatehouse serve` processes behind a real HAProxy, for the cluster tests of
 * CLUSTER.md §6.6 (the harness itself is bench/cluster-harness.ts, shared with
 * `npm run bench -- cluster`). Each suite gets a fresh database on the test PostgreSQL and the
 * shared test Redis (or one of its own).
 *
 *   describe('…', { skip: clusterSkipReason() }, () => {
 *     const c = withCluster({ nodes: 3 });
 *     it('…', async () => { c.cluster.api(0, 'GET', '/api/devices') … });
 *   });
 */
import { after, before } from 'node:test';

import { startCluster, type Cluster, type ClusterOptions } from '../../bench/cluster-harness.js';
import { haproxySkipReason } from './haproxy.js';
import { withPortLock } from './port-lock.js';
import pg from 'pg';

import { createTestDatabase, dropTestDatabase, postgresSkipReason } from './postgres.js';
import { skipWithoutRedis, testRedisUrl } from './redis.js';

export const CLUSTER_TOKEN = 'cluster-admin-token-0123456789abcdef';

/** Why the three-node tests cannot run here (PostgreSQL, Redis or HAProxy missing), else false. */
export function clusterSkipReason(): string | false {
  const pg = postgresSkipReason();
  if (pg) return pg;
  const redis = skipWithoutRedis();
  if (redis) return redis;
  return haproxySkipReason();
}

export interface TestCluster {
  readonly cluster: Cluster;
  /** The suite's database URL. */
  readonly databaseUrl: string;
  /** One query on the suite's database, on a connection of its own. */
  query<T = Record<string, unknown>>(text: string, values?: unknown[]): Promise<T[]>;
}

/**
 * before/after hooks of the enclosing suite: a fresh database and the cluster on it. With
 * `mqttFrontPort: 8883` (the Azure SDK's only port) the suite holds the 8883 port lock.
 */
export function withCluster(
  options: Partial<Omit<ClusterOptions, 'databaseUrl' | 'token' | 'redisUrl'>> & {
    redisUrl?: () => string;
  } = {},
): TestCluster {
  let db: { name: string; url: string } | undefined;
  let cluster: Cluster | undefined;
  let release: () => void = () => undefined;
  before(async () => {
    if (options.mqttFrontPort === 8883) {
      await new Promise<void>((ready, fail) => {
        withPortLock(8883, () => new Promise<void>((done) => ((release = done), ready()))).catch(fail);
      });
    }
    db = await createTestDatabase();
    const { redisUrl, ...rest } = options;
    cluster = await startCluster({
      nodes: 3,
      ...rest,
      databaseUrl: db.url,
      redisUrl: redisUrl?.() ?? testRedisUrl()!,
      token: CLUSTER_TOKEN,
    });
  });
  // The nodes stop before their database is dropped.
  after(async () => {
    try {
      await cluster?.stop();
      if (db) await dropTestDatabase(db.name);
    } finally {
      release();
    }
  });
  return {
    get cluster() {
      if (!cluster) throw new Error('withCluster(): the cluster exists only once `before` has run');
      return cluster;
    },
    get databaseUrl() {
      if (!db) throw new Error('withCluster(): the database exists only once `before` has run');
      return db.url;
    },
    async query<T>(text: string, values?: unknown[]): Promise<T[]> {
      const client = new pg.Client({ connectionString: this.databaseUrl });
      await client.connect();
      try {
        return (await client.query(text, values)).rows as T[];
      } finally {
        await client.end();
      }
    },
  };
}

/** Polls `check` until it returns a truthy value or the time is up (then throws `what`). */
export async function until<T>(
  check: () => Promise<T | undefined | false>,
  timeoutMs: number,
  what: string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
