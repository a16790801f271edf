/**
 * `gatehouse serve`'s cluster options (CLUSTER.md §6.5): --redis-url joins the bus between
 * nodes, --node-id names this node on it. A cluster's nodes share one PostgreSQL database
 * (--database-url): with the default SQLite store each node would have data of its own, and
 * the bus would route commands to devices the others do not know.
 */
import { Option } from 'commander';

import { CliError } from '../output.js';

export interface ClusterFlags {
  redisUrl?: string;
  nodeId?: string;
  /** --database-url (GATEHOUSE_DATABASE_URL): the PostgreSQL store a cluster shares. */
  databaseUrl?: string;
}

/** A node name goes into bus channel names: letters, digits and `. _ : -`, as host names have. */
function nodeId(value: string): string {
  if (!/^[A-Za-z0-9._:-]{1,128}$/.test(value)) {
    throw new CliError(
      'ERR_CLI_INVALID_OPTION',
      `'${value}' is not a node ID: use 1–128 letters, digits, '.', '_', ':' or '-'.`,
    );
  }
  return value;
}

export function redisUrlOption(): Option {
  return new Option(
    '--redis-url <url>',
    'Redis that connects the nodes of a cluster, e.g. redis://127.0.0.1:6379 (needs --database-url)',
  ).env('GATEHOUSE_REDIS_URL');
}

export function nodeIdOption(): Option {
  return new Option('--node-id <name>', "this node's name in the cluster (default: host name and process ID)")
    .env('GATEHOUSE_NODE_ID')
    .argParser(nodeId);
}

/** Refuses --redis-url without --database-url (ERR_CLI_REDIS_WITHOUT_DATABASE), before anything starts. */
export function checkClusterOptions(flags: ClusterFlags): void {
  const databaseUrl = flags.databaseUrl ?? process.env['GATEHOUSE_DATABASE_URL'];
  if (flags.redisUrl && !databaseUrl) {
    throw new CliError(
      'ERR_CLI_REDIS_WITHOUT_DATABASE',
      '--redis-url (GATEHOUSE_REDIS_URL) joins a cluster, whose nodes share one PostgreSQL database: add --database-url postgres://… (GATEHOUSE_DATABASE_URL), or drop --redis-url to run one node.',
    );
  }
}

/** The server options the cluster flags set. */
export function clusterServerOptions(flags: ClusterFlags): { redisUrl?: string; nodeId?: string } {
  return {
    ...(flags.redisUrl ? { redisUrl: flags.redisUrl } : {}),
    ...(flags.nodeId ? { nodeId: flags.nodeId } : {}),
  };
}
