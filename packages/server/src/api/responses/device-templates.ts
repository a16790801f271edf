/**
 * Response schemas of the device template operations (app/device-templates.ts `DeviceTemplate`:
 * the stored document, app/dtdl-template.ts `TemplateDocument`, plus `etag`, `builtIn`,
 * `devices` and `summary`, app/dtdl-summary.ts `TemplateSummary`).
 */
import type { JsonSchema } from '../routes/schema.js';
import { anyJson, arr, bool, int, obj, page, str } from './common.js';

/** A DTDL schema in the summary: a primitive schema name, or the complex schema object (`schemas` references resolved). */
const SCHEMA_VALUE: JsonSchema = {
  anyOf: [str, { type: 'object' }],
  description: 'A primitive schema name (double, string…) or a complex schema object.',
};

const TELEMETRY_INFO = obj(
  { name: str, displayName: str, schema: SCHEMA_VALUE },
  { component: str, unit: str, semanticType: str },
);

const PROPERTY_INFO = obj(
  { name: str, displayName: str, schema: SCHEMA_VALUE, writable: bool },
  { component: str, unit: str, semanticType: str, cloud: { type: 'boolean', enum: [true] } },
);

const PAYLOAD_INFO = obj({ name: str, displayName: str, schema: SCHEMA_VALUE });

const COMMAND_INFO = obj(
  { name: str, displayName: str },
  { component: str, request: PAYLOAD_INFO, response: PAYLOAD_INFO },
);

const COMPONENT_INFO = obj({ name: str, displayName: str });

export const TEMPLATE_SUMMARY = obj({
  components: arr(COMPONENT_INFO),
  telemetry: arr(TELEMETRY_INFO),
  properties: arr(PROPERTY_INFO),
  commands: arr(COMMAND_INFO),
});

export const DEVICE_TEMPLATE = obj(
  {
    '@id': str,
    '@type': arr(str),
    displayName: str,
    capabilityModel: { type: 'object' },
    etag: str,
    builtIn: bool,
    devices: int,
    summary: TEMPLATE_SUMMARY,
  },
  { '@context': anyJson, description: str },
);

export const DEVICE_TEMPLATE_PAGE = page(DEVICE_TEMPLATE);
