/**
 * `POST /api/imports` per format, with fixture files written from Azure's documented shapes
 * (test/fixtures/import/README.md): what each record becomes, that a dry run changes nothing,
 * and that a second run changes nothing (idempotent).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createDeviceCertificate, createRootCa, type Issued } from '@gatehouse/pki';
import { actions, fixture, type PlanBody } from './helpers/import-fixtures.js';
import { startTestServer, type TestServer } from './helpers/test-server.js';

describe('import: each Azure format', () => {
  let server: TestServer;
  let ca: Issued;
  let device: Issued;
  let ca2: Issued;
  const certs = () => ({
    CA_CERT: ca.certificate.pem,
    CA_SHA1: ca.certificate.sha1Thumbprint,
    DEVICE_CERT: device.certificate.pem,
    CA2_B64: Buffer.from(ca2.certificate.pem).toString('base64'),
    CA2_SHA1: ca2.certificate.sha1Thumbprint,
  });

  before(async () => {
    server = await startTestServer();
    ca = await createRootCa({ commonName: 'contoso-root', days: 30 });
    device = await createDeviceCertificate({ commonName: 'valve-0007', days: 30 });
    ca2 = await createRootCa({ commonName: 'contoso-ca-2', days: 30 });
  });
  after(() => server?.stop());

  const post = (body: unknown, dryRun = false) =>
    server.api<PlanBody>('POST', `/api/imports${dryRun ? '?dryRun=true' : ''}`, body);

  /** The desired document of a device's twin, as stored. */
  async function desired(id: string): Promise<unknown> {
    const row = await server.db
      .selectFrom('twins')
      .select('desired')
      .where('device_id', '=', id)
      .executeTakeFirst();
    return row ? JSON.parse(row.desired) : undefined;
  }

  async function snapshot(): Promise<string> {
    const tables = [
      'devices',
      'twins',
      'enrollment_groups',
      'group_certificates',
      'individual_enrollments',
      'device_templates',
      'settings',
    ] as const;
    const out: Record<string, unknown> = {};
    for (const t of tables) out[t] = await server.db.selectFrom(t).selectAll().execute();
    return JSON.stringify(out);
  }

  /** Dry run (nothing changes, same plan), run, second run (all unchanged). */
  async function importTwice(body: {
    format: string;
    files: unknown[];
    [k: string]: unknown;
  }): Promise<PlanBody> {
    const beforeDry = await snapshot();
    const dry = await post(body, true);
    assert.equal(dry.status, 200, JSON.stringify(dry.body));
    assert.equal(dry.body.dryRun, true);
    assert.equal(dry.body.applied, false);
    assert.equal(await snapshot(), beforeDry, 'a dry run changes nothing');
    const run = await post(body);
    assert.equal(run.status, 200, JSON.stringify(run.body));
    assert.equal(run.body.applied, true);
    assert.deepEqual(actions(run.body), actions(dry.body), 'the dry run announced exactly what the run did');
    const afterRun = await snapshot();
    const again = await post(body);
    assert.equal(again.status, 200, JSON.stringify(again.body));
    assert.ok(
      again.body.items.every((i) => i.action === 'unchanged'),
      `a second run changes nothing: ${JSON.stringify(again.body.items)}`,
    );
    assert.equal(await snapshot(), afterRun, 'and writes nothing');
    return run.body;
  }

  it('hub: the export (JSON lines) becomes hub devices with their SAS keys, thumbprints, status and desired properties', async () => {
    const plan = await importTwice({ format: 'hub', files: [fixture('hub-export.jsonl')] });
    assert.deepEqual(actions(plan), [
      'device camera-07 created',
      'device gateway-12 created',
      'device meter-33 created',
      'device thermostat-01 created',
    ]);
    const thermostat = plan.items.find((i) => i.id === 'thermostat-01')!;
    assert.equal(thermostat.file, 'hub-export.jsonl');
    assert.equal(thermostat.line, 1);
    // Twin tags come along (the second run above found them unchanged).
    assert.doesNotMatch((thermostat.notes ?? []).join(), /tags/);
    const tags = await server.api<Record<string, unknown>>('GET', '/api/devices/thermostat-01/tags');
    assert.deepEqual(tags.body, { location: 'building-43' });
    const gatewayItem = plan.items.find((i) => i.id === 'gateway-12')!;
    assert.match(gatewayItem.notes!.join(), /needs a verified CA certificate/);
    const rows = await server.db
      .selectFrom('devices')
      .selectAll()
      .where('id', 'in', ['thermostat-01', 'camera-07', 'gateway-12'])
      .orderBy('id')
      .execute();
    const [camera, gateway, thermo] = rows;
    assert.equal(thermo!.auth_type, 'sas');
    assert.equal(
      thermo!.sas_primary_key,
      'JXOBBElojlA3witWqpCxsKeC7phkdtmdH3od1WvDza/rknilW79qDJXs164G4yaaOupgS7+R1eWVPhekbfNA5A==',
    );
    assert.equal(camera!.auth_type, 'x509Thumbprint');
    assert.equal(camera!.x509_primary_sha1, 'E5353879BD69BFDDCB465DAD176FF52DB8319D6F');
    assert.equal(camera!.x509_secondary_sha1, '2A5BD02710E975A7FBB92DA876655950FBD5E70D');
    assert.equal(gateway!.auth_type, 'x509CA');
    assert.equal(gateway!.enabled, 0, "status 'disabled' is kept");
    assert.deepEqual(await desired('thermostat-01'), {
      targetTemperature: 21.5,
      telemetryInterval: { seconds: 30 },
    });
  });

  it('hub: the list (device twins in a JSON array) keeps thumbprints (SHA-256 too), CA authentication and desired properties', async () => {
    const plan = await importTwice({ format: 'hub', files: [fixture('hub-list.json')] });
    assert.deepEqual(actions(plan), ['device camera-08 created', 'device gateway-13 created']);
    // Each element names the line its `{` is on: the line before its "deviceId".
    const lines = fixture('hub-list.json').content.split('\n');
    const startOf = (id: string) => lines.findIndex((l) => l.includes(`"deviceId": "${id}"`));
    assert.deepEqual(
      plan.items.map((i) => i.line),
      [startOf('camera-08'), startOf('gateway-13')],
    );
    const camera = await server.db
      .selectFrom('devices')
      .selectAll()
      .where('id', '=', 'camera-08')
      .executeTakeFirstOrThrow();
    assert.equal(
      camera.x509_primary_sha256,
      '628B49D96DCDE97A430DD4F597705899E09A968F793491E4B704CAE33A40DC02',
    );
    assert.deepEqual(await desired('camera-08'), { resolution: '1080p' });
  });

  it('dps: enrollment groups (SAS keys, a CA certificate imported as verified with --verified) and individual enrollments', async () => {
    const plan = await importTwice({
      format: 'dps',
      verified: true,
      files: [
        fixture('dps-enrollment-groups.json', certs()),
        fixture('dps-enrollments.json', certs()),
        fixture('dps-certificates.json', certs()),
      ],
    });
    assert.deepEqual(actions(plan), [
      'device pump-0042 created',
      'device valve-0007 created',
      'enrollmentGroup contoso-ca-ref created',
      'enrollmentGroup contoso-sas-fleet created',
      'enrollmentGroup contoso-x509-fleet created',
      'individualEnrollment pump-0042 created',
      'individualEnrollment valve-0007 created',
    ]);
    const sas = await server.api<{ attestation: { symmetricKey: { primaryKey: string } } }>(
      'GET',
      '/api/enrollmentGroups/contoso-sas-fleet',
    );
    assert.equal(
      sas.body.attestation.symmetricKey.primaryKey,
      'BanDhLeXIOZb/K27wDYmtT+tnEWeKrLvEi7SNW/BFiaXTLXJ9zG1NwMkcCuB+g7EH7xluYvPkqKAdjYJGxW+AA==',
    );
    const cert = await server.api<{ verified: boolean; info: { sha1Thumbprint: string } }>(
      'GET',
      '/api/enrollmentGroups/contoso-x509-fleet/certificates/primary',
    );
    assert.equal(cert.body.verified, true);
    assert.equal(cert.body.info.sha1Thumbprint, ca.certificate.sha1Thumbprint);
    const pump = await server.api<{ type: string; symmetricKey: { primaryKey: string } }>(
      'GET',
      '/api/devices/pump-0042/attestation',
    );
    assert.equal(
      pump.body.symmetricKey.primaryKey,
      'DzTwIISHwumXJPCXKpGDOe04xLChgfg52Y2XK2JrauhviPPRxYY8CVBOV2NSEFmmrZCFv0cKJ4DEw6F9ndpJJA==',
    );
    assert.deepEqual(await desired('pump-0042'), { flowRate: 12 }, 'initialTwin desired properties');
    const valve = await server.api<{ enabled: boolean }>('GET', '/api/devices/valve-0007');
    assert.equal(valve.body.enabled, false, "provisioningStatus 'disabled'");
    // caReferences: the certificate comes from the DPS certificate list, verified as Azure says.
    const referenced = await server.api<{ verified: boolean; info: { sha1Thumbprint: string } }>(
      'GET',
      '/api/enrollmentGroups/contoso-ca-ref/certificates/primary',
    );
    assert.equal(referenced.status, 200, JSON.stringify(referenced.body));
    assert.equal(referenced.body.info.sha1Thumbprint, ca2.certificate.sha1Thumbprint);
    assert.equal(referenced.body.verified, true);
  });

  it('dps: without --verified the CA certificate is imported unverified, and the plan says so', async () => {
    const other = await createRootCa({ commonName: 'other-root', days: 30 });
    // The SAS and the signing-certificate groups, renamed (not the caReferences one).
    const groups = JSON.parse(
      fixture('dps-enrollment-groups.json', { CA_CERT: other.certificate.pem, CA_SHA1: '' }).content,
    ) as unknown[];
    const text = JSON.stringify(groups.slice(0, 2), null, 2)
      .replace(/contoso-sas-fleet/g, 'other-sas-fleet')
      .replace(/contoso-x509-fleet/g, 'other-x509-fleet');
    const plan = await post({ format: 'dps', files: [{ name: 'groups.json', content: text }] });
    assert.equal(plan.status, 200, JSON.stringify(plan.body));
    const x509 = plan.body.items.find((i) => i.id === 'other-x509-fleet')!;
    assert.match(x509.notes!.join(), /unverified/);
    const cert = await server.api<{ verified: boolean }>(
      'GET',
      '/api/enrollmentGroups/other-x509-fleet/certificates/primary',
    );
    assert.equal(cert.body.verified, false);
  });

  it('central: a device template, devices on it and enrollment groups, from IoT Central REST answers', async () => {
    const plan = await importTwice({
      format: 'central',
      files: [
        fixture('central-device-template.json'),
        fixture('central-devices.json'),
        fixture('central-enrollment-groups.json'),
      ],
    });
    assert.deepEqual(actions(plan), [
      'device thermostat-attic created',
      'device thermostat-lobby created',
      'deviceTemplate dtmi:contoso:thermostatTemplate;1 created',
      'enrollmentGroup contoso-sensors created',
      'enrollmentGroup contoso-x509 created',
    ]);
    const lobby = await server.api<{ template: string; displayName: string }>(
      'GET',
      '/api/devices/thermostat-lobby',
    );
    assert.equal(lobby.body.template, 'dtmi:contoso:thermostatTemplate;1');
    assert.equal(lobby.body.displayName, 'Lobby thermostat');
    const attic = await server.api<{ enabled: boolean; simulated: boolean }>(
      'GET',
      '/api/devices/thermostat-attic',
    );
    assert.deepEqual([attic.body.enabled, attic.body.simulated], [false, true]);
    const x509 = plan.items.find((i) => i.id === 'contoso-x509')!;
    assert.match(x509.notes!.join(), /upload the CA certificate/);
  });

  it('an import that changes a record answers updated, and keeps what the file does not say', async () => {
    const text = fixture('central-devices.json').content.replace(
      'Lobby thermostat',
      'Lobby thermostat (east)',
    );
    const plan = await post({ format: 'central', files: [{ name: 'central-devices.json', content: text }] });
    assert.equal(plan.status, 200, JSON.stringify(plan.body));
    assert.deepEqual(actions(plan.body), [
      'device thermostat-attic unchanged',
      'device thermostat-lobby updated',
    ]);
  });

  it('the ID scope: set with the import (dry run first), then devices see it', async () => {
    const dry = await post(
      { format: 'central', idScope: '0ne00ABC123', files: [fixture('central-devices.json')] },
      true,
    );
    assert.equal(dry.status, 200, JSON.stringify(dry.body));
    assert.equal(dry.body.items[0]!.kind, 'idScope');
    assert.equal(dry.body.items[0]!.action, 'updated');
    assert.notEqual(
      (await server.api<{ idScope: string }>('GET', '/api/application')).body.idScope,
      '0ne00ABC123',
    );
    const run = await post({
      format: 'central',
      idScope: '0ne00ABC123',
      files: [fixture('central-devices.json')],
    });
    assert.equal(run.status, 200, JSON.stringify(run.body));
    assert.equal(run.body.idScope, '0ne00ABC123');
    assert.equal(
      (await server.api<{ idScope: string }>('GET', '/api/application')).body.idScope,
      '0ne00ABC123',
    );
    const group = await server.api<{ idScope: string }>('GET', '/api/enrollmentGroups/contoso-sensors');
    assert.equal(group.body.idScope, '0ne00ABC123');
    const bad = await post({
      format: 'central',
      idScope: '0ne-nope',
      files: [fixture('central-devices.json')],
    });
    assert.equal(bad.status, 400);
    assert.equal((bad.body as unknown as { error: { code: string } }).error.code, 'ERR_ID_SCOPE_INVALID');
  });
});
