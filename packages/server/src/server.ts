import { mkdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { pino, type Logger } from 'pino';
import type { Kysely } from 'kysely';
import type { ApplicationInfo, HttpLimits } from './api/index.js';
import type { SignInLimitOptions } from './app/sign-in-limits.js';
import type { ConnectionLimits, OutboundLimits } from './gateway/index.js';
import { proxyProtocolSettings } from './gateway/proxy-trust.js';
import type { GatewayOptions } from './gateway/gateway-options.js';
import type { TlsVersions } from './gateway/tls-profile.js';
import { DEFAULT_DRAIN_RATE, drainDevices } from './lifecycle/drain.js';
import { Readiness } from './lifecycle/readiness.js';
import { watchReadiness } from './lifecycle/readiness-watchdog.js';
import { Metrics } from './metrics.js';
import type { Bus } from './events/bus.js';
import { ensureIdScope } from './provisioning/id-scope.js';
import { ProvisioningStore } from './provisioning/provisioning-store.js';
import type { Database } from './store/schema.js';
import type { HubService } from './hub/hub-service.js';
import type { Rules } from './rules/start-rules.js';
import { wireAccounts } from './server-accounts.js';
import { startHttpApi } from './server-api.js';
import { startJobsAndExport, startServerRules } from './server-automation.js';
import { ensureServerTls, startDeviceListeners } from './server-device-listeners.js';
import { startHub } from './server-hub.js';
import { wireProvisioning } from './server-provisioning.js';
import { openServerNode } from './server-store.js';

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
 * store; the API calls the same services. Each step of the wiring is a module beside this
 * one: server-store.ts, server-provisioning.ts, server-accounts.ts, server-hub.ts,
 * server-automation.ts, server-device-listeners.ts and server-api.ts.
 */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const dataDir = resolve(options.dataDir);
  const proxyProtocol = proxyProtocolSettings(options.proxyProtocol, options.proxyTrusted);
  await mkdir(dataDir, { recursive: true });
  const logger = options.logger ?? pino({ level: options.logLevel ?? SERVER_DEFAULTS.logLevel });
  const metrics = new Metrics();
  // The cluster bus first, then the data folder's lock and the store (server-store.ts).
  const node = await openServerNode(options, dataDir, logger, metrics);
  const { nodeId, bus, opened, db, closers } = node;
  const readiness = new Readiness();
  // Device listeners, told to stop accepting when the node drains, or to let go of their
  // devices when it stays unready.
  const stopAccepting: Array<() => void> = [];
  const disconnectAll: Array<(reason: string) => void> = [];
  try {
    // With PostgreSQL the first node creates the identity and defaults; the others wait, then read them.
    const releaseStartup = await opened.lock('startup');
    closers.unshift(releaseStartup);
    const store = new ProvisioningStore(db);
    // `let`: an import may set the Azure ID scope while the server runs (import/).
    let idScope = await ensureIdScope(store, options.idScope);
    const scope = () => idScope;
    const serverTls = await ensureServerTls(node);
    const provisioning = await wireProvisioning(node, {
      store,
      scope,
      hubEvents: () => hub.events,
      retryAfterSeconds: options.dpsRetryAfterSeconds ?? SERVER_DEFAULTS.dpsRetryAfterSeconds,
    });
    const accounts = await wireAccounts(node);
    await releaseStartup();

    const { hub, audit } = await startHub(node, provisioning, readiness);
    const automation = await startJobsAndExport(node, provisioning, { hub, audit });
    const { gateway, mqtt, https, httpsError } = await startDeviceListeners(node, serverTls, {
      registration: provisioning.registration,
      hub,
      proxyProtocol,
      httpsPort: options.httpsPort ?? SERVER_DEFAULTS.httpsPort,
      stopAccepting,
      disconnectAll,
    });

    const application: ApplicationInfo = {
      idScope,
      hostName: options.hostName,
      mqttPort: mqtt.address().port,
      httpPort: options.httpPort,
      ...(https ? { httpsPort: https.port } : {}),
      serverCaPath: serverTls.tls.caPath ?? '',
    };
    const rules = await startServerRules(node, provisioning, { hub, application, scope });
    const httpAddress = await startHttpApi(node, {
      application,
      scope,
      setScope: (next) => {
        idScope = next;
      },
      store,
      provisioning,
      accounts,
      hub,
      audit,
      automation,
      rules,
      readiness,
    });

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
      serverCaPath: serverTls.tls.caPath,
      adminTokenPath: accounts.adminTokenPath,
      generatedAdminToken: accounts.bootstrap.secret,
      adminPasswordPath: accounts.adminPasswordPath,
      generatedAdminPassword: accounts.adminUser.password,
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
