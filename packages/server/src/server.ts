import { mkdir, writeFile, chmod } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { pino, type Logger } from 'pino';
import type { Kysely } from 'kysely';
import { buildApi, ApiTokenService } from './api/index.js';
import { defaultWebRoot } from './api/web-app.js';
import { CloudPropertyStore } from './app/cloud-properties.js';
import { DashboardService } from './app/dashboards.js';
import { DeviceGroupService } from './app/device-groups.js';
import { JobService } from './jobs/job-runner.js';
import { JobStore } from './jobs/job-store.js';
import { LocalJobTargets } from './jobs/job-targets.js';
import { ScheduledJobService } from './jobs/scheduled-jobs.js';
import { SessionService } from './app/sessions.js';
import { StatsService } from './app/stats.js';
import { UserService } from './app/users.js';
import { startMqttTlsListener } from './gateway/index.js';
import { startDeviceHttpsListener } from './device-http/index.js';
import { Metrics } from './metrics.js';
import { DeviceTemplateService } from './app/device-templates.js';
import { ProvisioningAttempts } from './provisioning/attempts.js';
import { CertificateInventory } from './provisioning/certificate-inventory.js';
import { SymmetricKeyAttestation } from './provisioning/attestation/symmetric-key.js';
import { X509Attestation } from './provisioning/attestation/x509.js';
import { EnrollmentGroupService } from './provisioning/enrollment-groups.js';
import { ensureIdScope } from './provisioning/id-scope.js';
import { IndividualEnrollmentService } from './provisioning/individual-enrollments.js';
import { ProvisioningStore } from './provisioning/provisioning-store.js';
import { RegistrationService } from './provisioning/registration.js';
import type { Database } from './store/schema.js';
import { openSqliteWithHandle } from './store/sqlite.js';
import { HubService } from './hub/hub-service.js';
import { SasAuthenticator } from './hub/sas-authenticator.js';
import { ensureTlsIdentity } from './tls-identity.js';

export interface ServerOptions {
  /** Folder for the database, the server CA and keys (created if missing). */
  dataDir: string;
  /** Returned to devices as `assignedHub`, and put in the server certificate. */
  hostName: string;
  /** Address to bind every listener to. */
  bindHost: string;
  mqttPort: number;
  httpPort: number;
  /** HTTPS device APIs and MQTT over WebSockets (the Azure SDKs use 443). */
  httpsPort?: number;
  tlsCertFile?: string;
  tlsKeyFile?: string;
  /** GATEHOUSE_ADMIN_TOKEN: the administrator token's secret, instead of a generated one. */
  adminToken?: string;
  /** GATEHOUSE_ADMIN_PASSWORD: the web UI password of the user `admin`, instead of a generated one. */
  adminPassword?: string;
  logLevel?: string;
  logger?: Logger;
  /** `retry-after` of the DPS 202 answer, in seconds. */
  dpsRetryAfterSeconds?: number;
  /** Days telemetry is kept (default 30). */
  retentionDays?: number;
  /** Folder of the built web app; default `packages/web/dist/app` of this checkout ('' serves none). */
  webRoot?: string;
  /** How long a property job's batch waits for the devices' acknowledgements (default 30 s). */
  jobAckWaitMs?: number;
}

export interface RunningServer {
  idScope: string;
  hostName: string;
  dataDir: string;
  mqtt: AddressInfo;
  http: AddressInfo;
  /** The HTTPS/WSS device listener, or undefined when its port could not be bound (see httpsError). */
  https: AddressInfo | undefined;
  httpsError: string | undefined;
  serverCaPath: string | undefined;
  /** Path of the file holding the administrator token (written when the token was generated or given). */
  adminTokenPath: string;
  /** The generated administrator secret, present only on the start that created it. */
  generatedAdminToken: string | undefined;
  /** Path of the file holding the generated password of the user `admin` (written only when generated). */
  adminPasswordPath: string;
  /** The generated password of the user `admin`, present only on the start that created it. */
  generatedAdminPassword: string | undefined;
  db: Kysely<Database>;
  hub: HubService;
  logger: Logger;
  metrics: Metrics;
  close(): Promise<void>;
}

export const SERVER_DEFAULTS = {
  dataDir: './gatehouse-data',
  hostName: 'localhost',
  bindHost: '0.0.0.0',
  mqttPort: 8883,
  httpPort: 3000,
  httpsPort: 443,
  logLevel: 'info',
  dpsRetryAfterSeconds: 1,
} as const;

