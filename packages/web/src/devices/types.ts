/**
 * The REST shapes the device pages and the dashboard read (CENTRAL_API.md §1.2, §3, §5.3 and
 * the UI contract A/B): devices, templates' summaries, telemetry messages, commands, refused
 * provisioning attempts, dashboards and stats.
 */
import type { Device, TemplateSummary, Tile } from '@gatehouse/server/rest-types';

/** Devices, their commands, template summaries and dashboard tiles as the REST API answers them: the server's own types. */
export type {
  CommandInfo,
  Device,
  DeviceCommand,
  Kpi,
  PayloadInfo,
  PropertyInfo,
  TelemetryInfo,
  Tile,
  TileType,
} from '@gatehouse/server/rest-types';

export interface DeviceTemplate {
  '@id': string;
  '@type': string[];
  displayName: string;
  description?: string;
  etag: string;
  capabilityModel: { '@id'?: string } & Record<string, unknown>;
  builtIn: boolean;
  /** How many devices use it. */
  devices: number;
  summary: TemplateSummary;
}

export interface TelemetryMessage {
  enqueuedTime: string;
  component: string | null;
  body: unknown;
  bodyEncoding?: 'json' | 'text' | 'base64';
  systemProperties?: Record<string, string>;
  properties: Record<string, string>;
}

export interface PropertyMetadata {
  desiredValue?: unknown;
  desiredVersion?: number;
  ackCode?: number;
  ackVersion?: number;
  ackDescription?: string;
  lastUpdateTime?: string;
}

export type PropertiesView = Record<string, unknown> & { $metadata?: Record<string, PropertyMetadata> };

export interface X509Info {
  info?: { sha1Thumbprint: string; sha256Thumbprint?: string; subject?: string; notAfter?: string };
}

export interface DeviceCredentials {
  idScope: string;
  symmetricKey?: { primaryKey: string; secondaryKey: string };
  x509?: { clientCertificates: { primary: X509Info; secondary?: X509Info } };
}

export type Attestation =
  | { type: 'x509'; x509: { clientCertificates: { primary: X509Info; secondary?: X509Info } } }
  | { type: 'symmetricKey'; symmetricKey: { primaryKey: string; secondaryKey: string } };

export interface ProvisioningAttempt {
  id: number;
  time: string;
  registrationId: string;
  idScope: string;
  transport: string;
  certificate?: { subject: string | null; issuer: string | null; sha1Thumbprint: string | null };
  reason: { code: string; message: string; fix?: string };
}

export interface Dashboard {
  id: string;
  displayName: string;
  etag: string;
  tiles: Tile[];
}

export interface Stats {
  devicesTotal: number;
  devicesConnected: number;
  messagesPerMinute: number;
  messagesLastHour: number;
}

/** Path of a device's API resource. */
export function devicePath(id: string, rest = ''): string {
  return `/api/devices/${encodeURIComponent(id)}${rest}`;
}

export function templatePath(id: string): string {
  return `/api/deviceTemplates/${encodeURIComponent(id)}`;
}

/** Registered / Provisioned / Blocked / Waiting for approval (CENTRAL_API.md §3 status table). */
export function deviceStatus(d: Device): { label: string; tone: 'ok' | 'warn' | 'bad' | 'info' | 'muted' } {
  if (!d.enabled) return { label: 'Blocked', tone: 'bad' };
  return d.provisioned ? { label: 'Provisioned', tone: 'ok' } : { label: 'Registered', tone: 'info' };
}
