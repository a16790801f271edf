import type { Logger } from 'pino';
import type { ApiTokenService } from '../app/api-tokens.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { DeviceTemplateService } from '../app/device-templates.js';
import type { DashboardService } from '../app/dashboards.js';
import type { DeviceGroupService } from '../app/device-groups.js';
import type { JobService } from '../jobs/job-runner.js';
import type { ScheduledJobService } from '../jobs/scheduled-jobs.js';
import type { RuleService } from '../rules/rule-service.js';
import type { DeviceQueryService } from '../app/devices.js';
import type { SessionService } from '../app/sessions.js';
import type { StatsService } from '../app/stats.js';
import type { UserService } from '../app/users.js';
import type { HubApi } from '../hub/hub-api.js';
import type { TelemetryExport } from '../hub/telemetry-export.js';
import type { TelemetrySeries } from '../hub/telemetry-series.js';
import type { Readiness } from '../lifecycle/readiness.js';
import type { ImportService } from '../import/import-service.js';
import type { DataExportService } from '../export/data-export.js';
import type { Metrics } from '../metrics.js';
import type { ProvisioningAttempts } from '../provisioning/attempts.js';
import type { CertificateInventory } from '../provisioning/certificate-inventory.js';
import type { EnrollmentGroupService } from '../provisioning/enrollment-groups.js';
import type { IndividualEnrollmentService } from '../provisioning/individual-enrollments.js';
import type { RevocationService } from '../revocation/revocation-service.js';

/** What `GET /api/application` tells a client about this Gatehouse. */
export interface ApplicationInfo {
  idScope: string;
  hostName: string;
  mqttPort: number;
  /** Port of the REST API; 0 (bound to a free port) makes the endpoint follow the request's Host. */
  httpPort: number;
  httpsPort?: number;
  serverCaPath: string;
}

/** The services the REST API calls. Routes stay thin: the services validate and throw GatehouseError. */
export interface ApiDeps {
  logger: Logger;
  metrics: Metrics;
  application: ApplicationInfo;
  groups: EnrollmentGroupService;
  individual: IndividualEnrollmentService;
  /** CRLs of enrollment groups (revocation/). */
  revocation?: RevocationService;
  attempts: ProvisioningAttempts;
  tokens: ApiTokenService;
  /** Device templates (DTDL v2), with the built-ins. */
  templates: DeviceTemplateService;
  /** Web UI users, their sign-in sessions and dashboards; the certificate list and the KPI counts. */
  users: UserService;
  sessions: SessionService;
  dashboards: DashboardService;
  certificates: CertificateInventory;
  stats: StatsService;
  /** The hub (hub-api.ts): devices, telemetry, properties, commands, C2D and the live events. */
  hub: HubApi;
  /** Telemetry series (aggregated in the store) and CSV exports; absent: those routes are not served. */
  telemetrySeries?: TelemetrySeries;
  telemetryExport?: TelemetryExport;
  /** Most rows of a CSV answer (default 100,000). */
  csvMaxRows?: number;
  /** Device groups (named device queries) and the jobs run over them. */
  deviceGroups: DeviceGroupService;
  jobs: JobService;
  scheduledJobs: ScheduledJobService;
  /** Rules and their fired history (`/api/rules`); absent: those routes are not served. */
  rules?: RuleService;
  /**
   * @deprecated No route uses it any more: `/api/devices` is served by `hub`. Kept optional so
   * existing callers compile; drop it when they no longer pass it.
   */
  devices?: DeviceQueryService;
  /** Data export (`/api/dataExport/…`); absent: those routes are not served. */
  dataExport?: DataExportService;
  /** Imports of Azure exports (`POST /api/imports`); absent: the route answers 404. */
  imports?: ImportService;
  /** Milliseconds between the comment heartbeats of the event streams; default 15000 (tests: less). */
  sseHeartbeatMs?: number;
  /** `--http-trust-proxy`: addresses (CIDRs) of reverse proxies whose X-Forwarded-* headers count. */
  trustProxy?: string[];
  /** `--http-headers-timeout`, `--api-request-timeout`, `--api-body-limit` (build-api.ts defaults). */
  httpLimits?: HttpLimits;
  /** Folder of the built web app (`packages/web/dist/app`); undefined: a page saying to build it. */
  webRoot?: string;
  /** Extra fields for `GET /healthz` (e.g. store and listener checks); a throw answers 503. */
  health?: () => Promise<Record<string, unknown>>;
  /** `GET /readyz`; without it the node is always ready. */
  readiness?: Readiness;
  /** The audit log: every change through the API is recorded (audit/); absent: none, no route. */
  audit?: AuditLog;
}

/** Timeouts and body cap of the HTTP listeners; each absent one keeps its default. */
export interface HttpLimits {
  /** REST and device HTTPS: time to send a request's headers (default 20 s). */
  headersTimeoutMs?: number;
  /** REST: time to send a whole request, body included (default 120 s). */
  apiRequestTimeoutMs?: number;
  /** Device HTTPS: time to send a whole request (default 60 s). */
  deviceRequestTimeoutMs?: number;
  /** REST: the largest request body but imports' (default 1 MiB). */
  apiBodyLimitBytes?: number;
}
