import type { Generated } from 'kysely';

/**
 * Table types for kysely. Times are ISO-8601 strings (UTC) so the same code
 * runs on SQLite and PostgreSQL; booleans are 0/1 integers for the same reason.
 */
export interface SettingsTable {
  key: string;
  value: string;
}

export interface ApiTokensTable {
  id: string;
  secret_hash: string;
  roles: string; // JSON: RoleAssignment[]
  expiry: string;
  created_at: string;
}

export interface EnrollmentGroupsTable {
  id: string;
  display_name: string;
  type: string; // 'iot' | 'iotEdge'
  attestation_type: string; // 'x509' | 'symmetricKey'
  enabled: number;
  primary_key: string | null;
  secondary_key: string | null;
  etag: string;
  created_at: string;
  updated_at: string;
}

export interface GroupCertificatesTable {
  group_id: string;
  entry: string; // 'primary' | 'secondary'
  pem: string;
  sha1: string;
  sha256: string;
  subject: string;
  not_after: string;
  verified: number;
  verification_code: string | null;
  code_expires_at: string | null;
  etag: string;
  created_at: string;
}

export interface IndividualEnrollmentsTable {
  device_id: string;
  type: string; // 'x509' | 'symmetricKey'
  primary_pem: string | null;
  primary_sha1: string | null;
  primary_sha256: string | null;
  secondary_pem: string | null;
  secondary_sha1: string | null;
  secondary_sha256: string | null;
  primary_key: string | null;
  secondary_key: string | null;
  etag: string;
  created_at: string;
  updated_at: string;
}

export interface DevicesTable {
  id: string;
  display_name: string;
  template: string | null;
  enabled: number;
  provisioned: number;
  simulated: number;
  auth_type: string; // 'none' | 'x509Thumbprint' | 'x509CA' | 'sas'
  x509_primary_sha1: string | null;
  x509_primary_sha256: string | null;
  x509_secondary_sha1: string | null;
  x509_secondary_sha256: string | null;
  sas_primary_key: string | null;
  sas_secondary_key: string | null;
  enrollment_group_id: string | null;
  assigned_hub: string | null;
  etag: string;
  created_at: string;
  updated_at: string;
}

export interface RegistrationsTable {
  registration_id: string;
  device_id: string;
  status: string;
  substatus: string;
  enrollment_group_id: string | null;
  attestation_type: string;
  assigned_hub: string;
  operation_id: string;
  payload: string | null; // JSON the device sent
  result: string; // JSON DeviceRegistrationResult
  etag: string;
  created_at: string;
  updated_at: string;
}

export interface ProvisioningAttemptsTable {
  id: Generated<number>;
  time: string;
  registration_id: string;
  id_scope: string;
  transport: string;
  sha1: string | null;
  sha256: string | null;
  subject: string | null;
  issuer: string | null;
  reason_code: string;
  message: string;
  /** The device's address (behind a PROXY v2 load balancer: the header's source); migration 0006. */
  client_address: string | null;
}

export interface HubSessionsTable {
  device_id: string;
  filter: string;
  qos: number;
}

export interface TelemetryTable {
  id: Generated<number>;
  device_id: string;
  enqueued_at: string;
  component: string | null;
  body: Buffer;
  content_type: string | null;
  system_properties: string; // JSON Record<string, string>
  properties: string; // JSON Record<string, string>
}

export interface TelemetryLatestTable {
  device_id: string;
  component: string; // '' for the root component
  name: string;
  value: string; // JSON
  enqueued_at: string;
}

export interface TwinsTable {
  device_id: string;
  desired: string; // JSON object without $version
  desired_version: number;
  desired_updated: string; // JSON Record<name, ISO time> (top-level properties)
  reported: string; // JSON object without $version
  reported_version: number;
  reported_updated: string; // JSON Record<name, ISO time>
  updated_at: string;
}

export interface CommandsTable {
  id: string;
  device_id: string;
  name: string;
  request: string | null; // JSON
  response: string | null; // JSON
  response_code: number | null;
  status: string; // 'completed' | 'deviceOffline' | 'timeout'
  time: string;
  connection_timeout: number;
  response_timeout: number;
}

export interface C2dMessagesTable {
  id: string;
  /** Send order within the application (milliseconds × 1000 + counter), for FIFO delivery. */
  seq: number;
  device_id: string;
  message_id: string;
  body: Buffer;
  properties: string; // JSON PropertyBagInput-like: { system, application }
  correlation_id: string | null;
  created_at: string;
  expiry: string;
  state: string; // 'queued' | 'delivered' | 'expired'
  delivered_at: string | null;
}

export interface DeviceStatusTable {
  device_id: string;
  last_connected: string | null;
  last_activity: string | null;
}

export interface DeviceTemplatesTable {
  id: string;
  display_name: string;
  description: string | null;
  capability_model_id: string;
  document: string; // JSON TemplateDocument (app/dtdl-template.ts)
  etag: string;
  built_in: number;
  created_at: string;
  updated_at: string;
}

