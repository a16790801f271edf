/**
 * TLS session resumption on the HTTPS/WSS device listener (443) does not get past a revocation
 * (HARDENING.md §8 R3; revocation-bypass.test.ts has the MQTT/TLS listener). An X.509 device
 * (leaf + intermediate CA, as it sends them) provisions, connects over MQTT/WSS (TLS 1.2 and
 * 1.3), keeps the session it could resume, is revoked by a CRL (its certificate, or the
 * intermediate CA above it), and reconnects offering the session: the session is not resumed
 * (the listener issues no tickets), and the CONNECT gets CONNACK 5 with the reason recorded.
 */
import assert from 'node:assert/strict';
import { connect as tlsConnect, type ConnectionOptions, type SecureVersion } from 'node:tls';
import { after, before, describe, it } from 'node:test';

import { createDeviceCertificate, createIntermediateCa, createRootCa, type Issued } from '@gatehouse/pki';
import type { IClientOptions } from 'mqtt';

import { opensslCa, type OpensslCa } from './helpers/openssl-ca.js';
import { base64Pem } from './helpers/pki-files.js';
import {
  closedWithin,
  connackOf,
  connectX509,
  provisionX509,
  refusalsOf,
  type RefusalRecord,
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

  async function postCrl(crl: Buffer) {
    const r = await fetch(`${server.baseUrl}/api/enrollmentGroups/resume-wss/crl`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, 'content-type': 'application/x-pem-file' },
      body: crl,
    });
    return { status: r.status, body: await r.text() };
  }

  /**
   * Connects `id` over MQTT/WSS and keeps what the client could resume with; revokes (`revoke`),
   * checks the session is closed, then reconnects offering that session: CONNACK 5, recorded.
   */
  async function resumeAfterRevocation(
    id: string,
    leaf: Issued,
    version: SecureVersion,
    revoke: () => Promise<void>,
  ): Promise<void> {
    const provisioned = await provisionX509(server, id, leaf, { chain: true });
    assert.equal(provisioned.status, 200, JSON.stringify(provisioned.body));
    const first = wssTls(version);
    const client = await connectX509(server, id, leaf, { transport: 'wss', chain: true, extra: first.extra });
    assert.equal(first.seen.protocol, version);
    // A TLS 1.3 session (ticket) may follow the handshake by a round trip.
    const deadline = Date.now() + 2000;
    while (!first.seen.session && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.ok(first.seen.session, 'the client has a session to offer');

    await revoke();
    const crl = await ca.crl();
    await closedWithin(client, () => postCrl(crl));

    const retry = wssTls(version, first.seen.session);
    assert.equal(
      await connackOf(connectX509(server, id, leaf, { transport: 'wss', chain: true, extra: retry.extra })),
      5,
    );
    // The reconnect's own refusal, not the record of the live session the CRL closed.
    const deadline2 = Date.now() + 5000;
    let refused: RefusalRecord | undefined;
    while (!refused && Date.now() < deadline2) {
      refused = (await refusalsOf(server, id)).find(
        (r) => !r.reason.message.startsWith('live session closed'),
      );
      if (!refused) await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(refused?.reason.code, 'ERR_HUB_CERTIFICATE_REVOKED', JSON.stringify(refused));
    assert.equal(refused.transport, 'hub-mqtt-ws');
    // Nothing is resumed on 443 (no tickets, as on 8883): every connection shows its chain.
    assert.notEqual(retry.seen.reused, true, 'the TLS session was resumed');
  }

  for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
    const tag = version.replace('.', '');
    it(`${version}: a session offered after a CRL revoked the device certificate is refused`, async () => {
      const id = `resume-wss-leaf-${tag}`;
      const leaf = await createDeviceCertificate({ commonName: id, issuer: root });
      await resumeAfterRevocation(id, leaf, version, () => ca.revoke(leaf.certificate));
    });

    // Regression: the listener used to issue tickets, and a resumed session carries only the
    // leaf certificate (OpenSSL keeps no client chain in a session), so a revoked intermediate
    // was no longer in the chain the check saw: the device below it got CONNACK 0 (1.2 and 1.3).
    it(`${version}: a session offered after a CRL revoked the intermediate CA above the device is refused`, async () => {
      const id = `resume-wss-cascade-${tag}`;
      const intermediate = await createIntermediateCa({ commonName: `resume-int-${tag}`, issuer: root });
      const leaf = await createDeviceCertificate({
        commonName: id,
        issuer: intermediate,
        issuerChain: intermediate.chain,
      });
      await resumeAfterRevocation(id, leaf, version, () => ca.revoke(intermediate.certificate));
    });
  }
});
