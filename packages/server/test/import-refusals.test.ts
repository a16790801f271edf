/**
 * All or nothing: one bad record refuses the whole import (422 ERR_IMPORT_REFUSED), the plan
 * names the file, the line and the reason, and nothing of the file is imported — not even its
 * good records. A dry run answers the same plan with 200.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createDeviceCertificate, createRootCa, type Issued } from '@gatehouse/pki';
import type { PlanBody } from './helpers/import-fixtures.js';
import { startTestServer, type TestServer } from './helpers/test-server.js';

const KEY = 'JXOBBElojlA3witWqpCxsKeC7phkdtmdH3od1WvDza/rknilW79qDJXs164G4yaaOupgS7+R1eWVPhekbfNA5A==';
const sas = (id: string) => ({
  id,
  status: 'enabled',
  authentication: { type: 'sas', symmetricKey: { primaryKey: KEY, secondaryKey: KEY } },
});
const line = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));

interface Case {
  name: string;
  format: 'hub' | 'dps' | 'central';
  /** The records of the file, one per line; the bad one is on `badLine`. */
  lines: unknown[];
  badLine: number;
  code: string;
  reason: RegExp;
}

describe('import: one bad record and nothing is imported', () => {
  let server: TestServer;
  let ca: Issued;
  let leaf: Issued;

  before(async () => {
    server = await startTestServer();
    ca = await createRootCa({ commonName: 'refusal-root', days: 30 });
    leaf = await createDeviceCertificate({ commonName: 'leaf-device', issuer: ca, days: 30 });
  });
  after(() => server?.stop());

  const dpsGroup = (id: string, x509: unknown) => ({
    enrollmentGroupId: id,
    attestation: { type: 'x509', x509 },
    provisioningStatus: 'enabled',
  });
  const cases = (): Case[] => [
    {
      name: 'missing id',
      format: 'hub',
      lines: [sas('good-1'), { status: 'enabled', authentication: { type: 'none' } }, sas('good-2')],
      badLine: 2,
      code: 'ERR_IMPORT_MISSING_ID',
      reason: /no 'id' or 'deviceId'/,
    },
    {
      name: 'a key that is not base64',
      format: 'hub',
      lines: [
        sas('good-1'),
        {
          ...sas('bad-key'),
          authentication: { type: 'sas', symmetricKey: { primaryKey: 'not*base64!', secondaryKey: KEY } },
        },
      ],
      badLine: 2,
      code: 'ERR_IMPORT_KEY_INVALID',
      reason: /symmetricKey.primaryKey' is not base64/,
    },
    {
      name: 'a key too short',
      format: 'hub',
      lines: [
        sas('good-1'),
        {
          ...sas('short-key'),
          authentication: { type: 'sas', symmetricKey: { primaryKey: KEY, secondaryKey: 'AAAA' } },
        },
      ],
      badLine: 2,
      code: 'ERR_IMPORT_KEY_INVALID',
      reason: /16–64 bytes \(it has 3\)/,
    },
    {
      name: 'an unknown authentication type',
      format: 'hub',
      lines: [sas('good-1'), { id: 'pw', authentication: { type: 'password' } }],
      badLine: 2,
      code: 'ERR_IMPORT_AUTH_TYPE',
      reason: /"password" is not sas/,
    },
    {
      name: 'a bad thumbprint',
      format: 'hub',
      lines: [
        sas('good-1'),
        {
          id: 'cam',
          authentication: { type: 'selfSigned', x509Thumbprint: { primaryThumbprint: 'XYZ123' } },
        },
      ],
      badLine: 2,
      code: 'ERR_IMPORT_THUMBPRINT_INVALID',
      reason: /40 \(SHA-1\) or 64 \(SHA-256\)/,
    },
    {
      name: 'a malformed JSON line',
      format: 'hub',
      lines: [sas('good-1'), '{"id": "broken", "status": ', sas('good-2')],
      badLine: 2,
      code: 'ERR_IMPORT_JSON',
      reason: /not valid JSON/,
    },
    {
      name: 'a duplicate ID',
      format: 'hub',
      lines: [sas('good-1'), sas('twice'), sas('twice')],
      badLine: 3,
      code: 'ERR_IMPORT_DUPLICATE_ID',
      reason: /already imported from devices\.jsonl:2/,
    },
    {
      name: 'SAS without keys (az … list)',
      format: 'hub',
      lines: [sas('good-1'), { deviceId: 'listed', status: 'enabled', authenticationType: 'sas' }],
      badLine: 2,
      code: 'ERR_IMPORT_KEYS_MISSING',
      reason: /device-identity export/,
    },
    {
      name: 'a module identity',
      format: 'hub',
      lines: [sas('good-1'), { ...sas('edge-1'), moduleId: '$edgeAgent' }],
      badLine: 2,
      code: 'ERR_IMPORT_UNSUPPORTED',
      reason: /module identity/,
    },
    {
      name: 'a delete import mode',
      format: 'hub',
      lines: [sas('good-1'), { ...sas('gone'), importMode: 'delete' }],
      badLine: 2,
      code: 'ERR_IMPORT_UNSUPPORTED',
      reason: /never deletes/,
    },
    {
      name: 'a device ID the REST API refuses',
      format: 'hub',
      lines: [sas('good-1'), sas('has spaces')],
      badLine: 2,
      code: 'ERR_INVALID_ID',
      reason: /deviceId 'has spaces' is invalid/,
    },
    {
      name: 'a certificate that does not parse',
      format: 'dps',
      lines: [
        {
          enrollmentGroupId: 'ok-group',
          attestation: { type: 'symmetricKey', symmetricKey: { primaryKey: KEY, secondaryKey: KEY } },
        },
        dpsGroup('bad-cert', { signingCertificates: { primary: { certificate: 'MIIBnotacertificate' } } }),
      ],
      badLine: 2,
      code: 'ERR_CERT_MALFORMED',
      reason: /not a certificate/,
    },
    {
      name: 'a device certificate as a group CA',
      format: 'dps',
      lines: [
        dpsGroup('leaf-group', { signingCertificates: { primary: { certificate: leaf.certificate.pem } } }),
      ],
      badLine: 1,
      code: 'ERR_CERT_NOT_CA',
      reason: /not a CA certificate/,
    },
    {
      name: 'group keys hidden (no --show-keys)',
      format: 'dps',
      lines: [
        {
          enrollmentGroupId: 'hidden',
          attestation: { type: 'symmetricKey', symmetricKey: { primaryKey: null, secondaryKey: null } },
        },
      ],
      badLine: 1,
      code: 'ERR_IMPORT_KEYS_MISSING',
      reason: /--show-keys/,
    },
    {
      name: 'caReferences',
      format: 'dps',
      lines: [dpsGroup('by-name', { caReferences: { primary: 'my-root' } })],
      badLine: 1,
      code: 'ERR_IMPORT_UNSUPPORTED',
      reason: /names the DPS certificate "my-root", which no file of this import holds/,
    },
    {
      name: 'TPM attestation',
      format: 'dps',
      lines: [
        {
          registrationId: 'tpm-1',
          attestation: { type: 'tpm', tpm: { endorsementKey: 'AToAAQALAAMAsgAgg3GXZ0SEs' } },
        },
      ],
      badLine: 1,
      code: 'ERR_IMPORT_UNSUPPORTED',
      reason: /TPM/,
    },
    {
      name: 'a template that is not DTDL',
      format: 'central',
      lines: [
        {
          '@id': 'dtmi:contoso:broken;1',
          '@type': ['ModelDefinition', 'DeviceModel'],
          displayName: 'Broken',
          capabilityModel: {
            '@id': 'dtmi:contoso:broken:model;1',
            '@type': 'Interface',
            '@context': 'dtmi:dtdl:context;2',
            contents: [{ '@type': 'Telemetry', name: 'x' }],
          },
        },
      ],
      badLine: 1,
      code: 'ERR_DTDL_INVALID',
      reason: /schema/,
    },
    {
      name: 'a device on an unknown template',
      format: 'central',
      lines: [{ id: 'orphan', displayName: 'Orphan', template: 'dtmi:contoso:nothing;1', enabled: true }],
      badLine: 1,
      code: 'ERR_TEMPLATE_NOT_FOUND',
      reason: /names no device template/,
    },
    {
      name: 'a group ID the REST API refuses',
      format: 'central',
      lines: [
        {
          id: 'under_score',
          displayName: 'x',
          type: 'iot',
          attestation: { type: 'symmetricKey', symmetricKey: { primaryKey: KEY, secondaryKey: KEY } },
        },
      ],
      badLine: 1,
      code: 'ERR_INVALID_ID',
      reason: /enrollmentGroupId 'under_score' is invalid/,
    },
  ];

  it('each bad record is refused with its file, line and reason, and the good records are not imported', async () => {
    for (const c of cases()) {
      const content = c.lines.map(line).join('\n') + '\n';
      const devicesBefore = await server.db.selectFrom('devices').select('id').execute();
      const groupsBefore = await server.db.selectFrom('enrollment_groups').select('id').execute();
      const body = { format: c.format, files: [{ name: 'devices.jsonl', content }] };
      const dry = await server.api<PlanBody>('POST', '/api/imports?dryRun=true', body);
      assert.equal(dry.status, 200, `${c.name}: a dry run answers the plan`);
      const res = await server.api<{ error: { code: string; message: string; details: { plan: PlanBody } } }>(
        'POST',
        '/api/imports',
        body,
      );
      assert.equal(res.status, 422, `${c.name}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.error.code, 'ERR_IMPORT_REFUSED', c.name);
      const refused = res.body.error.details.plan.items.filter((i) => i.action === 'refused');
      assert.equal(refused.length, 1, `${c.name}: ${JSON.stringify(refused)}`);
      const [r] = refused;
      assert.equal(r!.file, 'devices.jsonl', c.name);
      assert.equal(r!.line, c.badLine, c.name);
      assert.equal(r!.code, c.code, `${c.name}: ${r!.reason}`);
      assert.match(r!.reason!, c.reason, c.name);
      assert.match(res.body.error.message, new RegExp(`devices\\.jsonl:${c.badLine}: ${c.code}`), c.name);
      assert.deepEqual(
        dry.body.items,
        res.body.error.details.plan.items,
        `${c.name}: the dry run said the same`,
      );
      assert.deepEqual(
        await server.db.selectFrom('devices').select('id').execute(),
        devicesBefore,
        `${c.name}: no device imported`,
      );
      assert.deepEqual(
        await server.db.selectFrom('enrollment_groups').select('id').execute(),
        groupsBefore,
        `${c.name}: no group imported`,
      );
    }
  });

  it('a JSON array broken in the middle names the line of the error', async () => {
    const content =
      '[\n  { "id": "a", "authentication": { "type": "none" } },\n  { "id": "b" "authentication": {} }\n]\n';
    const res = await server.api<{ error: { code: string; details: { plan: PlanBody } } }>(
      'POST',
      '/api/imports',
      { format: 'hub', files: [{ name: 'list.json', content }] },
    );
    assert.equal(res.status, 422);
    const [r] = res.body.error.details.plan.items;
    assert.deepEqual([r!.file, r!.line, r!.code], ['list.json', 3, 'ERR_IMPORT_JSON']);
  });

  it('a malformed request is refused before anything is read', async () => {
    for (const [body, code] of [
      [{ format: 'aws', files: [{ name: 'a', content: '' }] }, 'ERR_IMPORT_FORMAT'],
      [{ format: 'hub', files: [] }, 'ERR_IMPORT_FORMAT'],
      [{ format: 'hub', files: [{ name: 'a' }] }, 'ERR_IMPORT_FORMAT'],
      [{ format: 'hub', idScope: 'scope', files: [{ name: 'a', content: '' }] }, 'ERR_ID_SCOPE_INVALID'],
    ] as const) {
      const res = await server.api<{ error: { code: string } }>('POST', '/api/imports', body);
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal(res.body.error.code, code);
    }
  });
});
