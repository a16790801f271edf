import assert from 'node:assert/strict';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import type { Kysely } from 'kysely';
import { pino } from 'pino';
import { ApiTokenService, buildApi, ROLE_IDS, type ApiDeps } from '../../src/api/index.js';
import { DeviceTemplateService } from '../../src/app/device-templates.js';
import { CloudPropertyStore } from '../../src/app/cloud-properties.js';
import { DashboardService } from '../../src/app/dashboards.js';
import { DeviceGroupService } from '../../src/app/device-groups.js';
import { JobService, type JobServiceOptions } from '../../src/jobs/job-runner.js';
import { JobStore } from '../../src/jobs/job-store.js';
import { LocalJobTargets } from '../../src/jobs/job-targets.js';
import { ScheduledJobService } from '../../src/jobs/scheduled-jobs.js';
import { SessionService } from '../../src/app/sessions.js';
import { StatsService } from '../../src/app/stats.js';
import { UserService } from '../../src/app/users.js';
import { HubService } from '../../src/hub/hub-service.js';
import { Metrics } from '../../src/metrics.js';
import { ProvisioningAttempts } from '../../src/provisioning/attempts.js';
import { CertificateInventory } from '../../src/provisioning/certificate-inventory.js';
import { EnrollmentGroupService } from '../../src/provisioning/enrollment-groups.js';
import { RevocationService } from '../../src/revocation/revocation-service.js';
import { RevocationStore } from '../../src/revocation/revocation-store.js';
import { IndividualEnrollmentService } from '../../src/provisioning/individual-enrollments.js';
import { ProvisioningStore } from '../../src/provisioning/provisioning-store.js';
import type { Database } from '../../src/store/schema.js';
import { SqliteTelemetryStore } from '../../src/hub/telemetry-store.js';
import { TelemetryExport } from '../../src/hub/telemetry-export.js';
import { TelemetrySeries } from '../../src/hub/telemetry-series.js';
import { openSqliteWithHandle, type SqliteStore } from '../../src/store/sqlite.js';

export const ADMIN_SECRET = 'api-test-admin-secret-0123456789';
export const ID_SCOPE = '0ne00ABCDEF';

export interface ApiHarness {
  app: FastifyInstance;
  db: Kysely<Database>;
  deps: ApiDeps;
  store: ProvisioningStore;
  /** Moves the clock of every service (ms added to the real time). */
  clock: { offsetMs: number };
  logLines: Array<Record<string, unknown>>;
  /** `inject` with the administrator's Bearer secret unless `auth` says otherwise (`null`: no header). */
  call(
    method: string,
    url: string,
    body?: unknown,
    auth?: string | null,
    headers?: Record<string, string>,
  ): Promise<LightMyRequestResponse>;
  /** A new token with these roles; returns its Bearer secret and its full SharedAccessSignature text. */
  token(id: string, roles: string[], expiry?: string): Promise<{ secret: string; sas: string }>;
  close(): Promise<void>;
}

export interface ApiHarnessOptions {
  /** Run on this store (e.g. a hub harness's) instead of a new in-memory one; not closed by `close()`. */
  store?: SqliteStore;
  /** Options of the job service (e.g. a short `ackWaitMs`). */
  jobs?: Partial<JobServiceOptions>;
}

/**
 * The REST API in process: a real in-memory SQLite store and the real services, the hub
 * included (a HubService without a listener, unless `overrides.hub` brings one).
 */
