/**
 * TLS session resumption on the HTTPS/WSS device listener (443) does not get past a revocation
 * (HARDENING.md §8 R3; revocation-bypass.test.ts has the MQTT/TLS listener). Unlike 8883, this
 * listener issues session tickets, so a device can resume: its certificate then comes from the
 * ticket, not from a new handshake. An X.509 device connects over MQTT/WSS (TLS 1.2 and 1.3),
 * keeps what it would resume with, is revoked by a CRL, and reconnects offering it: the TLS
 * session is resumed and the MQTT CONNECT still gets CONNACK 5, with the reason recorded.
 */
import assert from 'node:assert/strict';
import { connect as tlsConnect, type ConnectionOptions, type SecureVersion } from 'node:tls';
import { after, before, describe, it } from 'node:test';

import { createDeviceCertificate, createRootCa, type Issued } from '@gatehouse/pki';
import type { IClientOptions } from 'mqtt';

import { opensslCa, type OpensslCa } from './helpers/openssl-ca.js';
import { base64Pem } from './helpers/pki-files.js';
import {
  closedWithin,
  connackOf,
  connectX509,
  provisionX509,
  refusalRecorded,
} from './helpers/revocation-clients.js';
import { startTestServer, TEST_ADMIN_TOKEN, type TestServer } from './helpers/test-server.js';

/**
 * WebSocket options whose TLS socket offers `session` (if given); `seen` keeps the version, whether
 * the session was resumed, and the last session the server handed out (a TLS 1.3 ticket comes
 * after the handshake, in a 'session' event).
 */
function wssTls(maxVersion: SecureVersion, session?: Buffer) {
  const seen: { protocol?: string | null; reused?: boolean; session?: Buffer } = {};
  const wsOptions = {
    createConnection: (options: ConnectionOptions) => {
      const socket = tlsConnect({
        ...options,
        servername: 'localhost',
        maxVersion,
        ...(session ? { session } : {}),
      });
      socket.on('session', (s: Buffer) => (seen.session = s));
      socket.once('secureConnect', () => {
        seen.protocol = socket.getProtocol();
        seen.reused = socket.isSessionReused();
      });
      return socket;
    },
  };
  return { extra: { wsOptions } as Partial<IClientOptions>, seen };
}

describe('revocation: TLS resumption on the WSS listener', { concurrency: false }, () => {
  let server: TestServer;
  let root: Issued;
  let ca: OpensslCa;

  before(async () => {
    server = await startTestServer();
    root = await createRootCa({ commonName: 'resume-wss-root' });
    ca = await opensslCa(root);
    await server.api('PUT', '/api/enrollmentGroups/resume-wss', {
      displayName: 'resume-wss',
      type: 'iot',
      attestation: { type: 'x509' },
    });
    const up = await server.api('PUT', '/api/enrollmentGroups/resume-wss/certificates/primary', {
      certificate: base64Pem(root.certificate),
      verified: true,
    });
    assert.equal(up.status, 200, JSON.stringify(up.body));
  });

  after(async () => {
    await server?.stop();
  });

  for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
    it(`a ${version} session resumed on 443 after the revocation is refused (CONNACK 5)`, async () => {
      const id = `resume-wss-${version.replace('.', '')}`;
      const leaf = await createDeviceCertificate({ commonName: id, issuer: root });
      assert.equal((await provisionX509(server, id, leaf)).status, 200);

      const first = wssTls(version);
      const client = await connectX509(server, id, leaf, { transport: 'wss', extra: first.extra });
      assert.equal(first.seen.protocol, version);
      // A TLS 1.3 ticket may follow the handshake by a round trip.
      const deadline = Date.now() + 2000;
      while (!first.seen.session && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      assert.ok(first.seen.session, 'the listener handed out a session to resume');

      await ca.revoke(leaf.certificate);
      await closedWithin(client, async () =>
        fetch(`${server.baseUrl}/api/enrollmentGroups/resume-wss/crl`, {
          method: 'POST',
          headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, 'content-type': 'application/x-pem-file' },
          body: await ca.crl(),
        }).then(async (r) => ({ status: r.status, body: await r.text() })),
      );

      const retry = wssTls(version, first.seen.session);
      assert.equal(
        await connackOf(connectX509(server, id, leaf, { transport: 'wss', extra: retry.extra })),
        5,
      );
      // The bypass was really tried: the TLS layer resumed, and the hub refused all the same.
      assert.equal(retry.seen.reused, true, 'the TLS session was resumed');
      const record = await refusalRecorded(server, id, 'ERR_HUB_CERTIFICATE_REVOKED');
      assert.equal(record.transport, 'hub-mqtt-ws');
    });
  }
});
