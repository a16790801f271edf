/**
 * The device ports' TLS profile (HARDENING.md §4, T1), from a real client over loopback, on
 * both device listeners (MQTT/TLS and HTTPS/WSS): TLS 1.0 and 1.1 refused, TLS 1.2 only with
 * ECDHE and AEAD suites, TLS 1.3 with its suites, no renegotiation, and the listeners made
 * TLS 1.2-only or TLS 1.3-only by the server options.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { connect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { after, before, describe, it } from 'node:test';

import { tlsProfile } from '../src/gateway/tls-profile.js';
import { startTestServer, type TestServer } from './helpers/test-server.js';

type Outcome = { ok: true; protocol: string; cipher: string } | { ok: false; error: string };

function attempt(port: number, ca: Buffer, options: ConnectionOptions): Promise<Outcome> {
  return new Promise((resolve) => {
    const socket: TLSSocket = connect(
      { host: '127.0.0.1', port, ca, servername: 'localhost', ...options },
      () => {
        resolve({ ok: true, protocol: socket.getProtocol() ?? '', cipher: socket.getCipher().name });
        socket.destroy();
      },
    );
    socket.once('error', (err) => resolve({ ok: false, error: err.message }));
  });
}

/** Clients that must be refused, and ones that must get in, with what they negotiate. */
const CASES: { name: string; options: ConnectionOptions; expect: 'refused' | RegExp }[] = [
  {
    name: 'TLS 1.0',
    options: { minVersion: 'TLSv1', maxVersion: 'TLSv1', ciphers: 'DEFAULT@SECLEVEL=0' },
    expect: 'refused',
  },
  {
    name: 'TLS 1.1',
    options: { minVersion: 'TLSv1.1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' },
    expect: 'refused',
  },
  {
    name: 'TLS 1.2, CBC suite',
    options: {
      maxVersion: 'TLSv1.2',
      ciphers:
        'ECDHE-ECDSA-AES128-SHA256:ECDHE-RSA-AES128-SHA256:ECDHE-ECDSA-AES256-SHA:ECDHE-RSA-AES256-SHA',
    },
    expect: 'refused',
  },
  {
    name: 'TLS 1.2, RSA key exchange',
    options: { maxVersion: 'TLSv1.2', ciphers: 'AES128-GCM-SHA256:AES256-GCM-SHA384' },
    expect: 'refused',
  },
  {
    name: 'TLS 1.2, DHE',
    options: { maxVersion: 'TLSv1.2', ciphers: 'DHE-RSA-AES128-GCM-SHA256:DHE-RSA-CHACHA20-POLY1305' },
    expect: 'refused',
  },
  {
    name: 'TLS 1.2, ECDHE AES-GCM',
    options: { maxVersion: 'TLSv1.2' },
    expect: /^TLSv1\.2 ECDHE-(ECDSA|RSA)-(AES128|AES256|CHACHA20)/,
  },
  { name: 'TLS 1.3', options: { minVersion: 'TLSv1.3' }, expect: /^TLSv1\.3 TLS_(AES|CHACHA20)/ },
];

describe('TLS profile of the device ports', () => {
  let server: TestServer;
  let ca: Buffer;
  before(async () => {
    server = await startTestServer();
    ca = readFileSync(server.serverCaPath!);
  });
  after(async () => server?.stop());

  for (const listener of ['mqtt', 'https'] as const) {
    for (const c of CASES) {
      it(`${listener}: ${c.name} is ${c.expect === 'refused' ? 'refused' : 'accepted'}`, async () => {
        const port = listener === 'mqtt' ? server.mqtt.port : server.https!.port;
        const outcome = await attempt(port, ca, c.options);
        if (c.expect === 'refused') assert.equal(outcome.ok, false, JSON.stringify(outcome));
        else {
          assert.ok(outcome.ok, JSON.stringify(outcome));
          assert.match(`${outcome.protocol} ${outcome.cipher}`, c.expect);
        }
      });
    }
    it(`${listener}: a TLS 1.2 client asking to renegotiate is refused`, async () => {
      const port = listener === 'mqtt' ? server.mqtt.port : server.https!.port;
      const socket = connect({ host: '127.0.0.1', port, ca, servername: 'localhost', maxVersion: 'TLSv1.2' });
      await new Promise<void>((resolve, reject) => {
        socket.once('secureConnect', () => resolve());
        socket.once('error', reject);
      });
      const result = await new Promise<string>((resolve) => {
        socket.once('error', (err) => resolve(`error: ${err.message}`));
        socket.once('close', () => resolve('closed'));
        const started = socket.renegotiate({}, (err) =>
          resolve(err ? `error: ${err.message}` : 'renegotiated'),
        );
        if (!started) resolve('not started');
      });
      socket.destroy();
      assert.notEqual(result, 'renegotiated');
    });
  }
});

describe('TLS 1.2-only and TLS 1.3-only device ports', () => {
  for (const [versions, refused, accepted] of [
    [{ maxVersion: 'TLSv1.2' }, { minVersion: 'TLSv1.3' }, { maxVersion: 'TLSv1.2' }],
    [{ minVersion: 'TLSv1.3' }, { maxVersion: 'TLSv1.2' }, { minVersion: 'TLSv1.3' }],
  ] as const) {
    it(`${JSON.stringify(versions)}: refuses ${JSON.stringify(refused)}, accepts ${JSON.stringify(accepted)}`, async () => {
      const server = await startTestServer({ tlsVersions: versions });
      try {
        const ca = readFileSync(server.serverCaPath!);
        for (const port of [server.mqtt.port, server.https!.port]) {
          assert.equal((await attempt(port, ca, refused)).ok, false);
          assert.equal((await attempt(port, ca, accepted)).ok, true);
        }
      } finally {
        await server.stop();
      }
    });
  }

  it('refuses versions outside 1.2–1.3, and a minimum above the maximum', () => {
    assert.throws(() => tlsProfile({ minVersion: 'TLSv1.1' }), /TLSv1\.1 is not allowed/);
    assert.throws(() => tlsProfile({ maxVersion: 'TLSv1' }), /TLSv1 is not allowed/);
    assert.throws(() => tlsProfile({ minVersion: 'TLSv1.3', maxVersion: 'TLSv1.2' }), /above the maximum/);
  });
});
