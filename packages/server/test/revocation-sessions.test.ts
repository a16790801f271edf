/**
 * Revocation closes live sessions within 1 s and refuses the reconnect (HARDENING.md §8 R1–R4),
 * on a real server over real sockets (MQTT/TLS and MQTT/WSS): a CRL revoking the device's
 * certificate or its intermediate CA (cascade), removing or replacing the group CA, disabling the
 * group or the device, deleting the device. Each reconnect gets CONNACK 5 and the reason is kept
 * with the refusal records; a SAS token signed before the revocation and a TLS session offered
 * for resumption do not get past it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { createDeviceCertificate, createIntermediateCa, createRootCa, type Issued } from '@gatehouse/pki';

import { opensslCa, type OpensslCa } from './helpers/openssl-ca.js';
import { base64Pem } from './helpers/pki-files.js';
import {
  closedWithin,
  connackOf,
  connectX509,
  refusalRecorded,
  type Transport,
} from './helpers/revocation-clients.js';
import { sasFleet, type SasFleet } from './helpers/sas-device.js';
import { startTestServer, TEST_ADMIN_TOKEN, type TestServer } from './helpers/test-server.js';

describe('revocation: live sessions closed within 1 s, reconnects refused', { concurrency: false }, () => {
  let server: TestServer;
  let fleet: SasFleet;
  let wssFleet: SasFleet;
  const timings: Record<string, number> = {};

  async function x509Group(id: string, ca: Issued): Promise<void> {
    assert.equal(
      (
        await server.api('PUT', `/api/enrollmentGroups/${id}`, {
          displayName: id,
          type: 'iot',
          attestation: { type: 'x509' },
        })
      ).status,
      200,
    );
    const up = await server.api('PUT', `/api/enrollmentGroups/${id}/certificates/primary`, {
      certificate: base64Pem(ca.certificate),
      verified: true,
    });
    assert.equal(up.status, 200, JSON.stringify(up.body));
  }

  async function device(id: string): Promise<void> {
    const put = await server.api('PUT', `/api/devices/${id}`, { displayName: id, enabled: true });
    assert.ok(put.status < 300, JSON.stringify(put.body));
  }

  function postCrl(groupId: string, crl: Buffer) {
    return fetch(`${server.baseUrl}/api/enrollmentGroups/${groupId}/crl`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, 'content-type': 'application/pkix-crl' },
      body: crl,
    }).then(async (r) => ({ status: r.status, body: (await r.json()) as unknown }));
  }

  before(async () => {
    server = await startTestServer();
    const group = await server.api<{ attestation: { symmetricKey: { primaryKey: string } } }>(
      'GET',
      '/api/enrollmentGroups/SAS-IoT-Devices',
    );
    const key = group.body.attestation.symmetricKey.primaryKey;
    fleet = sasFleet(server, key);
    wssFleet = sasFleet(server, key, { url: `wss://127.0.0.1:${server.https!.port}/$iothub/websocket` });
  });

  after(async () => {
    await server?.stop();
    // The figures for docs/security.md: REST call → session closed, per case.
    console.log(`# revocation close times (ms): ${JSON.stringify(timings)}`);
  });

  for (const transport of ['mqtt', 'wss'] as Transport[]) {
    describe(`over ${transport === 'wss' ? 'MQTT/WSS' : 'MQTT/TLS'}`, () => {
      let root: Issued;
      let intermediate: Issued;
      let ca: OpensslCa;
      const groupId = `rev-group-${transport}`;

      before(async () => {
        root = await createRootCa({ commonName: `rev-root-${transport}` });
        intermediate = await createIntermediateCa({ commonName: `rev-int-${transport}`, issuer: root });
        ca = await opensslCa(root);
        await x509Group(groupId, root);
      });

      it('a CRL revoking the device certificate closes its session; the reconnect is refused and recorded', async () => {
        const id = `rev-leaf-${transport}`;
        const leaf = await createDeviceCertificate({ commonName: id, issuer: root });
        await device(id);
        const client = await connectX509(server, id, leaf, { transport });
        await ca.revoke(leaf.certificate);
        const crl = await ca.crl({ der: true });
        timings[`crl-leaf-${transport}`] = await closedWithin(client, () => postCrl(groupId, crl));
        assert.equal(await connackOf(connectX509(server, id, leaf, { transport })), 5);
        const record = await refusalRecorded(server, id, 'ERR_HUB_CERTIFICATE_REVOKED');
        assert.match(record.reason.message, /revoked/);
        assert.equal(record.transport, transport === 'wss' ? 'hub-mqtt-ws' : 'hub-mqtt');
      });

      it('a CRL revoking an intermediate CA closes every device below it (cascade)', async () => {
        const ids = [1, 2].map((n) => `rev-cascade-${transport}-${n}`);
        const leaves = await Promise.all(
          ids.map((id) =>
            createDeviceCertificate({
              commonName: id,
              issuer: intermediate,
              issuerChain: intermediate.chain,
            }),
          ),
        );
        for (const id of ids) await device(id);
        const clients = await Promise.all(
          ids.map((id, i) => connectX509(server, id, leaves[i]!, { transport, chain: true })),
        );
        await ca.revoke(intermediate.certificate);
        const crl = await ca.crl();
        const gone = Promise.all(
          clients.slice(1).map((c) => closedWithin(c, () => Promise.resolve({ status: 200 }))),
        );
        timings[`crl-intermediate-${transport}`] = await closedWithin(clients[0]!, () =>
          postCrl(groupId, crl),
        );
        await gone;
        for (const [i, id] of ids.entries()) {
          assert.equal(await connackOf(connectX509(server, id, leaves[i]!, { transport, chain: true })), 5);
          await refusalRecorded(server, id, 'ERR_HUB_CERTIFICATE_REVOKED');
        }
      });

      it('removing the group CA certificate closes the sessions of the devices it issued', async () => {
        const otherRoot = await createRootCa({ commonName: `rev-removed-${transport}` });
        const gid = `rev-removed-${transport}`;
        await x509Group(gid, otherRoot);
        const id = `rev-removed-dev-${transport}`;
        const leaf = await createDeviceCertificate({ commonName: id, issuer: otherRoot });
        await device(id);
        const client = await connectX509(server, id, leaf, { transport });
        timings[`ca-removed-${transport}`] = await closedWithin(client, () =>
          server.api('DELETE', `/api/enrollmentGroups/${gid}/certificates/primary`),
        );
        assert.equal(await connackOf(connectX509(server, id, leaf, { transport })), 5);
        const record = await refusalRecorded(server, id, 'ERR_HUB_NOT_AUTHORIZED');
        assert.match(record.reason.message, /verified CA/);
      });

      it('replacing the group CA certificate closes the sessions of the old CA', async () => {
        const oldRoot = await createRootCa({ commonName: `rev-old-${transport}` });
        const newRoot = await createRootCa({ commonName: `rev-new-${transport}` });
        const gid = `rev-replaced-${transport}`;
        await x509Group(gid, oldRoot);
        const id = `rev-replaced-dev-${transport}`;
        const leaf = await createDeviceCertificate({ commonName: id, issuer: oldRoot });
        await device(id);
        const client = await connectX509(server, id, leaf, { transport });
        timings[`ca-replaced-${transport}`] = await closedWithin(client, () =>
          server.api('PUT', `/api/enrollmentGroups/${gid}/certificates/primary`, {
            certificate: base64Pem(newRoot.certificate),
            verified: true,
          }),
        );
        assert.equal(await connackOf(connectX509(server, id, leaf, { transport })), 5);
        // A device of the new CA connects.
        const fresh = await createDeviceCertificate({ commonName: id, issuer: newRoot });
        (await connectX509(server, id, fresh, { transport })).end(true);
      });

      it('disabling the X.509 group closes the sessions of its devices', async () => {
        const gRoot = await createRootCa({ commonName: `rev-disabled-${transport}` });
        const gid = `rev-disabled-${transport}`;
        await x509Group(gid, gRoot);
        const id = `rev-disabled-dev-${transport}`;
        const leaf = await createDeviceCertificate({ commonName: id, issuer: gRoot });
        await device(id);
        const client = await connectX509(server, id, leaf, { transport });
        timings[`x509-group-disabled-${transport}`] = await closedWithin(client, () =>
          server.api('PATCH', `/api/enrollmentGroups/${gid}`, { enabled: false }),
        );
        assert.equal(await connackOf(connectX509(server, id, leaf, { transport })), 5);
      });

      it('disabling a SAS group closes its devices; a token signed before is refused, then enabling lets it in', async () => {
        const f = transport === 'wss' ? wssFleet : fleet;
        const id = `rev-sas-group-${transport}`;
        const client = await f.connect(id);
        const before = await f.connect(`${id}-token-check`);
        before.end(true);
        timings[`sas-group-disabled-${transport}`] = await closedWithin(client, () =>
          server.api('PATCH', '/api/enrollmentGroups/SAS-IoT-Devices', { enabled: false }),
        );
        // fleet.connect signs a fresh token with the key of before the disabling: still valid.
        assert.equal(await connackOf(f.connect(id)), 5);
        const record = await refusalRecorded(server, id, 'ERR_HUB_GROUP_DISABLED');
        assert.match(record.reason.message, /SAS-IoT-Devices/);
        assert.equal(
          (await server.api('PATCH', '/api/enrollmentGroups/SAS-IoT-Devices', { enabled: true })).status,
          200,
        );
        (await f.connect(id)).end(true);
      });

      it('disabling a device closes it and refuses the still-valid SAS token; deleting closes too', async () => {
        const f = transport === 'wss' ? wssFleet : fleet;
        const id = `rev-sas-device-${transport}`;
        const client = await f.connect(id);
        timings[`device-disabled-${transport}`] = await closedWithin(client, () =>
          server.api('PATCH', `/api/devices/${id}`, { enabled: false }),
        );
        assert.equal(await connackOf(f.connect(id)), 5);
        await refusalRecorded(server, id, 'ERR_HUB_DEVICE_DISABLED');
        assert.equal((await server.api('PATCH', `/api/devices/${id}`, { enabled: true })).status, 200);
        const again = await f.connect(id);
        timings[`device-deleted-${transport}`] = await closedWithin(again, () =>
          server.api('DELETE', `/api/devices/${id}`),
        );
        assert.equal(await connackOf(f.connect(id).catch((e: unknown) => Promise.reject(e))), 5);
      });
    });
  }
});
