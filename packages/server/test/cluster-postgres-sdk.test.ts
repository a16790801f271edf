/**
 * The how-to journey on PostgreSQL, end to end with the real Azure IoT SDK packages: two
 * nodes on one database; the device provisions and connects through node A (on 8883, the
 * SDK's fixed port, so this file holds the 8883 lock), sends QoS 1 telemetry, and node B's
 * REST API shows it. Each acknowledged message is a row in PostgreSQL when the SDK's send
 * resolves (PUBACK after COMMIT).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createDeviceCertificate, createRootCa, type Issued } from '@gatehouse/pki';

import { runAzureProvision } from './helpers/azure-device.js';
import { AzureHubDevice } from './helpers/azure-hub.js';
import { base64Pem, tempDir, writeIssued } from './helpers/pki-files.js';
import { withPortLock } from './helpers/port-lock.js';
import { postgresSkipReason, withPostgres } from './helpers/postgres.js';
import { startTestServer, type TestServer } from './helpers/test-server.js';

describe(
  'the how-to device on two PostgreSQL nodes with the real Azure SDK',
  { skip: postgresSkipReason(), concurrency: false },
  () => {
    const pg = withPostgres();
    let a: TestServer;
    let b: TestServer;
    let release: () => void = () => undefined;
    let files: { cert: string; key: string };
    let device: AzureHubDevice | undefined;

    before(async () => {
      await new Promise<void>((ready, fail) => {
        withPortLock(8883, () => new Promise<void>((done) => ((release = done), ready()))).catch(fail);
      });
      [a, b] = await Promise.all([
        startTestServer({ mqttPort: 8883, databaseUrl: pg.url, webRoot: '' }),
        startTestServer({ databaseUrl: pg.url, webRoot: '' }),
      ]);
      const root: Issued = await createRootCa({ commonName: 'cluster-root' });
      // Enrollment made through node B: node A attests against it.
      assert.equal(
        (
          await b.api('PUT', '/api/enrollmentGroups/ClusterGroup', {
            displayName: 'ClusterGroup',
            type: 'iot',
            attestation: { type: 'x509' },
          })
        ).status,
        200,
      );
      const up = await b.api('PUT', '/api/enrollmentGroups/ClusterGroup/certificates/primary', {
        certificate: base64Pem(root.certificate),
        verified: true,
      });
      assert.equal(up.status, 200, JSON.stringify(up.body));
      files = await writeIssued(
        await tempDir(),
        'clusterdevice',
        await createDeviceCertificate({ commonName: 'clusterdevice', issuer: root }),
      );
    });

    after(async () => {
      await device?.stop();
      await Promise.all([a?.stop(), b?.stop()]);
      release();
    });

    it('provisions and connects through node A; node B shows its telemetry', async () => {
      const reg = await runAzureProvision({
        caPath: a.serverCaPath!,
        idScope: a.idScope,
        registrationId: 'clusterdevice',
        certFile: files.cert,
        keyFile: files.key,
      });
      assert.equal(reg.ok, true, JSON.stringify(reg.error));
      assert.equal(reg.result?.deviceId, 'clusterdevice');

      device = new AzureHubDevice(
        {
          HUB_HOST: 'localhost',
          DEVICE_ID: 'clusterdevice',
          CERT_FILE: files.cert,
          KEY_FILE: files.key,
          TELEMETRY_COUNT: '3',
          TELEMETRY_INTERVAL_MS: '300',
        },
        a.serverCaPath!,
      );
      await device.waitFor((e) => e.event === 'open', 20_000, 'open');
      await device.waitFor((e) => e.event === 'sent' && e['n'] === 2, 20_000, 'three messages sent');

      // The SDK's send resolved on PUBACK: the rows are committed, so node B reads them at once.
      const rows = await pg.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM telemetry WHERE device_id = 'clusterdevice'",
      );
      assert.equal(rows[0]?.n, 3);
      const history = await b.api<{ value: Array<{ body: { temp: number } }> }>(
        'GET',
        '/api/devices/clusterdevice/telemetry',
      );
      assert.equal(history.status, 200, JSON.stringify(history.body));
      assert.deepEqual(
        history.body.value.map((m) => m.body.temp),
        [20, 21, 22],
      );
      const latest = await b.api<{ value: number }>('GET', '/api/devices/clusterdevice/telemetry/temp');
      assert.equal(latest.body.value, 22);
      const seen = await b.api<{ provisioned: boolean }>('GET', '/api/devices/clusterdevice');
      assert.equal(seen.body.provisioned, true);
    });
  },
);
