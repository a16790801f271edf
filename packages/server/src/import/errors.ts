import { errorFactory, type ErrorSpec } from '../errors.js';

/**
 * Error codes of the import context (docs/migrate-from-azure.md). A refused record carries one
 * of these, or the code the REST service for that resource would answer with (the import runs
 * every record through the same services, so the checks are the same).
 */
export const IMPORT_ERRORS = {
  ERR_IMPORT_FORMAT: {
    status: 400,
    summary:
      'The import request is malformed: an unknown format (use `hub`, `dps` or `central`), no files, or a file without a name or text.',
    fix: '`gatehouse import hub|dps|central <file…>`; REST: `POST /api/imports` with `{ format, files: [{ name, content }] }`.',
  },
  ERR_IMPORT_REFUSED: {
    status: 422,
    summary:
      'One or more records of the import were refused, so nothing was imported (all or nothing); `details.plan` lists each refusal with its file, line and reason.',
    fix: 'Correct or remove the named records and run the import again; `--dry-run` checks without changing anything.',
  },
  ERR_IMPORT_JSON: {
    status: 422,
    summary: 'A line (JSON lines) or a file (JSON) is not valid JSON, or a record is not a JSON object.',
    fix: 'Export again with the az command the guide names; do not edit the file by hand, or check it with `jq .`.',
  },
  ERR_IMPORT_MISSING_ID: {
    status: 422,
    summary:
      'A record has no ID: `id`/`deviceId` (hub), `enrollmentGroupId`/`registrationId` (DPS), `id`/`@id` (IoT Central).',
    fix: 'Export again; every Azure export carries the ID.',
  },
  ERR_IMPORT_DUPLICATE_ID: {
    status: 422,
    summary: 'Two records of the same kind in one import have the same ID; the message names the first one.',
    fix: 'Keep one of them.',
  },
  ERR_IMPORT_UNKNOWN_RECORD: {
    status: 422,
    summary:
      'A record is not of the chosen format (an IoT Central object in a `dps` import, say), or its kind cannot be told from its fields.',
    fix: 'Import each file with the format of the command that wrote it (see docs/migrate-from-azure.md).',
  },
  ERR_IMPORT_AUTH_TYPE: {
    status: 422,
    summary:
      'An authentication or attestation type Gatehouse does not know (hub: `sas`, `selfSigned`, `certificateAuthority`, `none`; DPS and IoT Central: `symmetricKey`, `x509`).',
    fix: 'Check the record; TPM attestation is not supported.',
  },
  ERR_IMPORT_KEYS_MISSING: {
    status: 422,
    summary:
      'A SAS record has no keys: `az iot hub device-identity list` never includes them, `az iot dps enrollment(-group) show/list` only with `--show-keys`.',
    fix: 'Use `az iot hub device-identity export` (or `show`), or add `--show-keys` to the DPS command.',
  },
  ERR_IMPORT_KEY_INVALID: {
    status: 422,
    summary: 'A symmetric key is not base64 or does not decode to 16–64 bytes.',
    fix: 'Check the key; Azure keys are base64 of 16–64 bytes.',
  },
  ERR_IMPORT_THUMBPRINT_INVALID: {
    status: 422,
    summary:
      'An X.509 thumbprint is not 40 (SHA-1) or 64 (SHA-256) hexadecimal digits, or a selfSigned device has no primary thumbprint.',
    fix: 'Check the thumbprint (colons are allowed and ignored).',
  },
  ERR_IMPORT_FIELD_INVALID: {
    status: 422,
    summary:
      'A field of a record has the wrong type or value (`status`, `provisioningStatus`, `properties.desired`, …); the message names the field.',
    fix: 'Correct the named field.',
  },
  ERR_IMPORT_UNSUPPORTED: {
    status: 422,
    summary:
      'The record uses something Gatehouse does not import: module identities, deletion import modes, TPM, `caReferences` naming a DPS certificate no file of the import holds (or on an individual enrollment).',
    fix: 'Remove the record, add `az iot dps certificate list` output to the import, or see docs/migrate-from-azure.md (e.g. put the CA certificate into the group).',
  },
  ERR_ID_SCOPE_INVALID: {
    status: 400,
    summary:
      'An ID scope must be `0ne` followed by 8 hexadecimal digits, as Azure DPS issues them (e.g. `0ne003E64EF`).',
    fix: 'Copy the ID scope from the Azure portal (DPS overview, or IoT Central → Permissions → Device connection groups).',
  },
  ERR_ID_SCOPE_CONFLICT: {
    status: 409,
    summary:
      '`gatehouse serve --id-scope` names another ID scope than the one the database already has; a running application keeps its scope.',
    fix: 'Start without `--id-scope`, use a new `--data` folder, or change the scope with `gatehouse import … --id-scope` (devices must then use the new scope).',
  },
} as const satisfies Record<string, ErrorSpec>;

export type ImportErrorCode = keyof typeof IMPORT_ERRORS;
export const importError = errorFactory(IMPORT_ERRORS);