export async function apiHarness(
  overrides: Partial<ApiDeps> = {},
  options: ApiHarnessOptions = {},
): Promise<ApiHarness> {
  const sqlite = options.store ?? (await openSqliteWithHandle({ filename: ':memory:' }));
  const db = sqlite.db;
  const store = new ProvisioningStore(db);
  const clock = { offsetMs: 0 };
  const now = () => new Date(Date.now() + clock.offsetMs);
  const logLines: Array<Record<string, unknown>> = [];
  const logger = pino(
    { level: 'debug' },
    { write: (line: string) => void logLines.push(JSON.parse(line) as Record<string, unknown>) },
  );
  const tokens = new ApiTokenService(db, { hostName: 'gatehouse.test', now });
  await tokens.ensureBootstrapToken(ADMIN_SECRET);
  const users = new UserService(db, { now });
  const telemetryStore = new SqliteTelemetryStore(sqlite.sqlite);
  const hub =
    overrides.hub ??
    new HubService({
      db,
      telemetryStore,
      hostName: 'gatehouse.test',
      logger,
      now,
    });
  const templates = new DeviceTemplateService(db, now);
  const deviceGroups = new DeviceGroupService(db, now);
  const jobs =
    hub instanceof HubService
      ? new JobService({
          store: new JobStore(db),
          targets: new LocalJobTargets(hub, new CloudPropertyStore(db, now)),
          groups: deviceGroups,
          templates: (id) =>
            templates.get(id).then(
              (t) => t.summary,
              () => undefined,
            ),
          logger,
          now,
          ...options.jobs,
        })
      : undefined;
  await jobs?.start();
  const scheduledJobs = jobs
    ? new ScheduledJobService({ db, jobs, checks: jobs.checks(), logger, now, tickMs: 100 })
    : undefined;
  scheduledJobs?.start();
  const deps: ApiDeps = {
    logger,
    metrics: new Metrics(),
    application: {
      idScope: ID_SCOPE,
      hostName: 'gatehouse.test',
      mqttPort: 8883,
      httpPort: 3000,
      serverCaPath: '/data/server-ca.pem',
    },
    groups: new EnrollmentGroupService({ store, idScope: ID_SCOPE, now }),
    individual: new IndividualEnrollmentService({ store, idScope: ID_SCOPE, now }),
    revocation: new RevocationService({ store: new RevocationStore(db), provisioning: store, now }),
    attempts: new ProvisioningAttempts(store, now),
    tokens,
    templates,
    deviceGroups,
    jobs: jobs as JobService,
    scheduledJobs: scheduledJobs as ScheduledJobService,
    users,
    sessions: new SessionService(db, users, { now }),
    dashboards: new DashboardService(db, { now }),
    certificates: new CertificateInventory(db, { now }),
    stats: new StatsService(db, {
      connectedDevices: () => (hub instanceof HubService ? hub.registry.size : 0),
      now,
    }),
    // Telemetry series and CSV, on the same SQLite file as the hub's telemetry.
    ...(hub instanceof HubService
      ? {
          telemetrySeries: new TelemetrySeries({
            store: telemetryStore,
            db,
            device: (id) => hub.devices.row(id),
            templateTelemetry: async (id) => (await templates.get(id)).summary.telemetry,
            groupDeviceIds: (id) => deviceGroups.deviceIds(id),
            now,
          }),
          telemetryExport: new TelemetryExport(telemetryStore, (id) => hub.devices.row(id)),
        }
      : {}),
    ...overrides,
    hub,
  };
  const app = await buildApi(deps);
  const call: ApiHarness['call'] = (method, url, body, auth = `Bearer ${ADMIN_SECRET}`, headers = {}) =>
    app.inject({
      method: method as 'GET',
      url,
      headers: {
        ...(auth === null ? {} : { authorization: auth }),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      ...(body === undefined ? {} : { payload: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
  return {
    app,
    db,
    deps,
    store,
    clock,
    logLines,
    call,
    async token(id, roles, expiry) {
      const res = await call('PUT', `/api/apiTokens/${id}`, {
        roles: roles.map((role) => ({ role })),
        ...(expiry ? { expiry } : {}),
      });
      assert.equal(res.statusCode, 200, res.body);
      const sas = (res.json() as { token: string }).token;
      const secret = /&sig=([^&]+)/.exec(sas)?.[1];
      assert.ok(secret);
      return { secret, sas };
    },
    async close() {
      await app.close();
      await scheduledJobs?.close();
      await jobs?.close();
      if (overrides.hub === undefined && deps.hub instanceof HubService) await deps.hub.stop();
      if (!options.store) await db.destroy();
    },
  };
}

export const OPERATOR = ROLE_IDS.operator;
export const BUILDER = ROLE_IDS.builder;
export const ADMINISTRATOR = ROLE_IDS.administrator;

const RFC1123 = /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/;

/** Every error answer: the status, `x-ms-error-code`, and the one envelope. Returns the message. */
export function expectError(
  res: LightMyRequestResponse,
  status: number,
  code: string,
  messageIncludes?: string | RegExp,
): string {
  assert.equal(res.statusCode, status, `expected ${status} ${code}, got ${res.statusCode}: ${res.body}`);
  assert.equal(res.headers['x-ms-error-code'], code);
  assert.match(String(res.headers['content-type']), /^application\/json/);
  const body = res.json() as { error: Record<string, unknown> };
  assert.deepEqual(Object.keys(body), ['error']);
  assert.deepEqual(Object.keys(body.error).sort(), ['code', 'message', 'requestId', 'time']);
  assert.equal(body.error['code'], code);
  assert.equal(typeof body.error['message'], 'string');
  assert.notEqual(body.error['message'], '');
  assert.equal(body.error['requestId'], res.headers['x-ms-request-id']);
  assert.match(
    String(body.error['requestId']),
    /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
  );
  assert.match(String(body.error['time']), RFC1123);
  const message = String(body.error['message']);
  if (messageIncludes !== undefined) {
    if (typeof messageIncludes === 'string')
      assert.ok(message.includes(messageIncludes), `message '${message}' lacks '${messageIncludes}'`);
    else assert.match(message, messageIncludes);
  }
  return message;
}
