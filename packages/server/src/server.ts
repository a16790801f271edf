import { mkdir, writeFile, chmod } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { pino, type Logger } from 'pino';
import type { Kysely } from 'kysely';
import { buildApi, ApiTokenService, type HttpLimits } from './api/index.js';
import { defaultWebRoot } from './api/web-app.js';
import { CloudPropertyStore } from './app/cloud-properties.js';
import { DashboardService } from './app/dashboards.js';
import { DeviceGroupService } from './app/device-groups.js';
import { JobService } from './jobs/job-runner.js';
import { JobStore } from './jobs/job-store.js';
import { LocalJobTargets } from './jobs/job-targets.js';
import { ScheduledJobService } from './jobs/scheduled-jobs.js';
import { SessionService } from './app/sessions.js';
import type { SignInLimitOptions } from './app/sign-in-limits.js';
import { StatsService } from './app/stats.js';
import { UserService } from './app/users.js';
import {
  ConnectionAdmission,
  startMqttTlsListener,
  type ConnectionLimits,
  type OutboundLimits,
} from './gateway/index.js';
import { proxyProtocolSettings } from './gateway/proxy-trust.js';
import type { GatewayOptions } from './gateway/gateway-options.js';
import type { TlsVersions } from './gateway/tls-profile.js';
import { acquireDataDirLock } from './lifecycle/data-dir-lock.js';
import { DEFAULT_DRAIN_RATE, drainDevices } from './lifecycle/drain.js';
import { Readiness } from './lifecycle/readiness.js';
import { watchReadiness } from './lifecycle/readiness-watchdog.js';
import { startDeviceHttpsListener } from './device-http/index.js';
import { Metrics } from './metrics.js';
import { defaultNodeId, type Bus } from './events/bus.js';
import { RedisBus } from './events/redis-bus.js';
import { DeviceTemplateService } from './app/device-templates.js';
import { ProvisioningAttempts } from './provisioning/attempts.js';
import { CertificateInventory } from './provisioning/certificate-inventory.js';
import { SymmetricKeyAttestation } from './provisioning/attestation/symmetric-key.js';
import { X509Attestation } from './provisioning/attestation/x509.js';
import { EnrollmentGroupService } from './provisioning/enrollment-groups.js';
import { ensureIdScope } from './provisioning/id-scope.js';
import { ImportService } from './import/import-service.js';
import { IndividualEnrollmentService } from './provisioning/individual-enrollments.js';
import { createRevocation, startRevocation } from './revocation/index.js';
import { ProvisioningStore } from './provisioning/provisioning-store.js';
import { RegistrationService } from './provisioning/registration.js';
import type { Database } from './store/schema.js';
import { openStore } from './store/open-store.js';
import { Settings } from './store/settings.js';
import { StorageAlarm } from './store/storage-alarm.js';
import { HubService } from './hub/hub-service.js';
import { SasAuthenticator } from './hub/sas-authenticator.js';
import { TelemetryExport } from './hub/telemetry-export.js';
import { TelemetrySeries } from './hub/telemetry-series.js';
import { ensureTlsIdentity } from './tls-identity.js';
import { ensureDatabaseTlsIdentity, watchDatabaseTlsIdentity } from './tls-identity-database.js';
import { ClusterMembership } from './cluster/membership.js';
import { SingletonScheduler } from './cluster/singleton.js';
import { AuditLog } from './audit/audit-log.js';
import { pruneAuditLog } from './audit/audit-retention.js';
import { DataExportService } from './export/data-export.js';
import { compileTransform } from './export/transform-jq.js';
import { startRules, type Rules } from './rules/start-rules.js';

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
  /**
   * GATEHOUSE_REDIS_URL: the bus between the nodes of a cluster (CLUSTER.md §6.1), which share
   * one PostgreSQL database. Without it the server is one process. Redis unreachable at start →
   * ERR_BUS_UNREACHABLE.
   */
  redisUrl?: string;
  /** This node's name on the bus; default host name and process ID. */
  nodeId?: string;
  /** `retry-after` of the DPS 202 answer, in seconds. */
  dpsRetryAfterSeconds?: number;
  /** Days raw telemetry messages (and their minute rollups) are kept (default 30). */
  retentionDays?: number;
  /** Days the hour rollups of numeric telemetry are kept (default 365): long series outlive raw data. */
  rollupRetentionDays?: number;
  /** TLS versions of the device ports (gateway/tls-profile.ts); default 1.2 and 1.3. */
  tlsVersions?: TlsVersions;
  /** Connect rate, connection cap and per-connection output limits of the device ports (docs/security.md#limits). */
  deviceLimits?: ConnectionLimits &
    OutboundLimits & {
      handshakeTimeoutMs?: number;
      connectTimeoutMs?: number;
      maxPacketBytes?: number;
      /** Telemetry read and not yet committed across all devices before reading pauses (default 50,000). */
      maxUncommittedTelemetry?: number;
    };
  /** Timeouts and body cap of the HTTP listeners (docs/security.md#limits). */
  httpLimits?: HttpLimits;
  /** Days audit log entries are kept (default 30, as IoT Central's audit log). */
  auditRetentionDays?: number;
  /** Most rows of a CSV answer (default 100,000). */
  csvMaxRows?: number;
  /** Folder of the built web app; default `packages/web/dist/app` of this checkout ('' serves none). */
  webRoot?: string;
  /**
   * `postgres://USER@HOST:PORT/DB`: keep everything in PostgreSQL, shared with every node on it
   * (the identity too: ID scope, server CA and certificate, administrator). Default: SQLite in dataDir.
   */
  databaseUrl?: string;
  /** `--proxy-protocol v2`: device ports read a PROXY v2 header before TLS (gateway/device-port.ts). */
  proxyProtocol?: 'v2';
  /** `--proxy-trusted`: CIDRs of the load balancers allowed to send it (required with `proxyProtocol`). */
  proxyTrusted?: string[];
  /** `--drain-rate`: devices `drain()` disconnects per second (default 500). */
  drainRatePerSecond?: number;
  /** Readiness checks failing this long close the device connections (default 10 s; lifecycle/). */
  readinessFailAfterMs?: number;
  /** How often the readiness checks run (default 1 s). */
  readinessIntervalMs?: number;
  /**
   * The ID scope for a new database (e.g. the Azure DPS one, so devices keep their
   * configuration); refused with ERR_ID_SCOPE_CONFLICT when the database has another.
   */
  idScope?: string;
  /** How long a property job's batch waits for the devices' acknowledgements (default 30 s). */
  jobAckWaitMs?: number;
  /** `--export-backlog`: undelivered export messages older than this are dropped (default 24 h). */
  exportBacklogMs?: number;
  /** SMTP server of the rules' e-mail actions (`smtp://user:pass@host:587`); absent: e-mail actions are refused. */
  smtpUrl?: string;
  /** Sender of those e-mails (default `gatehouse@<hostName>`). */
  smtpFrom?: string;
  /** `--sign-in-ip-limit` / `--sign-in-account-limit` and their windows (app/sign-in-limits.ts). */
  signInLimits?: SignInLimitOptions;
  /** `--session-idle-timeout`: a sign-in session unused this long ends (default 30 minutes). */
  sessionIdleTimeoutMs?: number;
  /** `--http-trust-proxy`: reverse proxies in front of the HTTP port (their X-Forwarded-* count). */
  httpTrustProxy?: string[];
  /** Tests: the rules' clock and tick (rules/engine.ts). */
  rulesClock?: () => number;
  rulesTickMs?: number;
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
  /** What every device listener serves MQTT with (the fuzzers drive it in process). */
  gateway: GatewayOptions;
  /** The rules context (tests tick its engine). */
  rules: Rules;
  logger: Logger;
  metrics: Metrics;
  /** `GET /readyz`: the composition root registers its checks here (`readiness.register`). */
  readiness: Readiness;
  /** SIGTERM: fail `/readyz`, stop accepting, disconnect devices at the drain rate, then `close()`. */
  drain(): Promise<void>;
  /** This node's name on the bus. */
  nodeId: string;
  /** The bus to the other nodes (with `redisUrl`): `check()` answers a readiness probe. */
  bus: Bus | undefined;
  close(): Promise<void>;
}

