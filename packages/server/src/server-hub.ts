/**
 * The hub of the composition root (server.ts) and the cluster around it: the disk-full alarm,
 * the hub service, the revocation sweep, the node's membership among those sharing the database,
 * and the work one node does per period (retention, reaping dead nodes).
 */
import { AuditLog } from './audit/audit-log.js';
import { pruneAuditLog } from './audit/audit-retention.js';
import { ClusterMembership } from './cluster/membership.js';
import { SingletonScheduler } from './cluster/singleton.js';
import { HubService } from './hub/hub-service.js';
import { SasAuthenticator } from './hub/sas-authenticator.js';
import type { Readiness } from './lifecycle/readiness.js';
import { startRevocation } from './revocation/index.js';
import type { ServerProvisioning } from './server-provisioning.js';
import type { ServerNode } from './server-store.js';
import { Settings } from './store/settings.js';
import { StorageAlarm } from './store/storage-alarm.js';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

export interface ServerHub {
  hub: HubService;
  audit: AuditLog;
}

/** Starts the hub and joins the cluster; registers the PostgreSQL and Redis readiness checks. */
export async function startHub(
  node: ServerNode,
  provisioning: ServerProvisioning,
  readiness: Readiness,
): Promise<ServerHub> {
  const { options, dataDir, logger, metrics, nodeId, bus, opened, db, closers } = node;
  const { templates, resolveTemplate, revocation, groups, individual } = provisioning;
  // Disk full (HARDENING.md §7): an alarm, devices refused cleanly, back once a write succeeds.
  const storage = new StorageAlarm({
    logger: logger.child({ context: 'storage' }),
    metrics,
    probe: () => new Settings(db).set('storage-probe', new Date().toISOString()),
    ...(opened.dialect === 'sqlite' ? { dataDir } : {}),
  });
  closers.push(async () => storage.close());
  const hub = new HubService({
    db,
    storage,
    telemetryStore: opened.telemetry,
    hostName: options.hostName,
    logger: logger.child({ context: 'hub' }),
    metrics,
    authenticators: [new SasAuthenticator()],
    connectChecks: [revocation.connectCheck],
    onRefused: (identity, refusal, transport) => revocation.record(identity, refusal, { transport }),
    ...(bus ? { bus, nodeId } : {}),
    templates: {
      check: (id) => templates.checkAssignable(id),
      resolve: resolveTemplate,
      properties: (id) =>
        templates.get(id).then(
          (t) => ({
            properties: t.summary.properties,
            components: t.summary.components.map((c) => c.name),
          }),
          () => undefined,
        ),
    },
    ...(options.retentionDays !== undefined ? { retentionDays: options.retentionDays } : {}),
    ...(options.rollupRetentionDays !== undefined
      ? { rollupRetentionDays: options.rollupRetentionDays }
      : {}),
    ...(options.deviceLimits?.maxUncommittedTelemetry !== undefined
      ? { maxUncommittedTelemetry: options.deviceLimits.maxUncommittedTelemetry }
      : {}),
  });
  hub.start({ retention: false });
  const revoking = await startRevocation({
    revocation,
    hub,
    logger: logger.child({ context: 'revocation' }),
    ...(bus ? { bus } : {}),
    nodeId,
    sources: [groups, individual],
  });
  // The nodes sharing the database: heartbeats, and the sessions of nodes that died.
  const membership = new ClusterMembership({
    db,
    nodeId,
    sessions: hub.deviceSessions,
    logger: logger.child({ context: 'cluster', nodeId }),
    onReleased: (deviceIds, reason) => {
      const time = new Date().toISOString();
      for (const deviceId of deviceIds) hub.events.emit({ type: 'disconnected', deviceId, time, reason });
    },
  });
  await membership.start();
  const audit = new AuditLog(db);
  // Work one node does per period, whichever gets there first (CLUSTER.md §6.5).
  const singletons = new SingletonScheduler(
    db,
    nodeId,
    [
      { name: 'reap-dead-nodes', periodMs: 5000, run: async () => void (await membership.reap()) },
      {
        name: 'telemetry-retention',
        periodMs: HOUR_MS,
        run: async () => {
          await hub.applyRetention();
          await pruneAuditLog(audit, options.auditRetentionDays, logger);
        },
      },
      { name: 'c2d-expiry', periodMs: 60_000, run: async () => void (await hub.c2d.expireAll()) },
      {
        name: 'singleton-runs-prune',
        periodMs: DAY_MS,
        run: () => SingletonScheduler.prune(db, new Date(Date.now() - DAY_MS)),
      },
    ],
    logger.child({ context: 'singleton' }),
  );
  singletons.start();
  // Closed after the listeners (api → mqtt → hub → db): in-flight telemetry is flushed first,
  // then the node leaves the cluster.
  closers.unshift(async () => {
    singletons.stop();
    await membership.stop();
  });
  closers.unshift(() => hub.stop());
  closers.unshift(() => revoking.stop());
  if (opened.dialect === 'postgres') {
    // A node that cannot write its heartbeat for 10 s is not ready: its devices go elsewhere.
    // Heartbeats every 2 s: two missed ones mean PostgreSQL is out of reach; after 10 s of
    // that, lifecycle/ closes the device connections (they reconnect to a healthy node).
    readiness.register('postgresql', () => Promise.resolve(membership.sinceLastBeat() < 5000));
  }
  if (bus) readiness.register('redis', () => Promise.resolve(bus.isHealthy()));
  return { hub, audit };
}
