/**
 * The administration commands (`group`, `device`, `attempts`, `token`) as a user runs them:
 * the built binary against a real `gatehouse serve` process, then a device registering over
 * MQTT/TLS with what the commands set up.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readCertificate } from '@gatehouse/pki';
import {
  ADMIN_MAIN,
  closedPort,
  registerOverMqtt,
  run,
  startServe,
  stopServe,
  TOKEN,
  type Result,
  type Serve,
} from './helpers/admin-harness.js';

describe('gatehouse group / device / attempts / token against a running server', () => {
  let s: Serve;
  /** Where the test certificates are made, as a user would (`gatehouse cert …`). */
  let certs: string;
  /** `gatehouse <args>` run from the folder that holds gatehouse-data/ (the token is found there). */
  const admin = (...args: string[]): Promise<Result> =>
    run(ADMIN_MAIN, s.home, { GATEHOUSE_URL: s.url }, args);
  const cert = async (...args: string[]): Promise<void> => {
    const r = await run(ADMIN_MAIN, certs, {}, ['cert', ...args]);
    assert.equal(r.status, 0, r.stderr);
  };
  const api = async <T>(path: string): Promise<{ status: number; body: T }> => {
    const res = await fetch(`${s.url}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    return { status: res.status, body: (await res.json()) as T };
  };
  const ok = async (...args: string[]): Promise<string> => {
    const r = await admin(...args);
    assert.equal(r.status, 0, `gatehouse ${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr, '');
    return r.stdout;
  };
  const fails = async (...args: string[]): Promise<Result> => {
    const r = await admin(...args);
    assert.notEqual(r.status, 0, `gatehouse ${args.join(' ')} should fail: ${r.stdout}`);
    return r;
  };
  const file = (name: string): string => join(certs, name);

  before(async () => {
    s = await startServe();
    certs = mkdtempSync(join(tmpdir(), 'gatehouse-admin-certs-'));
    await cert('root');
    await cert('root', 'other');
    await cert('device', 'dev1', 'root');
    await cert('device', 'solo');
    await cert('root', 'unverified');
    await cert('device', 'stranger', 'unverified');
  });

  after(async () => {
    if (s) {
      await stopServe(s);
      rmSync(s.home, { recursive: true, force: true });
    }
    if (certs) rmSync(certs, { recursive: true, force: true });
  });

  describe('group create --x509 --verify-with: proof of possession in one command', () => {
    it('creates the group, uploads the root and verifies it; the server confirms', async () => {
      const out = await ok(
        'group',
        'create',
        'MyX509Group',
        '--x509',
        file('root_cert.pem'),
        '--verify-with',
        file('root_key.pem'),
      );
      const sha1 = readCertificate(readFileSync(file('root_cert.pem'))).sha1Thumbprint;
      assert.match(out, new RegExp(`^MyX509Group: primary certificate ${sha1} verified$`, 'm'));
      const entry = await api<{ verified: boolean; info: { sha1Thumbprint: string } }>(
        '/api/enrollmentGroups/MyX509Group/certificates/primary',
      );
      assert.equal(entry.status, 200);
      assert.equal(entry.body.verified, true);
      assert.equal(entry.body.info.sha1Thumbprint, sha1);
      const group = await api<{ displayName: string; type: string; attestation: { type: string } }>(
        '/api/enrollmentGroups/MyX509Group',
      );
      assert.equal(group.body.displayName, 'MyX509Group');
      assert.equal(group.body.type, 'iot');
      assert.equal(group.body.attestation.type, 'x509');
    });

    it('lets a device certificate issued by that root register over MQTT/TLS (DPS: 202, then assigned)', async () => {
      const reply = await registerOverMqtt(
        s,
        'dev1',
        readFileSync(file('dev1_cert.pem'), 'utf8'),
        readFileSync(file('dev1_key.pem'), 'utf8'),
      );
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      assert.equal(reply.body['status'], 'assigned');
      const state = reply.body['registrationState'] as Record<string, unknown>;
      assert.equal(state['deviceId'], 'dev1');
      assert.equal(typeof state['assignedHub'], 'string');

      const shown = await ok('device', 'show', 'dev1');
      assert.match(shown, /^Device dev1$/m);
      assert.match(shown, /Provisioned\s+yes/);
      assert.match(shown, new RegExp(`ID scope\\s+${s.idScope}`));
    });

    it('running it again changes nothing: the certificate is already verified', async () => {
      const out = await ok(
        'group',
        'create',
        'MyX509Group',
        '--x509',
        file('root_cert.pem'),
        '--verify-with',
        file('root_key.pem'),
      );
      assert.match(out, /primary certificate [0-9A-F]{40} verified \(already\)/);
    });

    it('refuses to replace an entry that holds another CA without --force (ERR_CLI_ENTRY_IN_USE)', async () => {
      const r = await fails('group', 'create', 'MyX509Group', '--x509', file('other_cert.pem'));
      assert.match(r.stderr, /^ERR_CLI_ENTRY_IN_USE: .*--force/);
      const entry = await api<{ verified: boolean }>(
        '/api/enrollmentGroups/MyX509Group/certificates/primary',
      );
      assert.equal(entry.body.verified, true, 'the verified root is untouched');
    });

    it('group list and group show report the verified certificate', async () => {
      const list = await ok('group', 'list');
      assert.match(list, /^ID\s+TYPE\s+ATTESTATION\s+ENABLED\s+CERTIFICATES$/m);
      assert.match(list, /^MyX509Group\s+iot\s+X\.509\s+yes\s+primary [0-9A-F]{8}… verified$/m);
      assert.match(list, /^SAS-IoT-Devices\s+iot\s+SAS\s+yes/m);
      const show = await ok('group', 'show', 'MyX509Group');
      assert.match(show, /Primary\s+[0-9A-F]{40} verified, CN=root/);
      assert.match(show, /Secondary\s+none/);
      const json = JSON.parse(await ok('group', 'show', 'MyX509Group', '--json')) as {
        attestation: { x509: { signingCertificates: { primary: { verified: boolean } } } };
      };
      assert.equal(json.attestation.x509.signingCertificates.primary.verified, true);
    });
  });

  describe('group create --x509 without the key: the code and the commands to finish', () => {
    it('prints the verification code and the `gatehouse cert verification` command; group verify finishes', async () => {
      const out = await ok('group', 'create', 'TwoStep', '--x509', file('other_cert.pem'));
      const code = /Verification code: ([0-9A-F]+)/.exec(out)?.[1];
      assert.ok(code, out);
      assert.match(
        out,
        new RegExp(
          `gatehouse cert verification --ca \\S*other_cert\\.pem --key <ca_key\\.pem> --nonce ${code}`,
        ),
      );
      assert.match(out, /NOT verified yet/);
      let entry = await api<{ verified: boolean }>('/api/enrollmentGroups/TwoStep/certificates/primary');
      assert.equal(entry.body.verified, false);

      await cert('verification', '--ca', 'other_cert.pem', '--key', 'other_key.pem', '--nonce', code);
      const verified = await ok('group', 'verify', 'TwoStep', file('verification_cert.pem'));
      assert.match(verified, /^TwoStep: primary certificate [0-9A-F]{40} verified$/m);
      entry = await api<{ verified: boolean }>('/api/enrollmentGroups/TwoStep/certificates/primary');
      assert.equal(entry.body.verified, true);
    });
  });

  describe('group create --sas', () => {
    it('creates a symmetric-key group and prints the generated keys', async () => {
      const out = await ok('group', 'create', 'MySasGroup', '--sas');
      const primary = /Primary key\s+(\S+)/.exec(out)?.[1];
      const secondary = /Secondary key\s+(\S+)/.exec(out)?.[1];
      const group = await api<{
        attestation: { type: string; symmetricKey: { primaryKey: string; secondaryKey: string } };
      }>('/api/enrollmentGroups/MySasGroup');
      assert.equal(group.body.attestation.type, 'symmetricKey');
      assert.equal(primary, group.body.attestation.symmetricKey.primaryKey);
      assert.equal(secondary, group.body.attestation.symmetricKey.secondaryKey);
    });

    it('takes the keys given, and prints JSON with --json', async () => {
      const k1 = Buffer.alloc(32, 1).toString('base64');
      const k2 = Buffer.alloc(32, 2).toString('base64');
      const out = await ok(
        'group',
        'create',
        'OwnKeys',
        '--sas',
        '--primary-key',
        k1,
        '--secondary-key',
        k2,
        '--json',
      );
      const json = JSON.parse(out) as {
        id: string;
        attestation: { symmetricKey: { primaryKey: string; secondaryKey: string } };
      };
      assert.equal(json.id, 'OwnKeys');
      assert.deepEqual(json.attestation.symmetricKey, { primaryKey: k1, secondaryKey: k2 });
    });

    it('refuses half a key pair, and --x509 with --sas, before calling the server', async () => {
      const half = await fails(
        'group',
        'create',
        'Half',
        '--sas',
        '--primary-key',
        Buffer.alloc(32).toString('base64'),
      );
      assert.match(half.stderr, /^ERR_CLI_INVALID_OPTION: --primary-key and --secondary-key go together/);
      const both = await fails('group', 'create', 'Both', '--sas', '--x509', file('root_cert.pem'));
      assert.match(both.stderr, /^ERR_CLI_INVALID_OPTION: /);
      const neither = await fails('group', 'create', 'Neither');
      assert.match(neither.stderr, /^ERR_CLI_MISSING_OPTION: .*--x509.*--sas/);
      assert.equal((await api('/api/enrollmentGroups/Half')).status, 404);
    });
  });

  describe('device create / show / attest', () => {
    it('creates a device with a display name; show prints it with its credentials', async () => {
      const out = await ok('device', 'create', 'thermo-1', '--name', 'Thermostat one');
      assert.match(out, /Device thermo-1 saved/);
      const device = await api<{ displayName: string; provisioned: boolean }>('/api/devices/thermo-1');
      assert.equal(device.status, 200);
      assert.equal(device.body.displayName, 'Thermostat one');
      assert.equal(device.body.provisioned, false);
      const show = await ok('device', 'show', 'thermo-1');
      assert.match(show, /Display name\s+Thermostat one/);
      assert.match(show, /Provisioned\s+no/);
      assert.match(show, /Primary key\s+\S+/, 'group-derived SAS keys, as the Connect dialog shows them');
      assert.match(show, /Last telemetry\s+none/);
      const json = JSON.parse(await ok('device', 'show', 'thermo-1', '--json')) as {
        device: { id: string };
        credentials: { idScope: string };
        lastTelemetry: unknown;
      };
      assert.equal(json.device.id, 'thermo-1');
      assert.equal(json.credentials.idScope, s.idScope);
      assert.equal(json.lastTelemetry, null);
    });

    it('device list shows every device with its status; --filter narrows it; a bad filter prints its code', async () => {
      const all = await ok('device', 'list');
      assert.match(all, /^ID\s+NAME\s+TEMPLATE\s+STATUS\s+LAST ACTIVITY$/m);
      assert.match(all, /^thermo-1\s+Thermostat one\s+-\s+registered\s+never$/m);
      const filtered = await ok('device', 'list', '--filter', "indexof(displayName,'Thermostat') ge 0");
      assert.match(filtered, /^thermo-1 /m);
      assert.equal(filtered.trim().split('\n').length, 2, 'the header and one device');
      const json = JSON.parse(await ok('device', 'list', '--filter', "id eq 'thermo-1'", '--json')) as {
        value: Array<{ id: string }>;
      };
      assert.deepEqual(
        json.value.map((d) => d.id),
        ['thermo-1'],
      );
      assert.match(
        await ok('device', 'list', '--filter', "id eq 'nobody'"),
        /^No device matches the filter\.$/m,
      );
      const bad = await fails('device', 'list', '--filter', 'colour eq 1');
      assert.match(bad.stderr, /^ERR_QUERY_INVALID: \$filter: unknown field 'colour'/);
    });

    it('attest --sas gives the device its own generated keys and prints them', async () => {
      const out = await ok('device', 'attest', 'thermo-1', '--sas');
      const primary = /Primary key\s+(\S+)/.exec(out)?.[1];
      const attestation = await api<{ type: string; symmetricKey: { primaryKey: string } }>(
        '/api/devices/thermo-1/attestation',
      );
      assert.equal(attestation.body.type, 'symmetricKey');
      assert.equal(primary, attestation.body.symmetricKey.primaryKey);
      assert.match(
        await ok('device', 'show', 'thermo-1'),
        new RegExp(`Primary key\\s+${primary?.replace(/[+/]/g, '\\$&')}`),
      );
    });

    it('attest --primary uploads a self-signed device certificate (CN = device ID)', async () => {
      const out = await ok('device', 'attest', 'solo', '--primary', file('solo_cert.pem'));
      const sha1 = readCertificate(readFileSync(file('solo_cert.pem'))).sha1Thumbprint;
      assert.match(out, new RegExp(`X\\.509 primary\\s+${sha1}`));
      const attestation = await api<{
        type: string;
        x509: { clientCertificates: { primary: { info: { sha1Thumbprint: string } } } };
      }>('/api/devices/solo/attestation');
      assert.equal(attestation.body.x509.clientCertificates.primary.info.sha1Thumbprint, sha1);
      assert.match(await ok('device', 'show', 'solo'), new RegExp(`X\\.509 primary\\s+${sha1}`));
    });

    it("prints the server's refusal first: a certificate whose CN is not the device ID", async () => {
      const r = await fails('device', 'attest', 'thermo-1', '--primary', file('solo_cert.pem'));
      assert.match(r.stderr, /^ERR_[A-Z_]+: .*solo.*thermo-1/);
    });

    it('needs --primary or --sas', async () => {
      const r = await fails('device', 'attest', 'thermo-1');
      assert.match(r.stderr, /^ERR_CLI_MISSING_OPTION: /);
    });
  });

  describe('attempts', () => {
    it('shows why a registration was refused: time, registration ID, code, message, newest first', async () => {
      // "unverified" is uploaded but never verified: a device under it must be refused.
      await ok('group', 'create', 'Unverified', '--x509', file('unverified_cert.pem'));
      const reply = await registerOverMqtt(
        s,
        'stranger',
        readFileSync(file('stranger_cert.pem'), 'utf8'),
        readFileSync(file('stranger_key.pem'), 'utf8'),
      );
      assert.equal(reply.status, 401, JSON.stringify(reply.body));

      let out = '';
      for (let i = 0; i < 40 && !/stranger/.test(out); i++) {
        out = await ok('attempts', '--id', 'stranger');
        if (!/stranger/.test(out)) await new Promise((r) => setTimeout(r, 100));
      }
      const lines = out.trimEnd().split('\n');
      assert.match(lines[0] ?? '', /^TIME\s+REGISTRATION ID\s+CODE\s+MESSAGE$/);
      assert.match(lines[1] ?? '', /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z\s+stranger\s+ERR_[A-Z0-9_]+\s+\S/);
      const json = JSON.parse(await ok('attempts', '--id', 'stranger', '--json')) as {
        value: Array<{ registrationId: string; reason: { code: string } }>;
      };
      assert.equal(json.value[0]?.registrationId, 'stranger');
      assert.ok(lines[1]?.includes(json.value[0]?.reason.code ?? '?'), 'the table shows the reason code');

      const none = await ok('attempts', '--id', 'nobody-at-all');
      assert.match(none, /No refused provisioning attempts for nobody-at-all/);
      const bad = await fails('attempts', '--limit', '0');
      assert.match(bad.stderr, /^ERR_CLI_INVALID_OPTION: --limit/);
    });
  });

  describe('token create', () => {
    it('prints the token once; it works as --token, with its role', async () => {
      const out = await ok('token', 'create', 'ci-builder', '--role', 'builder');
      const token = /^\s+(SharedAccessSignature \S+)$/m.exec(out)?.[1];
      assert.ok(token, out);
      assert.match(out, /Builder/);
      const list = await run(ADMIN_MAIN, tmpdir(), { GATEHOUSE_URL: s.url }, [
        'group',
        'list',
        '--token',
        token,
      ]);
      assert.equal(list.status, 0, list.stderr);
      assert.match(list.stdout, /MyX509Group/);
      const viaEnv = await run(ADMIN_MAIN, tmpdir(), { GATEHOUSE_URL: s.url, GATEHOUSE_TOKEN: token }, [
        'group',
        'list',
      ]);
      assert.equal(viaEnv.status, 0, viaEnv.stderr);
      // A Builder may not manage API tokens: the server's code comes first.
      const forbidden = await run(ADMIN_MAIN, tmpdir(), { GATEHOUSE_URL: s.url }, [
        'token',
        'create',
        'x',
        '--token',
        token,
      ]);
      assert.notEqual(forbidden.status, 0);
      assert.match(forbidden.stderr, /^ERR_FORBIDDEN: .*\(the token came from --token\)/);
    });

    it('refuses an unknown role as a usage error', async () => {
      const r = await fails('token', 'create', 'x', '--role', 'superuser');
      assert.match(r.stderr, /^ERR_CLI_USAGE: /);
    });
  });

  describe('refusals', () => {
    it("a key that is not the CA's: ERR_PKI_KEY_MISMATCH, nothing created or verified", async () => {
      const r = await fails(
        'group',
        'create',
        'WrongKey',
        '--x509',
        file('root_cert.pem'),
        '--verify-with',
        file('other_key.pem'),
      );
      assert.match(r.stderr, /^ERR_PKI_KEY_MISMATCH: /);
      assert.equal(r.stdout, '');
      const group = await api<{ error: { code: string } }>('/api/enrollmentGroups/WrongKey');
      assert.equal(group.status, 404);
      assert.equal(group.body.error.code, 'ERR_GROUP_NOT_FOUND');
    });

    it("a leaf given as --x509: the server's ERR_CERT_NOT_CA first, and no empty group left behind", async () => {
      const r = await fails(
        'group',
        'create',
        'LeafGroup',
        '--x509',
        file('dev1_cert.pem'),
        '--verify-with',
        file('dev1_key.pem'),
      );
      assert.match(r.stderr, /^ERR_CERT_NOT_CA: /);
      assert.equal((await api('/api/enrollmentGroups/LeafGroup')).status, 404);
    });

    it('an unreachable server: ERR_CLI_SERVER_UNREACHABLE with the URL', async () => {
      const port = await closedPort();
      const r = await run(ADMIN_MAIN, s.home, {}, ['group', 'list', '--url', `http://127.0.0.1:${port}`]);
      assert.equal(r.status, 1);
      assert.match(r.stderr, /^ERR_CLI_SERVER_UNREACHABLE: /);
      assert.ok(r.stderr.includes(`http://127.0.0.1:${port}`), r.stderr);
      assert.ok(r.stderr.includes('is `gatehouse serve` running?'), r.stderr);
      const json = await run(ADMIN_MAIN, s.home, { GATEHOUSE_URL: `http://127.0.0.1:${port}` }, [
        'attempts',
        '--json',
      ]);
      assert.equal(
        (JSON.parse(json.stderr) as { error: { code: string } }).error.code,
        'ERR_CLI_SERVER_UNREACHABLE',
      );
    });

    it('no token: ERR_CLI_NO_TOKEN says where it looked; --data and GATEHOUSE_DATA point elsewhere', async () => {
      const empty = mkdtempSync(join(tmpdir(), 'gatehouse-admin-empty-'));
      try {
        const r = await run(ADMIN_MAIN, empty, { GATEHOUSE_URL: s.url }, ['group', 'list']);
        assert.equal(r.status, 1);
        assert.match(r.stderr, /^ERR_CLI_NO_TOKEN: /);
        assert.ok(r.stderr.includes(join(empty, 'gatehouse-data', 'admin-token')), r.stderr);
        const withData = await run(ADMIN_MAIN, empty, { GATEHOUSE_URL: s.url }, [
          'group',
          'list',
          '--data',
          s.dataDir,
        ]);
        assert.equal(withData.status, 0, withData.stderr);
        const withEnv = await run(ADMIN_MAIN, empty, { GATEHOUSE_URL: s.url, GATEHOUSE_DATA: s.dataDir }, [
          'group',
          'list',
        ]);
        assert.equal(withEnv.status, 0, withEnv.stderr);
      } finally {
        rmSync(empty, { recursive: true, force: true });
      }
    });

    it("a wrong token: the server's ERR_UNAUTHENTICATED, naming where the token came from", async () => {
      const r = await fails('group', 'list', '--token', 'not-the-token');
      assert.match(r.stderr, /^ERR_UNAUTHENTICATED: .*--token/);
    });

    it("invalid IDs: the server's ERR_INVALID_ID", async () => {
      const group = await fails('group', 'create', 'bad_name', '--sas');
      assert.match(group.stderr, /^ERR_INVALID_ID: /);
      const device = await fails('device', 'create', 'bad id!');
      assert.match(device.stderr, /^ERR_INVALID_ID: /);
      const dots = await fails('device', 'show', '..');
      assert.match(dots.stderr, /^ERR_INVALID_ID: /);
      const token = await fails('token', 'create', 'no/slash');
      assert.match(token.stderr, /^ERR_INVALID_ID: /);
    });

    it('unknown resources and unreadable files keep their codes', async () => {
      assert.match((await fails('group', 'show', 'NoSuchGroup')).stderr, /^ERR_GROUP_NOT_FOUND: /);
      assert.match((await fails('device', 'show', 'no-such-device')).stderr, /^ERR_[A-Z_]*NOT_FOUND: /);
      const missing = await fails('group', 'create', 'NoFile', '--x509', file('missing_cert.pem'));
      assert.match(missing.stderr, /^ERR_CLI_READ_FILE: /);
      const notCert = await fails('group', 'create', 'NotCert', '--x509', file('root_key.pem'));
      assert.match(notCert.stderr, /^ERR_PKI_NOT_A_CERTIFICATE: /);
    });

    it('a --url that is not a URL: ERR_CLI_INVALID_OPTION', async () => {
      const r = await fails('group', 'list', '--url', 'localhost 3000');
      assert.match(r.stderr, /^ERR_CLI_INVALID_OPTION: --url/);
    });
  });
});
