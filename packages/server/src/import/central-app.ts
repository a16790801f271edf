/**
 * IoT Central objects as its REST API returns them (docs/migrate-from-azure.md §3;
 * CENTRAL_API.md §2, §3, §6): device templates (`GET /api/deviceTemplates/{id}`: `@id`,
 * `@type`, `displayName`, `capabilityModel`), devices (`GET /api/devices/{id}`: `id`,
 * `displayName`, `template`, `enabled`, `simulated`) and enrollment groups
 * (`GET /api/enrollmentGroups/{id}`: `id`, `displayName`, `type`, `attestation`, `enabled`),
 * one object or a `{ "value": [ … ] }` page of them. They are already Gatehouse's REST shapes,
 * so the records carry them through and the services check them.
 */
import { mapJsonRecords } from './json-records.js';
import type {
  DeviceRecord,
  EnrollmentGroupRecord,
  ImportRecord,
  ReadResult,
  RecordSource,
} from './records.js';
import { isObject, recordId, RecordProblem, symmetricKeys } from './record-fields.js';

export function readCentralObjects(file: string, text: string): ReadResult {
  return mapJsonRecords(file, text, toRecord);
}

function isTemplate(r: Record<string, unknown>): boolean {
  const type = r['@type'];
  const types = Array.isArray(type) ? type : [type];
  return r['capabilityModel'] !== undefined || types.includes('ModelDefinition');
}

function toRecord(r: Record<string, unknown>, source: RecordSource): ImportRecord {
  if (isTemplate(r)) {
    const id = recordId(r, ['@id']);
    // Read-only fields of a GET answer (ours included) are not part of a PUT body.
    const body: Record<string, unknown> = { ...r };
    for (const k of ['etag', 'builtIn', 'devices', 'summary']) delete body[k];
    return { kind: 'deviceTemplate', id, source, notes: [], body };
  }
  if (isObject(r['attestation'])) return group(r, source);
  if (['template', 'provisioned', 'simulated', 'displayName', 'enabled'].some((k) => r[k] !== undefined)) {
    return device(r, source);
  }
  throw new RecordProblem(
    'ERR_IMPORT_UNKNOWN_RECORD',
    'This is not an IoT Central device template (capabilityModel), enrollment group (attestation) or device (template, displayName, enabled…).',
  );
}

function group(r: Record<string, unknown>, source: RecordSource): EnrollmentGroupRecord {
  const id = recordId(r, ['id']);
  const a = r['attestation'] as Record<string, unknown>;
  const notes: string[] = [];
  const type = a['type'];
  const record: EnrollmentGroupRecord = {
    kind: 'enrollmentGroup',
    id,
    source,
    notes,
    body: {
      displayName: typeof r['displayName'] === 'string' ? r['displayName'] : id,
      type: r['type'] === 'iotEdge' ? 'iotEdge' : 'iot',
      enabled: r['enabled'] !== false,
      attestation: { type: String(type) },
    },
    certificates: {},
  };
  if (r['type'] !== undefined && r['type'] !== 'iot' && r['type'] !== 'iotEdge') {
    throw new RecordProblem('ERR_IMPORT_FIELD_INVALID', "'type' must be 'iot' or 'iotEdge'.");
  }
  if (type === 'symmetricKey') {
    record.body.attestation.symmetricKey = symmetricKeys(
      a['symmetricKey'],
      'attestation.symmetricKey',
      'read the group with the REST API (GET /api/enrollmentGroups/{id}), which returns its keys.',
    );
  } else if (type === 'x509') {
    // IoT Central never returns a signing certificate's text, only its thumbprint.
    notes.push('IoT Central does not export CA certificates: upload the CA certificate to the group');
  } else {
    throw new RecordProblem(
      'ERR_IMPORT_AUTH_TYPE',
      `'attestation.type' ${JSON.stringify(type)} is not symmetricKey or x509.`,
    );
  }
  return record;
}

function device(r: Record<string, unknown>, source: RecordSource): DeviceRecord {
  const id = recordId(r, ['id']);
  const fields: DeviceRecord['fields'] = {};
  const displayName = r['displayName'];
  if (displayName !== undefined && displayName !== null) {
    if (typeof displayName !== 'string')
      throw new RecordProblem('ERR_IMPORT_FIELD_INVALID', "'displayName' must be a string.");
    fields.displayName = displayName;
  }
  const template = r['template'];
  if (template !== undefined && template !== null && template !== '') {
    if (typeof template !== 'string')
      throw new RecordProblem('ERR_IMPORT_FIELD_INVALID', "'template' must be a string.");
    fields.template = template;
  }
  for (const name of ['enabled', 'simulated'] as const) {
    const v = r[name];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'boolean')
      throw new RecordProblem('ERR_IMPORT_FIELD_INVALID', `'${name}' must be a boolean.`);
    fields[name] = v;
  }
  const notes: string[] = [];
  if (Array.isArray(r['organizations']) && r['organizations'].length > 0)
    notes.push('organizations: not kept');
  return { kind: 'device', id, source, notes, fields };
}
