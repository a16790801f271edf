/**
 * Hub CONNECT authentication over real TLS (PROTOCOL.md §3.1, §3.8, §7.2): thumbprint and
 * CA-signed devices get CONNACK 0; everything else CONNACK 5 (client id ≠ device ID: 2), with
 * the reason in the log. One connection per device; disabling a device closes its connection.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { createDeviceCertificate, createIntermediateCa, createRootCa, type Issued } from '@gatehouse/pki';

import {
  closed,
  connackCode,
  connectDevice,
  createHubPki,
  eventually,
  insertDevice,
  insertGroupCa,
  selfSigned,
  startHub,
  type HubHarness,
  type HubPki,
} from './helpers/hub-harness.js';

describe('hub: device authentication', () => {
  let pki: HubPki;
  let h: HubHarness;
  let root: Issued;
  let intermediate: Issued;
  let unverifiedRoot: Issued;

  before(async () => {
    pki = await createHubPki();
    h = await startHub(pki);
    root = await createRootCa({ commonName: 'hub-auth-root' });
    intermediate = await createIntermediateCa({ commonName: 'hub-auth-intermediate', issuer: root });
    unverifiedRoot = await createRootCa({ commonName: 'hub-auth-unverified' });
    await insertGroupCa(h, 'verified-group', root, true);
    await insertGroupCa(h, 'unverified-group', unverifiedRoot, false);
  });

  after(async () => {
    await h.destroy();
  });

  function refusals(): string[] {
    return h.log.lines.filter((l) => l['msg'] === 'hub connection refused').map((l) => String(l['reason']));
  }

  it('accepts a self-signed device by its SHA-1 thumbprint', async () => {
    const cert = await selfSigned('thumb-sha1');
    await insertDevice(h, 'thumb-sha1', { primary: cert, thumbprints: 'sha1' });
    const client = await connectDevice(h, pki, 'thumb-sha1', { identity: cert });
    assert.ok(h.hub.isConnected('thumb-sha1'));
    await client.endAsync();
  });

  it('accepts the secondary certificate by its SHA-256 thumbprint, stored lower-case with colons', async () => {
    const primary = await selfSigned('thumb-sha256');
    const secondary = await selfSigned('thumb-sha256');
    await insertDevice(h, 'thumb-sha256', { primary, secondary, thumbprints: 'sha256', colonCase: true });
    const client = await connectDevice(h, pki, 'thumb-sha256', { identity: secondary });
    await client.endAsync();
  });

  it('accepts a CA-signed device whose chain reaches a verified group certificate', async () => {
    const leaf = await createDeviceCertificate({
      commonName: 'ca-device',
      issuer: intermediate,
      issuerChain: intermediate.chain,
    });
    await insertDevice(h, 'ca-device', { authType: 'x509CA' });
    const client = await connectDevice(h, pki, 'ca-device', { identity: leaf, fullChain: true });
    await client.endAsync();
  });

  it('refuses an unknown device with CONNACK 5', async () => {
    const cert = await selfSigned('nobody');
    assert.equal(await connackCode(connectDevice(h, pki, 'nobody', { identity: cert })), 5);
    assert.ok(refusals().includes('unknown device'));
  });

  it('refuses a disabled device with CONNACK 5', async () => {
    const cert = await selfSigned('disabled-dev');
    await insertDevice(h, 'disabled-dev', { primary: cert, enabled: false });
    assert.equal(await connackCode(connectDevice(h, pki, 'disabled-dev', { identity: cert })), 5);
    assert.ok(refusals().includes('device is disabled'));
  });

  it('refuses a certificate whose thumbprint does not match with CONNACK 5', async () => {
    const enrolled = await selfSigned('mismatch-dev');
    const other = await selfSigned('mismatch-dev');
    await insertDevice(h, 'mismatch-dev', { primary: enrolled, thumbprints: 'both' });
    assert.equal(await connackCode(connectDevice(h, pki, 'mismatch-dev', { identity: other })), 5);
    assert.ok(refusals().some((r) => r.startsWith('x509: certificate thumbprint')));
  });

  it('refuses a CA-signed leaf whose CN is not the device ID with CONNACK 5', async () => {
    const leaf = await createDeviceCertificate({ commonName: 'someone-else', issuer: root });
    await insertDevice(h, 'cn-dev', { authType: 'x509CA' });
    assert.equal(await connackCode(connectDevice(h, pki, 'cn-dev', { identity: leaf, fullChain: true })), 5);
    assert.ok(refusals().some((r) => r.includes("CN 'someone-else' is not the device ID")));
  });

  it('refuses a leaf issued by a CA that is not verified with CONNACK 5', async () => {
    const leaf = await createDeviceCertificate({ commonName: 'unverified-dev', issuer: unverifiedRoot });
    await insertDevice(h, 'unverified-dev', { authType: 'x509CA' });
    assert.equal(
      await connackCode(connectDevice(h, pki, 'unverified-dev', { identity: leaf, fullChain: true })),
      5,
    );
    assert.ok(refusals().some((r) => r.includes('does not reach a verified CA')));
  });

  it('refuses a connection without a certificate (and a SAS password when no SAS authenticator is configured) with CONNACK 5', async () => {
    const cert = await selfSigned('nocert-dev');
    await insertDevice(h, 'nocert-dev', { primary: cert });
    assert.equal(await connackCode(connectDevice(h, pki, 'nocert-dev')), 5);
    assert.equal(
      await connackCode(
        connectDevice(h, pki, 'nocert-dev', { password: 'SharedAccessSignature sr=x&sig=y&se=1' }),
      ),
      5,
    );
    assert.ok(refusals().some((r) => r.startsWith('no credentials')));
    assert.ok(
      refusals().some((r) =>
        r.startsWith('a SAS token was presented, but no SAS authenticator is configured'),
      ),
    );
  });

  it('refuses a client id that is not the device ID with CONNACK 2', async () => {
    const cert = await selfSigned('clientid-dev');
    await insertDevice(h, 'clientid-dev', { primary: cert });
    assert.equal(
      await connackCode(connectDevice(h, pki, 'clientid-dev', { identity: cert, clientId: 'other-id' })),
      2,
    );
  });

  it('keeps one connection per device: a second connection closes the first', async () => {
    const cert = await selfSigned('twice-dev');
    await insertDevice(h, 'twice-dev', { primary: cert });
    const first = await connectDevice(h, pki, 'twice-dev', { identity: cert });
    const firstClosed = closed(first);
    const second = await connectDevice(h, pki, 'twice-dev', { identity: cert });
    await firstClosed;
    assert.ok(second.connected);
    assert.ok(h.hub.isConnected('twice-dev'));
    const events: string[] = [];
    const unsubscribe = h.hub.subscribe((e) => events.push(e.type), 'twice-dev');
    await second.endAsync();
    await eventually(() => !h.hub.isConnected('twice-dev'));
    await eventually(() => events.includes('disconnected'));
    unsubscribe();
  });

  it('closes the live connection when the device is disabled, and refuses it afterwards', async () => {
    const cert = await selfSigned('block-dev');
    await insertDevice(h, 'block-dev', { primary: cert });
    const client = await connectDevice(h, pki, 'block-dev', { identity: cert });
    const done = closed(client);
    const device = await h.hub.patchDevice('block-dev', { enabled: false });
    assert.equal(device.enabled, false);
    await done;
    assert.equal(h.hub.isConnected('block-dev'), false);
    assert.equal(await connackCode(connectDevice(h, pki, 'block-dev', { identity: cert })), 5);
  });
});
