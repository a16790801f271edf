/**
 * Three real servers started at the same moment on one empty PostgreSQL database, each with
 * its own data folder and host name: one application. The first node creates the identity
 * (ID scope, server CA and certificate, administrator token and password); every node ends
 * up serving the same certificate, which names all three host names, and writes the same
 * server-ca.pem; the administrator's token and password work on each; what one node writes,
 * the others read.
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { connect } from 'node:tls';
import { after, before, describe, it } from 'node:test';

import { postgresSkipReason, withPostgres } from './helpers/postgres.js';
import { startTestServer, type TestServer } from './helpers/test-server.js';
import { PASSWORD, signIn } from './helpers/users.js';

const HOSTS = ['node-a.gatehouse.test', 'node-b.gatehouse.test', 'node-c.gatehouse.test'];

/** The certificate a TLS listener presents (SHA-256 fingerprint and SAN). */
function presented(port: number): Promise<{ fingerprint: string; san: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      const raw = socket.getPeerCertificate().raw;
      socket.destroy();
      const cert = new X509Certificate(raw);
      resolve({ fingerprint: cert.fingerprint256, san: cert.subjectAltName ?? '' });
    });
    socket.once('error', reject);
  });
}

describe('three nodes on one PostgreSQL database share one identity', { skip: postgresSkipReason() }, () => {
  const pg = withPostgres();
  let nodes: TestServer[] = [];

  before(async () => {
    nodes = await Promise.all(
      HOSTS.map((hostName) =>
        startTestServer({ hostName, databaseUrl: pg.url, adminPassword: PASSWORD, webRoot: '' }),
      ),
    );
  });
  after(async () => {
    await Promise.all(nodes.map((n) => n.stop()));
  });

  it('has one ID scope and one server CA file, byte for byte', async () => {
    assert.equal(new Set(nodes.map((n) => n.idScope)).size, 1);
    const cas = await Promise.all(nodes.map((n) => readFile(n.serverCaPath!, 'utf8')));
    assert.equal(new Set(cas).size, 1);
    assert.notEqual(new Set(nodes.map((n) => n.dataDir)).size, 1, 'each node has its own data folder');
  });

  it('serves one server certificate on every node, naming every node’s host name', async () => {
    // A node that started before the last reissue picks the new certificate up within seconds.
    const deadline = Date.now() + 15_000;
    let seen: Array<{ fingerprint: string; san: string }> = [];
    for (;;) {
      seen = await Promise.all(nodes.map((n) => presented(n.mqtt.port)));
      if (new Set(seen.map((s) => s.fingerprint)).size === 1 || Date.now() > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    assert.equal(new Set(seen.map((s) => s.fingerprint)).size, 1, JSON.stringify(seen));
    for (const host of HOSTS) assert.ok(seen[0]!.san.includes(`DNS:${host}`), seen[0]!.san);
    const ca = new X509Certificate(await readFile(nodes[0]!.serverCaPath!, 'utf8'));
    const leaf = await new Promise<X509Certificate>((resolve, reject) => {
      const socket = connect(
        { host: '127.0.0.1', port: nodes[2]!.mqtt.port, rejectUnauthorized: false },
        () => {
          const cert = new X509Certificate(socket.getPeerCertificate().raw);
          socket.destroy();
          resolve(cert);
        },
      );
      socket.once('error', reject);
    });
    assert.ok(leaf.verify(ca.publicKey), 'issued by the shared server CA');
  });

  it('accepts the administrator token and password on every node', async () => {
    for (const node of nodes) {
      assert.equal((await node.api('GET', '/api/devices')).status, 200);
      assert.equal((await signIn(node, 'admin', PASSWORD)).status, 200);
    }
  });

  it('shows on every node what another node wrote', async () => {
    const put = await nodes[0]!.api('PUT', '/api/devices/shared-device', { displayName: 'Written on A' });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    for (const node of nodes.slice(1)) {
      const got = await node.api<{ displayName: string }>('GET', '/api/devices/shared-device');
      assert.equal(got.body.displayName, 'Written on A');
    }
  });
});
