/**
 * Revocation in the web UI (real Chromium, real server, OpenSSL CRLs): an X.509 group's page
 * uploads the CRL of its CA (PEM and DER), lists the revoked serials, shows a refused CRL's code
 * beside the upload with nothing changed, and the certificates page flags the revoked
 * certificate. Screenshots go to test-artifacts/screenshots/revocation-*.png.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { createDeviceCertificate, createIntermediateCa, createRootCa, type Issued } from '@gatehouse/pki';
import type { Page } from 'playwright-core';

import { browserSkipReason, launchBrowser, signIn, type BrowserHarness } from './helpers/browser.js';
import { opensslCa, type OpensslCa } from './helpers/openssl-ca.js';
import { base64Pem, tempDir } from './helpers/pki-files.js';
import { startTestServer, type TestServer } from './helpers/test-server.js';

const ADMIN_PASSWORD = 'revocation-ui-password-1';

const skip = process.env['GATEHOUSE_REQUIRE_BROWSER'] === '1' ? undefined : browserSkipReason();

describe('web UI: revocation', { skip, concurrency: false }, () => {
  let server: TestServer;
  let browser: BrowserHarness;
  let page: Page;
  let dir: string;
  let root: Issued;
  let intermediate: Issued;
  let device: Issued;
  let ca: OpensslCa;

  before(async () => {
    server = await startTestServer({ adminPassword: ADMIN_PASSWORD });
    dir = await tempDir('gatehouse-ui-revocation-');
    root = await createRootCa({ commonName: 'ui-revocation-root' });
    intermediate = await createIntermediateCa({ commonName: 'ui-revocation-intermediate', issuer: root });
    device = await createDeviceCertificate({ commonName: 'ui-revoked-device', issuer: root });
    ca = await opensslCa(root);
    for (const [id, issued] of [
      ['UiRootGroup', root],
      ['UiIntermediateGroup', intermediate],
    ] as const) {
      await server.api('PUT', `/api/enrollmentGroups/${id}`, {
        displayName: id,
        type: 'iot',
        attestation: { type: 'x509' },
      });
      const up = await server.api('PUT', `/api/enrollmentGroups/${id}/certificates/primary`, {
        certificate: base64Pem(issued.certificate),
        verified: true,
      });
      assert.equal(up.status, 200);
    }
    // The device certificate enrolled on its own: the certificates page lists it.
    const enrolled = await server.api('PUT', '/api/devices/ui-revoked-device/attestation', {
      type: 'x509',
      x509: { clientCertificates: { primary: { certificate: base64Pem(device.certificate) } } },
    });
    assert.equal(enrolled.status, 200, JSON.stringify(enrolled.body));
    browser = await launchBrowser();
    ({ page } = await browser.newPage());
    await signIn(page, server.baseUrl, ADMIN_PASSWORD);
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('the group page starts with no revoked certificates', async () => {
    await page.goto(`${server.baseUrl}/connection/groups/UiRootGroup`);
    const panel = page.getByLabel('Revocation');
    await panel.getByText('No revoked certificates.').waitFor();
  });

  it('a CRL of another CA is refused beside the upload, and nothing is listed', async () => {
    const other = await (await opensslCa(await createRootCa({ commonName: 'ui-other' }))).crl();
    const file = join(dir, 'other.crl');
    await writeFile(file, other);
    await page.getByLabel('Upload CRL').setInputFiles(file);
    await page.getByText(/ERR_CRL_WRONG_ISSUER/).waitFor();
    assert.equal(await page.getByText('No revoked certificates.').count(), 1);
  });

  it('uploading the DER CRL of the group CA lists the revoked serials', async () => {
    await ca.revoke(device.certificate);
    await ca.revoke(intermediate.certificate);
    const file = join(dir, 'root.der');
    await writeFile(file, await ca.crl({ der: true }));
    await page.getByLabel('Upload CRL').setInputFiles(file);
    const table = page.getByRole('table', { name: 'Revoked certificates' });
    await table.waitFor();
    const text = await table.innerText();
    for (const c of [device.certificate, intermediate.certificate]) {
      assert.ok(text.includes(c.serialNumber.replace(/^0+/, '')), `${c.serialNumber} listed: ${text}`);
    }
    await browser.screenshot(page, 'revocation-group');
  });

  it('a PEM CRL uploads too', async () => {
    const file = join(dir, 'root.pem');
    await writeFile(file, await ca.crl());
    await page.getByLabel('Upload CRL').setInputFiles(file);
    await page.getByRole('table', { name: 'Revoked certificates' }).getByRole('row').nth(2).waitFor();
    assert.equal(await page.getByText(/ERR_CRL/).count(), 0);
  });

  it('the certificates page flags the revoked intermediate CA and device certificate', async () => {
    await page.goto(`${server.baseUrl}/certificates`);
    const table = page.getByRole('table', { name: 'Certificates' });
    await table.waitFor();
    const rowOf = (subjectPart: string) => table.getByRole('row').filter({ hasText: subjectPart });
    await rowOf('ui-revocation-intermediate').getByText('Revoked', { exact: true }).waitFor();
    await rowOf('ui-revoked-device').getByText('Revoked', { exact: true }).waitFor();
    assert.equal(await rowOf('CN=ui-revocation-root').getByText('Revoked', { exact: true }).count(), 0);
    await page.getByText('2 revoked').waitFor();
    await browser.screenshot(page, 'revocation-certificates');
  });
});
