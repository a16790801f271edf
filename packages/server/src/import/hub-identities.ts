/**
 * IoT Hub device identities (docs/migrate-from-azure.md §1): the ExportImportDevice JSON lines
 * of `az iot hub device-identity export` (`id`, `eTag`, `status`, `authentication { type,
 * symmetricKey, x509Thumbprint }`, `tags`, `properties.desired`, `importMode`, …), the twin
 * JSON of `az iot hub device-identity list` (`deviceId`, `authenticationType`, `x509Thumbprint`,
 * no keys) and the device JSON of `az iot hub device-identity show` (`deviceId`,
 * `authentication`).
 */
import { checkTags } from '../hub/device-tags.js';
import { mapJsonRecords } from './json-records.js';
import type { DeviceRecord, HubAuthentication, ReadResult, RecordSource } from './records.js';
import {
  desiredProperties,
  enabledStatus,
  isObject,
  recordId,
  RecordProblem,
  symmetricKeys,
  thumbprint,
} from './record-fields.js';

const NO_KEYS_HINT =
  '`az iot hub device-identity list` does not include SAS keys; use `az iot hub device-identity export` (or `show`) instead.';

/** Import modes that create or update; the delete modes are not imported. */
const IMPORT_MODES = new Set([
  'create',
  'createOrUpdate',
  'createOrUpdateIfMatchETag',
  'update',
  'updateIfMatchETag',
  'updateTwin',
  'updateTwinIfMatchETag',
]);

export function readHubIdentities(file: string, text: string): ReadResult {
  return mapJsonRecords(file, text, toDeviceRecord);
}

function toDeviceRecord(r: Record<string, unknown>, source: RecordSource): DeviceRecord {
  const id = recordId(r, ['id', 'deviceId']);
  if (typeof r['moduleId'] === 'string' && r['moduleId'] !== '') {
    throw new RecordProblem(
      'ERR_IMPORT_UNSUPPORTED',
      `'${id}/${r['moduleId']}' is a module identity; Gatehouse has no module identities (remove its line).`,
    );
  }
  const mode = r['importMode'];
  if (mode !== undefined && mode !== null) {
    if (typeof mode === 'string' && /^delete/i.test(mode)) {
      throw new RecordProblem(
        'ERR_IMPORT_UNSUPPORTED',
        `importMode '${mode}': an import never deletes devices.`,
      );
    }
    if (typeof mode !== 'string' || !IMPORT_MODES.has(mode)) {
      throw new RecordProblem(
        'ERR_IMPORT_FIELD_INVALID',
        `'importMode' ${JSON.stringify(mode)} is not an IoT Hub import mode.`,
      );
    }
  }
  const notes: string[] = [];
  const properties = r['properties'];
  if (properties !== undefined && properties !== null && !isObject(properties)) {
    throw new RecordProblem('ERR_IMPORT_FIELD_INVALID', "'properties' must be an object.");
  }
  const desired = desiredProperties(
    isObject(properties) ? properties['desired'] : undefined,
    'properties.desired',
  );
  let tags: Record<string, unknown> | undefined;
  if (r['tags'] !== undefined && r['tags'] !== null) {
    try {
      tags = checkTags(r['tags'], "'tags'");
    } catch (err) {
      throw new RecordProblem('ERR_IMPORT_FIELD_INVALID', (err as Error).message);
    }
  }
  if (isObject(r['capabilities']) && r['capabilities']['iotEdge'] === true) {
    notes.push('imported as a plain device: Gatehouse does not run IoT Edge');
  }
  const record: DeviceRecord = {
    kind: 'device',
    id,
    source,
    notes,
    fields: { enabled: enabledStatus(r['status'], 'status') },
    authentication: authentication(r),
  };
  if (desired) record.desired = desired;
  if (tags) record.tags = tags;
  return record;
}

/** `authentication` (export, show) or the twin's `authenticationType` + `x509Thumbprint` (list). */
function authentication(r: Record<string, unknown>): HubAuthentication {
  const auth = r['authentication'];
  if (auth !== undefined && auth !== null && !isObject(auth)) {
    throw new RecordProblem('ERR_IMPORT_FIELD_INVALID', "'authentication' must be an object.");
  }
  const where = isObject(auth) ? 'authentication' : '';
  const type = isObject(auth) ? auth['type'] : r['authenticationType'];
  const x509 = isObject(auth) ? auth['x509Thumbprint'] : r['x509Thumbprint'];
  const prefix = where ? `${where}.` : '';
  switch (type) {
    case 'sas':
      return {
        type: 'sas',
        ...symmetricKeys(
          isObject(auth) ? auth['symmetricKey'] : undefined,
          `${prefix}symmetricKey`,
          NO_KEYS_HINT,
        ),
      };
    case 'selfSigned': {
      const t = isObject(x509) ? x509 : {};
      const primary = thumbprint(t['primaryThumbprint'], `${prefix}x509Thumbprint.primaryThumbprint`);
      const secondary = thumbprint(t['secondaryThumbprint'], `${prefix}x509Thumbprint.secondaryThumbprint`);
      if (!primary) {
        throw new RecordProblem(
          'ERR_IMPORT_THUMBPRINT_INVALID',
          `A selfSigned device needs '${prefix}x509Thumbprint.primaryThumbprint'.`,
        );
      }
      return { type: 'selfSigned', primary, secondary };
    }
    case 'certificateAuthority':
      return { type: 'certificateAuthority' };
    case 'none':
      return { type: 'none' };
    case undefined:
    case null:
      throw new RecordProblem(
        'ERR_IMPORT_AUTH_TYPE',
        `The record has no '${prefix || ''}${where ? 'type' : 'authenticationType'}'.`,
      );
    default:
      throw new RecordProblem(
        'ERR_IMPORT_AUTH_TYPE',
        `'${prefix}${where ? 'type' : 'authenticationType'}' ${JSON.stringify(type)} is not sas, selfSigned, certificateAuthority or none.`,
      );
  }
}
