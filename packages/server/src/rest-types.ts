/**
 * The REST API's shapes, as types only, for the web app (`@gatehouse/server/rest-types`), so the
 * pages read the server's own declarations instead of copies that drift. The declarations reached
 * from here import only each other, so a type-only import pulls no Node.js or database types
 * into the browser build (test/rest-types.test.ts keeps it so).
 */
export type {
  CloudToDeviceMessage,
  Device,
  DeviceCommand,
  HubEvent,
  TelemetryMessageRecord,
  TelemetryValue,
} from './hub/hub-api.js';
export type {
  CertificateEntry,
  EnrollmentGroup,
  InventoryCertificate,
  RevokedCertificate,
  SigningX509Certificate,
} from './provisioning/rest-shapes.js';
export type {
  Kpi,
  Tile,
  TileAggregation,
  TileConfiguration,
  TileType,
  TileWindow,
} from './app/dashboard-tiles.js';
export type {
  CommandInfo,
  PayloadInfo,
  PropertyInfo,
  TelemetryInfo,
  TemplateSummary,
} from './app/dtdl-summary.js';
export type { DeviceGroup } from './app/device-group-shape.js';
export type {
  Job,
  JobBatch,
  JobCancellationThreshold,
  JobData,
  JobDeviceStatus,
  JobProgress,
  JobStatus,
} from './jobs/job-body.js';
