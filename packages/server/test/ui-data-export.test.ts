/**
 * The Data export page in a real browser (Debian Chromium) against a real server and a real
 * receiver on loopback: the empty page says what to do; a destination and an export made in the
 * dialogs (a bad URL and a bad filter first: the server's message naming the field shows in the
 * dialog) are listed with their status; "Send a test message" reaches the receiver; with the
 * receiver down while a real device sends, the export shows the error in words and a backlog
 * of 3. Screenshots:
 * test-artifacts/screenshots/data-export-*.png.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import type { Page } from 'playwright-core';

import { browserSkipReason, launchBrowser, signIn, type BrowserHarness } from './helpers/browser.js';
import { sasFleet } from './helpers/sas-device.js';
import { startTestServer, type TestServer } from './helpers/test-server.js';
import { startWebhookReceiver, type WebhookReceiver } from './helpers/webhook-receiver.js';

const ADMIN_PASSWORD = 'export-ui-password-1';

describe('web UI: data export', { skip: browserSkipReason(), concurrency: false }, () => {
  let server: TestServer;
  let browser: BrowserHarness;
  let page: Page;
  let hook: WebhookReceiver;

  before(async () => {
    server = await startTestServer({ adminPassword: ADMIN_PASSWORD });
    hook = await startWebhookReceiver();
    browser = await launchBrowser();
    ({ page } = await browser.newPage());
    await signIn(page, server.baseUrl, ADMIN_PASSWORD);
  });
  after(async () => {
    await browser?.close();
    await hook?.close();
    await server?.stop();
  });

  const open = async () => {
    await page.goto(server.baseUrl + '/data-export');
    await page.getByRole('heading', { level: 1, name: 'Data export' }).waitFor();
  };

  it('the empty page says what to do, and the navigation leads to it', async () => {
    await page.goto(server.baseUrl + '/dashboard');
    await page.getByRole('link', { name: 'Data export' }).click();
    await page.getByRole('heading', { level: 1, name: 'Data export' }).waitFor();
    await page.getByText('No exports yet').waitFor();
    await page.getByText('No destinations yet').waitFor();
  });

  it('creates a destination (a non-http URL refused first) and sends a test message', async () => {
    await open();
    await page.getByRole('button', { name: 'New destination' }).click();
    const form = page.getByRole('form', { name: 'New destination' });
    await form.getByLabel('Name').fill('Receiver');
    await form.getByLabel('Callback URL').fill('ftp://example.com/hook');
    await form.getByRole('button', { name: 'Save' }).click();
    const alert = form.getByRole('alert');
    await alert.waitFor();
    assert.match(await alert.innerText(), /url: must be an http:\/\/ or https:\/\/ URL/);
    await form.getByLabel('Callback URL').fill(hook.url);
    await form.getByLabel(/Authorization header/).fill('Bearer ui-secret');
    await form.getByRole('button', { name: 'Save' }).click();
    const row = page.locator('[data-testid^="destination-row-receiver-"]');
    await row.waitFor();
    await row.getByText('waiting').waitFor();
    await row.getByRole('button', { name: 'Send a test message' }).click();
    await page
      .getByRole('status')
      .getByText(/A test message was delivered to receiver-/)
      .waitFor();
    assert.equal(hook.received.at(-1)?.headers['authorization'], 'Bearer ui-secret');
  });

  it('creates an export (a bad filter refused first) and shows its status, error and backlog', async () => {
    await open();
    await page.getByRole('button', { name: 'New export' }).click();
    const form = page.getByRole('form', { name: 'New export' });
    await form.getByLabel('Name').fill('Telemetry out');
    await form.getByLabel('Filter (optional)').fill('SELECT * FROM devices WHERE');
    await form.getByRole('button', { name: 'Save' }).click();
    const alert = form.getByRole('alert');
    await alert.waitFor();
    assert.match(await alert.innerText(), /filter: .*position/);
    await form.getByLabel('Filter (optional)').fill('');
    await form.getByRole('button', { name: 'Save' }).click();
    const row = page.locator('[data-testid^="export-row-telemetry-out-"]');
    await row.waitFor();
    await row.getByText('healthy').waitFor();
    await browser.screenshot(page, 'data-export-healthy');
    // Receiver down, messages stored: the page shows the failure in words and the backlog.
    await hook.down();
    const group = await server.api<{ attestation: { symmetricKey: { primaryKey: string } } }>(
      'GET',
      '/api/enrollmentGroups/SAS-IoT-Devices',
    );
    const device = await sasFleet(server, group.body.attestation.symmetricKey.primaryKey).connect('ui-dev');
    for (let i = 0; i < 3; i++) {
      await device.publishAsync('devices/ui-dev/messages/events/', JSON.stringify({ temperature: i }), {
        qos: 1,
      });
    }
    device.end(true);
    await row.getByText('error').waitFor({ timeout: 15_000 });
    await row
      .getByTestId('export-error')
      .getByText(/connection refused/)
      .waitFor();
    assert.equal(await row.getByTestId('backlog').innerText(), '3');
    await browser.screenshot(page, 'data-export-error');
    await hook.up();
    await row.getByText('healthy').waitFor({ timeout: 20_000 });
  });
});
