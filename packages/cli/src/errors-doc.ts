/**
 * Renders docs/errors.md from the error tables in the code, so the document
 * cannot drift (STYLE.md §6): `npm run docs:errors` writes it, and a test fails
 * when the committed file differs from what the code says.
 */
import { PKI_ERROR_CODES, PKI_ERROR_DESCRIPTIONS } from '@gatehouse/pki';
import { PROTOCOL_ERROR_CODES } from '@gatehouse/protocol';
import { DEVICE_ERROR_CODES } from '@gatehouse/device';
import {
  APP_ERRORS,
  BUS_ERRORS,
  DEVICE_HTTP_ERRORS,
  EXPORT_ERRORS,
  HUB_ERRORS,
  JOB_ERRORS,
  RULE_ERRORS,
  COMMON_ERRORS,
  IMPORT_ERRORS,
  GATEWAY_ERRORS,
  LIFECYCLE_ERRORS,
  PROVISIONING_ERRORS,
  REVOCATION_ERRORS,
  STORE_ERRORS,
  type ErrorSpec,
} from '@gatehouse/server';
import { CLI_ERRORS } from './errors.js';

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function specTable(
  table: Record<string, ErrorSpec>,
  filter: (code: string, spec: ErrorSpec) => boolean,
  dps: boolean,
): string {
  const rows = Object.entries(table).filter(([code, spec]) => filter(code, spec));
  const head = dps
    ? '| code | device sees | cause | fix |\n|---|---|---|---|'
    : '| code | HTTP | cause | fix |\n|---|---|---|---|';
  const lines = rows.map(([code, spec]) => {
    const where = dps ? `${spec.status}, errorCode ${spec.dpsErrorCode ?? '—'}` : String(spec.status);
    return `| \`${code}\` | ${where} | ${cell(spec.summary)} | ${cell(spec.fix ?? '')} |`;
  });
  return [head, ...lines].join('\n');
}

function plainTable(entries: Array<[string, string]>): string {
  return [
    '| code | meaning |',
    '|---|---|',
    ...entries.map(([code, text]) => `| \`${code}\` | ${cell(text)} |`),
  ].join('\n');
}

