/**
 * What the composition root (server.ts) runs on the devices' data without a request: device
 * groups and the jobs run over them, data export, and rules. In a cluster each loop runs on the
 * node holding its lease.
 */
import { CloudPropertyStore } from './app/cloud-properties.js';
import type { ApplicationInfo } from './api/index.js';
import { DeviceGroupService } from './app/device-groups.js';
import type { AuditLog } from './audit/audit-log.js';
import { DataExportService } from './export/data-export.js';
import { compileTransform } from './export/transform-jq.js';
import type { HubService } from './hub/hub-service.js';
import { JobService } from './jobs/job-runner.js';
import { JobStore } from './jobs/job-store.js';
import { LocalJobTargets } from './jobs/job-targets.js';
import { ScheduledJobService } from './jobs/scheduled-jobs.js';
import { startRules, type Rules } from './rules/start-rules.js';
import type { ServerProvisioning } from './server-provisioning.js';
import type { ServerNode } from './server-store.js';

export interface ServerJobsAndExport {
  deviceGroups: DeviceGroupService;
  jobs: JobService;
  scheduledJobs: ScheduledJobService;
  dataExport: DataExportService;
}

/**
 * Device groups and jobs. Running jobs resume here after a restart; their loops stop before
 * the hub (closed after the listeners, so no request starts one meanwhile).
 */
export async function startJobsAndExport(
  node: ServerNode,
  { templates }: ServerProvisioning,
  { hub, audit }: { hub: HubService; audit: AuditLog },
): Promise<ServerJobsAndExport> {
  const { options, logger, metrics, opened, db, closers } = node;
  const deviceGroups = new DeviceGroupService(db);
  const cloudProperties = new CloudPropertyStore(db);
  hub.events.subscribe((event) => {
    if (event.type === 'deviceChanged' && event.change === 'deleted') {
      void cloudProperties.deleteDevice(event.deviceId).catch(() => undefined);
    }
  });
  const jobs = new JobService({
    store: new JobStore(db),
    targets: new LocalJobTargets(hub, cloudProperties),
    groups: deviceGroups,
    templates: (id) =>
      templates.get(id).then(
        (t) => t.summary,
        () => undefined,
      ),
    logger: logger.child({ context: 'jobs' }),
    ...(options.jobAckWaitMs !== undefined ? { ackWaitMs: options.jobAckWaitMs } : {}),
    // In a cluster each job's loop runs on one node, and moves when that node dies.
    ...(opened.dialect === 'postgres' ? { lease: (id: string) => opened.tryLock(`job:${id}`) } : {}),
  });
  await jobs.start();
  closers.unshift(() => jobs.close());
  const scheduledJobs = new ScheduledJobService({
    db,
    jobs,
    checks: jobs.checks(),
    logger: logger.child({ context: 'scheduled-jobs' }),
  });
  scheduledJobs.start();
  closers.unshift(() => scheduledJobs.close());

  // Data export: one delivery loop per export and destination, on the node holding its lease.
  const dataExport = new DataExportService({
    db,
    metrics,
    logger: logger.child({ context: 'export' }),
    subscribe: (listener) => hub.events.subscribe(listener),
    postgres: opened.dialect === 'postgres',
    // Transforms run in Debian's jq, one kept-running process per program (transform-jq.ts).
    compileTransform: (program) => compileTransform(program),
    auditFeed: audit,
    ...(options.exportBacklogMs !== undefined ? { backlogMs: options.exportBacklogMs } : {}),
    ...(opened.dialect === 'postgres' ? { lease: (key: string) => opened.tryLock(key) } : {}),
  });
  await dataExport.start();
  closers.unshift(() => dataExport.close());
  return { deviceGroups, jobs, scheduledJobs, dataExport };
}

/**
 * Rules on this node's hub events (docs/rules.md); the disconnected check under a lease. Started
 * once the device listeners are bound: `application` then knows their ports, and `scope` reads
 * the current ID scope.
 */
export async function startServerRules(
  node: ServerNode,
  { templates }: ServerProvisioning,
  { hub, application, scope }: { hub: HubService; application: ApplicationInfo; scope: () => string },
): Promise<Rules> {
  const { options, logger, opened, db, closers } = node;
  const rules = await startRules({
    db,
    events: hub.events,
    template: (id) =>
      templates.get(id).then(
        (t) => t.summary,
        () => undefined,
      ),
    app: {
      get id() {
        return scope();
      },
      displayName: 'Gatehouse',
      host: options.hostName,
      get uiBase() {
        return `http://${options.hostName}:${application.httpPort}`;
      },
    },
    logger: logger.child({ context: 'rules' }),
    ...(options.smtpUrl !== undefined ? { smtpUrl: options.smtpUrl } : {}),
    ...(options.smtpFrom !== undefined ? { smtpFrom: options.smtpFrom } : {}),
    ...(options.rulesClock ? { now: options.rulesClock } : {}),
    ...(options.rulesTickMs !== undefined ? { tickMs: options.rulesTickMs } : {}),
    ...(opened.dialect === 'postgres' ? { lease: () => opened.tryLock('rules:disconnected') } : {}),
  });
  closers.unshift(() => rules.close());
  return rules;
}