export interface UsersTable {
  id: string;
  type: string; // 'email'
  email: string;
  username: string;
  /** Lower-cased username: sign-in and uniqueness ignore case. */
  username_key: string;
  /** `scrypt$N$r$p$salt$hash` (passwords.ts); null: the user cannot sign in yet. */
  password_hash: string | null;
  roles: string; // JSON: RoleAssignment[]
  created_at: string;
  updated_at: string;
  /** 1: disabled by an administrator, cannot sign in (migration 0015; default 0). */
  disabled: Generated<number>;
}

export interface UserSessionsTable {
  id: string;
  token_hash: string; // SHA-256 hex of the bearer secret
  user_id: string;
  created_at: string;
  expires_at: string;
  /** Last authenticated request, written at most once a minute (migration 0016; null: created_at). */
  last_used_at: string | null;
}

export interface DashboardsTable {
  id: string;
  display_name: string;
  tiles: string; // JSON: Tile[]
  etag: string;
  created_at: string;
  updated_at: string;
}

export interface DeviceSessionsTable {
  device_id: string;
  /** The node holding the device's connection; null while it is connected nowhere. */
  node_id: string | null;
  /** Grows by one at every connection of the device (CLUSTER.md §6.2 fencing). */
  epoch: number;
  connected_at: string | null;
  client_ip: string | null;
}

export interface ClusterNodesTable {
  node_id: string;
  started_at: string;
  heartbeat_at: string;
}

export interface SingletonRunsTable {
  job: string;
  /** The period's start, ISO-8601. */
  period: string;
  node_id: string;
  started_at: string;
}

export interface DeviceGroupsTable {
  id: string;
  display_name: string;
  description: string | null;
  filter: string; // the device query (app/device-query.ts)
  etag: string;
  created_at: string;
  updated_at: string;
}

/** Values of template cloud properties (IoT Central `Cloud` co-type): kept by the application, never sent to the device. */
export interface CloudPropertiesTable {
  device_id: string;
  component: string; // '' for the root component
  name: string;
  value: string; // JSON
  updated_at: string;
}

export interface JobsTable {
  id: string;
  scheduled_job_id: string | null;
  /** The job this one reruns on the failed devices of (PUT /jobs/{id}/rerun/{rerunId}). */
  rerun_of: string | null;
  display_name: string | null;
  description: string | null;
  group_id: string;
  batch: string | null; // JSON {type, value}
  cancellation_threshold: string | null; // JSON {type, value, batch}
  data: string; // JSON JobData[]
  status: string; // 'pending' | 'running' | 'complete' | 'failed' | 'stopped' | 'cancelled'
  /** The batch the runner is at (0-based); batches before it are done. */
  current_batch: number;
  created_at: string;
  start: string | null;
  end: string | null;
  updated_at: string;
}

export interface JobDevicesTable {
  job_id: string;
  device_id: string;
  batch: number;
  status: string; // 'pending' | 'completed' | 'failed'
  /** 1 once the job's operation was done for the device (a property job then waits for the ack). */
  dispatched: number;
  /** Property jobs: the desired `$version` the device's acknowledgement must reach. */
  desired_version: number | null;
  message: string | null;
  updated_at: string;
}

export interface ScheduledJobsTable {
  id: string;
  display_name: string | null;
  description: string | null;
  group_id: string;
  batch: string | null; // JSON
  cancellation_threshold: string | null; // JSON
  data: string; // JSON JobData[]
  schedule: string; // JSON {start, recurrence?, end?}
  enabled: number;
  completed: number;
  /** Runs started so far (the n of "<name> - <n>"). */
  runs: number;
  /** When the next run is due; null when none is left. */
  next_run: string | null;
  etag: string;
  created_at: string;
  updated_at: string;
}

export interface DeviceTagsTable {
  device_id: string;
  tags: string; // JSON object
  updated_at: string;
}

export interface Database {
  settings: SettingsTable;
  api_tokens: ApiTokensTable;
  enrollment_groups: EnrollmentGroupsTable;
  group_certificates: GroupCertificatesTable;
  individual_enrollments: IndividualEnrollmentsTable;
  devices: DevicesTable;
  registrations: RegistrationsTable;
  provisioning_attempts: ProvisioningAttemptsTable;
  hub_sessions: HubSessionsTable;
  telemetry: TelemetryTable;
  telemetry_latest: TelemetryLatestTable;
  twins: TwinsTable;
  commands: CommandsTable;
  c2d_messages: C2dMessagesTable;
  device_status: DeviceStatusTable;
  device_templates: DeviceTemplatesTable;
  users: UsersTable;
  user_sessions: UserSessionsTable;
  dashboards: DashboardsTable;
  device_sessions: DeviceSessionsTable;
  device_tags: DeviceTagsTable;
  cluster_nodes: ClusterNodesTable;
  singleton_runs: SingletonRunsTable;
  device_groups: DeviceGroupsTable;
  cloud_properties: CloudPropertiesTable;
  jobs: JobsTable;
  job_devices: JobDevicesTable;
  scheduled_jobs: ScheduledJobsTable;
}