export function renderErrorsDoc(): string {
  const isDps = (_: string, s: ErrorSpec) => s.dpsErrorCode !== undefined;
  const notDps = (_: string, s: ErrorSpec) => s.dpsErrorCode === undefined;
  const all = () => true;
  return `# Error codes

Every refusal in Gatehouse carries a stable code. The REST API answers with the envelope
\`{"error":{"code","message","requestId","time"}}\` and the header \`x-ms-error-code: <code>\`;
the CLI prints \`<code>: <message>\` on one line and exits non-zero; a device sees what the
Azure protocols define (a DPS error body, a CONNACK code, a twin \`errorCode\`), while the
reason is kept for the operator (\`GET /api/provisioning/attempts\` and the logs).

This file is generated from the code (\`npm run docs:errors\`); a test fails when they differ.

## Provisioning: why a device was refused

The device receives \`$dps/registrations/res/<status>/?$rid=…\` with
\`{"errorCode","trackingId","message","timestampUtc"}\` (the Azure SDK raises
\`UnauthorizedError\` for 401, \`ArgumentError\` for 400, \`DeviceNotFoundError\` for 404).
\`GET /api/provisioning/attempts?registrationId=<id>\` shows the code and a sentence for each.

${specTable(PROVISIONING_ERRORS, isDps, true)}

## Provisioning: enrollment groups, certificates, individual enrollments (REST)

${specTable(PROVISIONING_ERRORS, notDps, false)}

## REST API: every resource

${specTable(COMMON_ERRORS, all, false)}

## Revocation: CRLs and refused or closed hub connections

\`POST /api/enrollmentGroups/{id}/crl\` answers the CRL codes; the \`ERR_HUB_*\` codes are the
reasons kept for a refused hub CONNECT or a live session closed by a revocation
(\`GET /api/provisioning/attempts?registrationId=<device id>\`, transport \`hub-mqtt\`,
\`hub-mqtt-ws\` or \`hub-https\`), while the device sees CONNACK 5 (HTTPS: 401). See docs/security.md.

${specTable(REVOCATION_ERRORS, all, false)}

## Hub: devices, telemetry, properties, commands, cloud-to-device

A device that fails hub authentication gets CONNACK 5 (not authorized) and the log says why;
these codes are the REST API's.

${specTable(HUB_ERRORS, all, false)}

## Device HTTPS and WebSocket listener

The HTTPS device APIs (DPS register and poll, hub telemetry and cloud-to-device) answer in the
Azure services' shapes; these codes are in the logs, the DPS error bodies and the startup line.

${specTable(DEVICE_HTTP_ERRORS, all, false)}

## Application: API tokens, roles, users, dashboards, device groups

${specTable(APP_ERRORS, all, false)}

## Import from Azure (\`gatehouse import\`, \`POST /api/imports\`)

A refused record is listed in the plan with its file, line, code and reason; its code is one of
these, or the code the REST API answers for the same resource (\`ERR_GROUP_INVALID\`,
\`ERR_CERT_MALFORMED\`, \`ERR_DTDL_INVALID\`, \`ERR_INVALID_ID\`, …). See
docs/migrate-from-azure.md.

${specTable(IMPORT_ERRORS, all, false)}

## Data export (\`/api/dataExport/…\`)

Refusals of destinations and exports (each names the field) and of the test message. A failed
delivery is not a refusal: it shows in the destination's and export's \`errors\` and is retried
(docs/data-export.md).

${specTable(EXPORT_ERRORS, all, false)}

## Jobs and scheduled jobs

A job's per-device failures are not refusals: \`GET /api/jobs/{id}/devices\` gives each failed
device a \`message\` that starts with the code of what failed (e.g. \`ERR_DEVICE_OFFLINE\`).

${specTable(JOB_ERRORS, all, false)}

## Rules (\`/api/rules\`)

A refusal names the field first and changes nothing. A failed action is not a refusal: the
rule's history records it in words (\`GET /api/rules/{id}/history\`). See docs/rules.md.

${specTable(RULE_ERRORS, all, false)}

## MQTT gateway

Closing reasons and failures of the MQTT layer, and the PROXY v2 refusals of the device ports
(MQTT/TLS and HTTPS/WSS behind \`--proxy-protocol v2\`, logged with the code and counted in
\`gatehouse_proxy_protocol_refusals_total\`); the device sees a closed connection.

${specTable(GATEWAY_ERRORS, all, false)}

## Database (\`gatehouse serve --database-url\`)

Raised at start when PostgreSQL cannot be used; the server does not start, and the CLI prints
the code and the fix on one line and exits non-zero.

${specTable(STORE_ERRORS, all, false)}

## Cluster message bus (Redis)

With \`--redis-url\`, nodes reach each other over Redis pub/sub (commands, wake-ups, live
events). Nothing stored depends on it; while Redis is down, calls that need another node
answer 503.

${specTable(BUS_ERRORS, all, false)}

## Server start and shutdown

Printed by \`gatehouse serve\` as \`<code>: <message>\`; the process exits non-zero.

${specTable(LIFECYCLE_ERRORS, all, false)}

## Certificates (\`@gatehouse/pki\`, \`gatehouse cert\`)

${plainTable(PKI_ERROR_CODES.map((c) => [c, PKI_ERROR_DESCRIPTIONS[c]]))}

## Wire protocol (\`@gatehouse/protocol\`: SAS tokens, property bags, connection strings)

${plainTable(Object.entries(PROTOCOL_ERROR_CODES))}

## Device SDK (\`@gatehouse/device\`)

Raised by \`ProvisioningClient\` and \`HubClient\` as \`DeviceError\`.

${plainTable(Object.entries(DEVICE_ERROR_CODES))}

## CLI

${plainTable(Object.entries(CLI_ERRORS))}
`;
}