/**
 * The composition root: one process with the store, the provisioning services,
 * the MQTT/TLS gateway and the REST API. Data flows gateway → provisioning →
 * store; the API calls the same services.
 */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const dataDir = resolve(options.dataDir);
  await mkdir(dataDir, { recursive: true });
  const logger = options.logger ?? pino({ level: options.logLevel ?? SERVER_DEFAULTS.logLevel });
  const metrics = new Metrics();
  const { db, sqlite } = await openSqliteWithHandle({ filename: join(dataDir, 'gatehouse.db') });
  const closers: Array<() => Promise<void>> = [async () => db.destroy()];
  try {
    const store = new ProvisioningStore(db);
    const idScope = await ensureIdScope(store);
    const tls = await ensureTlsIdentity({
      dataDir,
      hostNames: [options.hostName],
      ...(options.tlsCertFile ? { tlsCertFile: options.tlsCertFile } : {}),
      ...(options.tlsKeyFile ? { tlsKeyFile: options.tlsKeyFile } : {}),
    });

    const templates = new DeviceTemplateService(db);
    await templates.ensureBuiltIns();
    const resolveTemplate = (modelId: string) => templates.findByModelId(modelId);

    const attempts = new ProvisioningAttempts(store);
    const groups = new EnrollmentGroupService({ store, idScope });
    const individual = new IndividualEnrollmentService({ store, idScope });
    await groups.ensureDefaults();
    const registration = new RegistrationService({
      store,
      attempts,
      mechanisms: [new X509Attestation(store), new SymmetricKeyAttestation(store)],
      idScope,
      hostName: options.hostName,
      retryAfterSeconds: options.dpsRetryAfterSeconds ?? SERVER_DEFAULTS.dpsRetryAfterSeconds,
      logger: logger.child({ context: 'provisioning' }),
      metrics,
      resolveTemplate,
      // The web UI's device list and page hear about it at once (a new device, or provisioned: true).
      onAssigned: (outcome) =>
        hub.events.emit({
          type: 'deviceChanged',
          deviceId: outcome.deviceId,
          time: new Date().toISOString(),
          change: 'provisioned',
        }),
    });

    const tokens = new ApiTokenService(db, { hostName: options.hostName });
    const bootstrap = await tokens.ensureBootstrapToken(options.adminToken);
    const adminTokenPath = join(dataDir, 'admin-token');
    if (bootstrap.secret !== undefined || options.adminToken !== undefined) {
      await writeFile(adminTokenPath, (bootstrap.secret ?? options.adminToken) + '\n', { mode: 0o600 });
      await chmod(adminTokenPath, 0o600);
    }

    // The web UI's first user, like the token above: printed once, kept in a 0600 file.
    const users = new UserService(db);
    const sessions = new SessionService(db, users);
    const adminUser = await users.ensureAdminUser(
      options.adminPassword !== undefined ? { password: options.adminPassword } : {},
    );
    const adminPasswordPath = join(dataDir, 'admin-password');
    if (adminUser.password !== undefined) {
      await writeFile(adminPasswordPath, adminUser.password + '\n', { mode: 0o600 });
      await chmod(adminPasswordPath, 0o600);
    }
    const dashboards = new DashboardService(db);
    await dashboards.ensureDefault();

    const hub = new HubService({
      db,
      sqlite,
      hostName: options.hostName,
      logger: logger.child({ context: 'hub' }),
      metrics,
      authenticators: [new SasAuthenticator()],
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
    });
    hub.start();
    // Closed after the listeners (api → mqtt → hub → db): in-flight telemetry is flushed first.
    closers.unshift(() => hub.stop());

    // Device groups and jobs. Running jobs resume here after a restart; their loops stop before
    // the hub (closed after the listeners, so no request starts one meanwhile).
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

    // One gateway configuration for every device transport: MQTT/TLS, MQTT/WSS.
    const gateway = {
      dps: registration,
      hub: hub.connectHandler(),
      logger: logger.child({ context: 'gateway' }),
      metrics,
    };
    const mqtt = await startMqttTlsListener({
      host: options.bindHost,
      port: options.mqttPort,
      key: tls.key,
      cert: tls.cert,
      ...gateway,
    });
    closers.unshift(() => mqtt.close());

    // HTTPS device APIs and MQTT over WebSockets share one listener on 443 (the SDKs'
    // fixed port). When it cannot be bound the rest keeps running; the reason is one line.
    let https: AddressInfo | undefined;
    let httpsError: string | undefined;
    try {
      const deviceHttps = await startDeviceHttpsListener({
        host: options.bindHost,
        port: options.httpsPort ?? SERVER_DEFAULTS.httpsPort,
        key: tls.key,
        cert: tls.cert,
        gateway,
        dpsHandler: registration,
        hubHttp: hub.http,
        logger: logger.child({ context: 'device-https' }),
        metrics,
      });
      closers.unshift(() => deviceHttps.close());
      https = deviceHttps.address();
    } catch (err) {
      httpsError = (err as Error).message;
      logger.warn({ code: (err as { code?: string }).code }, httpsError);
    }

    const application = {
      idScope,
      hostName: options.hostName,
      mqttPort: mqtt.address().port,
      httpPort: options.httpPort,
      ...(https ? { httpsPort: https.port } : {}),
      serverCaPath: tls.caPath ?? '',
    };
    const api = await buildApi({
      logger: logger.child({ context: 'api' }),
      metrics,
      application,
      groups,
      individual,
      attempts,
      tokens,
      templates,
      users,
      sessions,
      dashboards,
      certificates: new CertificateInventory(db, { logger: logger.child({ context: 'api' }) }),
      stats: new StatsService(db, { connectedDevices: () => hub.registry.size }),
      hub,
      deviceGroups,
      jobs,
      scheduledJobs,
      webRoot: options.webRoot === undefined ? defaultWebRoot() : options.webRoot || undefined,
    });
    await api.listen({ host: options.bindHost, port: options.httpPort });
    closers.unshift(() => api.close());
    const httpAddress = api.server.address() as AddressInfo;
    // With port 0 the real port is known only now.
    application.httpPort = httpAddress.port;

    let closed = false;
    return {
      idScope,
      hostName: options.hostName,
      dataDir,
      mqtt: mqtt.address(),
      http: httpAddress,
      https,
      httpsError,
      serverCaPath: tls.caPath,
      adminTokenPath,
      generatedAdminToken: bootstrap.secret,
      adminPasswordPath,
      generatedAdminPassword: adminUser.password,
      db,
      hub,
      logger,
      metrics,
      async close() {
        if (closed) return;
        closed = true;
        for (const c of closers) await c();
      },
    };
  } catch (err) {
    for (const c of closers) await c().catch(() => undefined);
    throw err;
  }
}
