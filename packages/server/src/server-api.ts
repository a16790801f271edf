/**
 * The HTTP API of the composition root (server.ts): imports of Azure exports (which may change
 * the ID scope, on this node or another), and the REST API and web app over every service,
 * listening on the HTTP port.
 */
import type { AddressInfo } from 'node:net';
import { buildApi, type ApplicationInfo } from './api/index.js';
import { defaultWebRoot } from './api/web-app.js';
import { StatsService } from './app/stats.js';
import type { AuditLog } from './audit/audit-log.js';
import type { HubService } from './hub/hub-service.js';
import { TelemetryExport } from './hub/telemetry-export.js';
import { TelemetrySeries } from './hub/telemetry-series.js';
import { ImportService } from './import/import-service.js';
import type { Readiness } from './lifecycle/readiness.js';
import { CertificateInventory } from './provisioning/certificate-inventory.js';
import type { ProvisioningStore } from './provisioning/provisioning-store.js';
import type { Rules } from './rules/start-rules.js';
import type { ServerAccounts } from './server-accounts.js';
import type { ServerJobsAndExport } from './server-automation.js';
import type { ServerProvisioning } from './server-provisioning.js';
import type { ServerNode } from './server-store.js';

export interface HttpApiWiring {
  /** What `GET /api/application` answers; its ID scope and HTTP port are kept current here. */
  application: ApplicationInfo;
  /** The current ID scope, and how an import (or another node's) replaces it. */
  scope: () => string;
  setScope: (next: string) => void;
  store: ProvisioningStore;
  provisioning: ServerProvisioning;
  accounts: ServerAccounts;
  hub: HubService;
  audit: AuditLog;
  automation: ServerJobsAndExport;
  rules: Rules;
  readiness: Readiness;
}

/** Builds the REST API and listens; resolves with the bound address. */
export async function startHttpApi(node: ServerNode, wiring: HttpApiWiring): Promise<AddressInfo> {
  const { options, logger, metrics, opened, db, closers } = node;
  const { application, scope, setScope, store, hub, audit, rules, readiness } = wiring;
  const { groups, individual, revocation, attempts, templates } = wiring.provisioning;
  const { tokens, users, sessions, dashboards } = wiring.accounts;
  const { deviceGroups, jobs, scheduledJobs, dataExport } = wiring.automation;
  const imports = new ImportService(db, {
    idScope: scope,
    onIdScopeChanged: (next) => {
      logger.info({ idScope: next, previous: scope() }, 'the ID scope was changed by an import');
      setScope(next);
      application.idScope = next;
    },
    onDevicesChanged: (ids) => {
      const time = new Date().toISOString();
      for (const deviceId of ids)
        hub.events.emit({ type: 'deviceChanged', deviceId, time, change: 'updated' });
    },
  });
  if (opened.dialect === 'postgres') {
    // An import on another node may change the ID scope: every node reads it again every 5 s.
    const rescope = setInterval(() => {
      void store
        .getSetting('idScope')
        .then((stored) => {
          if (stored === undefined || stored === scope()) return;
          logger.info({ idScope: stored, previous: scope() }, 'the ID scope was changed on another node');
          setScope(stored);
          application.idScope = stored;
        })
        .catch(() => undefined);
    }, 5000);
    rescope.unref();
    closers.unshift(async () => clearInterval(rescope));
  }
  const api = await buildApi({
    ...(options.httpLimits ? { httpLimits: options.httpLimits } : {}),
    imports,
    logger: logger.child({ context: 'api' }),
    metrics,
    application,
    groups,
    individual,
    revocation: revocation.service,
    attempts,
    tokens,
    templates,
    users,
    sessions,
    dashboards,
    certificates: new CertificateInventory(db, {
      logger: logger.child({ context: 'api' }),
      revocation: revocation.service,
    }),
    stats: new StatsService(db, { connectedDevices: () => hub.registry.size }),
    hub,
    telemetrySeries: new TelemetrySeries({
      store: opened.telemetry,
      db,
      device: (id) => hub.devices.row(id),
      templateTelemetry: async (id) => (await templates.get(id)).summary.telemetry,
      groupDeviceIds: (id) => deviceGroups.deviceIds(id),
    }),
    telemetryExport: new TelemetryExport(opened.telemetry, (id) => hub.devices.row(id)),
    ...(options.csvMaxRows !== undefined ? { csvMaxRows: options.csvMaxRows } : {}),
    readiness,
    deviceGroups,
    jobs,
    scheduledJobs,
    audit,
    dataExport,
    rules: rules.service,
    webRoot: options.webRoot === undefined ? defaultWebRoot() : options.webRoot || undefined,
    ...(options.httpTrustProxy ? { trustProxy: options.httpTrustProxy } : {}),
  });
  await api.listen({ host: options.bindHost, port: options.httpPort });
  closers.unshift(() => api.close());
  const httpAddress = api.server.address() as AddressInfo;
  // With port 0 the real port is known only now.
  application.httpPort = httpAddress.port;
  return httpAddress;
}
