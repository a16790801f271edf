/**
 * What the hub is built from (`HubService`'s options): its store and telemetry store, cluster
 * bus, device templates, authenticators and connect checks, limits and retention.
 */
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';

import type { Bus } from '../events/bus.js';
import type { HubConnectIdentity } from '../gateway/gateway-options.js';
import type { Metrics } from '../metrics.js';
import type { Database } from '../store/schema.js';
import type { StorageAlarm } from '../store/storage-alarm.js';
import type { AuthenticationResult, ConnectCheck, DeviceAuthenticator } from './device-authentication.js';
import type { TemplateProperty } from './property-schema.js';
import type { TelemetryStore } from './telemetry-store.js';

/** A refused CONNECT (or a live session closed by a revocation). */
export type HubRefusal = Extract<AuthenticationResult, { ok: false }>;

export interface HubServiceOptions {
  db: Kysely<Database>;
  /**
   * Where telemetry is kept (SQLite or PostgreSQL): chosen where the server is wired
   * (store/open-store.ts), never here.
   */
  telemetryStore: TelemetryStore;
  /** The hub's host name (the `HostName` devices connect with). */
  hostName: string;
  logger: Logger;
  /** Telemetry read but not committed, across every session, before sessions stop reading (telemetry-budget.ts). */
  maxUncommittedTelemetry?: number;
  metrics?: Metrics;
  /** The disk-full alarm: devices are refused while it is raised (server-hub.ts makes it). */
  storage?: StorageAlarm;
  /** Retention of raw telemetry (and of the minute rollups) in days; default 30. */
  retentionDays?: number;
  /** Retention of the hour rollups in days; default 365. */
  rollupRetentionDays?: number;
  now?: () => Date;
  /** Extra authenticators tried after X.509 (SAS, later). */
  authenticators?: DeviceAuthenticator[];
  /** Milliseconds per second of command timeouts (tests only); default 1000. */
  commandSecondMs?: number;
  /**
   * Device templates as the hub needs them (kept to two functions so the hub does not depend on
   * the application context): `check` refuses a device body's unknown `template` (it throws),
   * `resolve` maps an IoT Plug and Play model ID to a template ID.
   */
  templates?: TemplateLookup;
  /**
   * The bus to the other nodes of a cluster (CLUSTER.md §6.1): live events and requests for
   * devices connected elsewhere travel on it. Without it the hub serves this process only.
   */
  bus?: Bus;
  /** This node's name on the bus (required with `bus`). */
  nodeId?: string;
  /** Checks after authentication at every CONNECT (revocation/connect-check.ts). */
  connectChecks?: ConnectCheck[];
  /** Told of every refused hub CONNECT, to keep the reason (the refusal records). */
  onRefused?: (identity: HubConnectIdentity, refusal: HubRefusal, transport?: 'https') => void;
  /** With a bus: how often queued C2D messages of devices held here are looked for; default 10 s. */
  c2dSweepMs?: number;
}

/** See {@link HubServiceOptions.templates}. */
export interface TemplateLookup {
  check(templateId: string): Promise<void>;
  resolve(modelId: string): Promise<string | undefined>;
  /**
   * The template's properties, to check property values against (property-schema.ts), and its
   * components' names, to refuse writes to a component the template does not have.
   */
  properties?(
    templateId: string,
  ): Promise<{ properties: readonly TemplateProperty[]; components: readonly string[] } | undefined>;
}