const HOUR_MS = 3_600_000;
/** Servers started in this process (node IDs stay unique when tests start several). */
let serversStarted = 0;
const DAY_MS = 24 * HOUR_MS;

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
  const proxyProtocol = proxyProtocolSettings(options.proxyProtocol, options.proxyTrusted);
  await mkdir(dataDir, { recursive: true });
  const logger = options.logger ?? pino({ level: options.logLevel ?? SERVER_DEFAULTS.logLevel });
  const metrics = new Metrics();
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
  const readiness = new Readiness();
  // Device listeners, told to stop accepting when the node drains, or to let go of their
  // devices when it stays unready.
  const stopAccepting: Array<() => void> = [];
  const disconnectAll: Array<(reason: string) => void> = [];
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
  try {
    // With PostgreSQL the first node creates the identity and defaults; the others wait, then read them.
    const releaseStartup = await opened.lock('startup');
    closers.unshift(releaseStartup);
    const store = new ProvisioningStore(db);
    // `let`: an import may set the Azure ID scope while the server runs (import/).
    let idScope = await ensureIdScope(store, options.idScope);
    const scope = () => idScope;
    const sharedTls = opened.dialect === 'postgres' && !options.tlsCertFile && !options.tlsKeyFile;
    const tls = sharedTls
      ? await ensureDatabaseTlsIdentity({
          dataDir,
          hostNames: [options.hostName],
          settings: new Settings(db),
        })
      : await ensureTlsIdentity({
          dataDir,
          hostNames: [options.hostName],
          ...(options.tlsCertFile ? { tlsCertFile: options.tlsCertFile } : {}),
          ...(options.tlsKeyFile ? { tlsKeyFile: options.tlsKeyFile } : {}),
        });

    const templates = new DeviceTemplateService(db);
    await templates.ensureBuiltIns();
    const resolveTemplate = (modelId: string) => templates.findByModelId(modelId);

    const attempts = new ProvisioningAttempts(store);
    const groups = new EnrollmentGroupService({ store, idScope: scope });
    const individual = new IndividualEnrollmentService({ store, idScope: scope });
    await groups.ensureDefaults();
    const revocation = createRevocation(db, store, logger.child({ context: 'revocation' }));
    const registration = new RegistrationService({
      store,
      attempts,
      mechanisms: [
        new X509Attestation(store, undefined, revocation.service),
        new SymmetricKeyAttestation(store),
      ],
      idScope: scope,
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
    const sessions = new SessionService(db, users, {
      limits: options.signInLimits ?? {},
      ...(options.sessionIdleTimeoutMs !== undefined ? { idleTimeoutMs: options.sessionIdleTimeoutMs } : {}),
    });
    if (bus) {
      await users.sessionEnds.attach(bus);
      closers.unshift(() => users.sessionEnds.detach());
    }
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
    await releaseStartup();

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

    // One gateway configuration for every device transport: MQTT/TLS, MQTT/WSS.
    const limits = options.deviceLimits ?? {};
    const gateway: GatewayOptions = {
      dps: registration,
      hub: hub.connectHandler(),
      logger: logger.child({ context: 'gateway' }),
      metrics,
      outbound: limits,
      ...(limits.connectTimeoutMs !== undefined ? { connectTimeoutMs: limits.connectTimeoutMs } : {}),
      ...(limits.maxPacketBytes !== undefined ? { maxPacketBytes: limits.maxPacketBytes } : {}),
    };
    const handshake =
      limits.handshakeTimeoutMs !== undefined ? { handshakeTimeoutMs: limits.handshakeTimeoutMs } : {};
    // One per process: the cap and the per-address buckets span both device ports.
    const admission = new ConnectionAdmission(limits, logger, metrics);
    closers.unshift(async () => admission.close());
    const mqtt = await startMqttTlsListener({
      host: options.bindHost,
      port: options.mqttPort,
      key: tls.key,
      cert: tls.cert,
      ...gateway,
      ...(options.tlsVersions ? { tlsVersions: options.tlsVersions } : {}),
      ...(proxyProtocol ? { proxyProtocol } : {}),
      admission,
      ...handshake,
    });
    closers.unshift(() => mqtt.close());
    stopAccepting.push(() => mqtt.stopAccepting());
    disconnectAll.push((reason) => mqtt.disconnectAll(reason));

    // HTTPS device APIs and MQTT over WebSockets share one listener on 443 (the SDKs'
    // fixed port). When it cannot be bound the rest keeps running; the reason is one line.
    let https: AddressInfo | undefined;
    let httpsError: string | undefined;
    let deviceHttpsListener: { setCertificate(key: string, cert: string): void } | undefined;
    try {
      const deviceHttps = await startDeviceHttpsListener({
        host: options.bindHost,
        port: options.httpsPort ?? SERVER_DEFAULTS.httpsPort,
        key: tls.key,
        cert: tls.cert,
        ...(options.tlsVersions ? { tlsVersions: options.tlsVersions } : {}),
        gateway,
        dpsHandler: registration,
        hubHttp: hub.http,
        logger: logger.child({ context: 'device-https' }),
        metrics,
        ...(proxyProtocol ? { proxyProtocol } : {}),
        admission,
        ...handshake,
        ...(options.httpLimits?.headersTimeoutMs !== undefined
          ? { headersTimeoutMs: options.httpLimits.headersTimeoutMs }
          : {}),
        ...(options.httpLimits?.deviceRequestTimeoutMs !== undefined
          ? { requestTimeoutMs: options.httpLimits.deviceRequestTimeoutMs }
          : {}),
      });
      closers.unshift(() => deviceHttps.close());
      stopAccepting.push(() => deviceHttps.stopAccepting());
      disconnectAll.push((reason) => deviceHttps.disconnectAll(reason));
      https = deviceHttps.address();
      deviceHttpsListener = deviceHttps;
    } catch (err) {
      httpsError = (err as Error).message;
      logger.warn({ code: (err as { code?: string }).code }, httpsError);
    }

    if (sharedTls) {
      // Another node may reissue the shared certificate (a new host name): serve it too.
      const stopWatch = watchDatabaseTlsIdentity({
        settings: new Settings(db),
        current: tls.cert,
        onChange: (key, cert) => {
          mqtt.setCertificate(key, cert);
          deviceHttpsListener?.setCertificate(key, cert);
          logger.info('server certificate reissued by another node: serving it');
        },
        onError: (err) => logger.warn({ err }, 'reading the shared server certificate failed'),
      });
      closers.unshift(async () => stopWatch());
    }

    const application = {
      idScope,
      hostName: options.hostName,
      mqttPort: mqtt.address().port,
      httpPort: options.httpPort,
      ...(https ? { httpsPort: https.port } : {}),
      serverCaPath: tls.caPath ?? '',
    };
    // Rules on this node's hub events (docs/rules.md); the disconnected check under a lease.
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
          return idScope;
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
    const imports = new ImportService(db, {
      idScope: scope,
      onIdScopeChanged: (next) => {
        logger.info({ idScope: next, previous: idScope }, 'the ID scope was changed by an import');
        idScope = next;
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
            if (stored === undefined || stored === idScope) return;
            logger.info({ idScope: stored, previous: idScope }, 'the ID scope was changed on another node');
            idScope = stored;
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

    // A node that stays unready closes its device sessions: the hub's first (it logs why), then
    // whatever the listeners still hold (DPS, MQTT over WebSockets, idle HTTPS keep-alives).
    const watchdog = watchReadiness({
      readiness,
      closeDeviceSessions: (reason) => {
        hub.registry.closeAll(reason);
        for (const disconnect of disconnectAll) disconnect(reason);
      },
      logger: logger.child({ context: 'readiness' }),
      ...(options.readinessFailAfterMs !== undefined ? { failAfterMs: options.readinessFailAfterMs } : {}),
      ...(options.readinessIntervalMs !== undefined ? { intervalMs: options.readinessIntervalMs } : {}),
    });
    closers.unshift(async () => watchdog.stop());

    let closed = false;
    const close = async () => {
      if (closed) return;
      closed = true;
      for (const c of closers) await c();
    };
    return {
      get idScope() {
        return idScope;
      },
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
      gateway,
      rules,
      logger,
      metrics,
      readiness,
      nodeId,
      bus,
      async drain() {
        if (closed) return;
        await drainDevices({
          readiness,
          stopAccepting: () => stopAccepting.forEach((stop) => stop()),
          devices: () => hub.registry.all(),
          ratePerSecond: options.drainRatePerSecond ?? DEFAULT_DRAIN_RATE,
          logger: logger.child({ context: 'drain' }),
        });
        await close();
      },
      close,
    };
  } catch (err) {
    for (const c of closers) await c().catch(() => undefined);
    throw err;
  }
}
