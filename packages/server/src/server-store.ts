/**
 * The first step of the composition root (server.ts): the node's name and cluster bus, the data
 * folder's lock and the opened store, with the closers every later step adds its own to.
 */
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { defaultNodeId, type Bus } from './events/bus.js';
import { RedisBus } from './events/redis-bus.js';
import { acquireDataDirLock } from './lifecycle/data-dir-lock.js';
import type { Metrics } from './metrics.js';
import type { ServerOptions } from './server.js';
import { openStore, type Store } from './store/open-store.js';
import type { Database } from './store/schema.js';

/** Servers started in this process (node IDs stay unique when tests start several). */
let serversStarted = 0;

/** What every step of the wiring is given: the options, the node's store and bus, the closers. */
export interface ServerNode {
  options: ServerOptions;
  /** `options.dataDir`, resolved (and created). */
  dataDir: string;
  logger: Logger;
  metrics: Metrics;
  /** This node's name on the bus. */
  nodeId: string;
  bus: Bus | undefined;
  opened: Store;
  db: Kysely<Database>;
  /**
   * Run in this order by `close()`: each step unshifts its own as it starts, so what started
   * last closes first.
   */
  closers: Array<() => Promise<void>>;
}

/** Connects the bus, takes the data folder's lock and opens the store; a failure undoes the earlier ones. */
export async function openServerNode(
  options: ServerOptions,
  dataDir: string,
  logger: Logger,
  metrics: Metrics,
): Promise<ServerNode> {
  // The cluster bus first: a node that cannot reach Redis stops before it touches its data.
  // Host name and pid; a second server in the same process (tests) gets a suffix, so that no
  // two nodes ever share a name in device_sessions.
  const nodeId = options.nodeId ?? `${defaultNodeId()}${++serversStarted > 1 ? `-${serversStarted}` : ''}`;
  const bus = options.redisUrl
    ? await RedisBus.connect({
        url: options.redisUrl,
        nodeId,
        logger: logger.child({ context: 'bus', nodeId }),
      })
    : undefined;
  // One server per data folder: a second `gatehouse serve` is refused, naming the first's pid.
  const lock = await acquireDataDirLock(dataDir, logger).catch(async (err: unknown) => {
    await bus?.close();
    throw err;
  });
  const opened = await openStore({
    dataDir,
    ...(options.databaseUrl ? { databaseUrl: options.databaseUrl } : {}),
  }).catch(async (err: unknown) => {
    await lock.release();
    await bus?.close();
    throw err;
  });
  const { db } = opened;
  // Closed in this order; the bus last, once the hub has dropped its subscriptions.
  const closers: Array<() => Promise<void>> = [
    () => opened.close(),
    () => lock.release(),
    async () => bus?.close(),
  ];
  return { options, dataDir, logger, metrics, nodeId, bus, opened, db, closers };
}
