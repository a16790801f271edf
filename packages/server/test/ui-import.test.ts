/**
 * Administration → Import in a real browser (Debian Chromium) against a real server: upload an
 * IoT Hub export, see the dry-run plan (nothing changed), import it; a file with a bad record
 * shows the refusal with its file and line and imports nothing. Screenshots go to
 * test-artifacts/screenshots/import-*.png.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { browserSkipReason, launchBrowser, signIn, type BrowserHarness } from './helpers/browser.js';
import { FIXTURES } from './helpers/import-fixtures.js';
import { startTestServer, type TestServer } from './helpers/test-server.js';

const ADMIN_PASSWORD = 'import-ui-password-1';

describe('web UI: import from Azure', { skip: browserSkipReason(), concurrency: false }, () => {
  let server: TestServer;
  let browser: BrowserHarness;
  let page: Page;

  before(async () => {
    server = await startTestServer({ adminPassword: ADMIN_PASSWORD });
    browser = await launchBrowser();
    ({ page } = await browser.newPage());
    await signIn(page, server.baseUrl, ADMIN_PASSWORD);
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  const deviceIds = async () =>
    (await server.db.selectFrom('devices').select('id').execute()).map((r) => r.id).sort();

  it('checks a hub export (dry run), then imports it', async () => {
    await page.goto(server.baseUrl + '/import');
    await page.getByRole('heading', { level: 1, name: 'Import from Azure' }).waitFor();
    const form = page.getByRole('form', { name: 'Import files' });
    await form.getByLabel('Format').selectOption('hub');
    await form.getByLabel('Files').setInputFiles(join(FIXTURES, 'hub-export.jsonl'));
    await form.getByRole('button', { name: 'Check (dry run)' }).click();
    const status = page.getByRole('status');
    await status.getByText(/Dry run: nothing was changed\. 4 created/).waitFor();
    const plan = page.getByRole('table', { name: 'Import plan' });
    assert.match(await plan.innerText(), /thermostat-01\s+hub-export\.jsonl:1/);
    assert.deepEqual(await deviceIds(), [], 'the dry run changed nothing');
    await browser.screenshot(page, 'import-dry-run');
    await form.getByRole('button', { name: 'Import', exact: true }).click();
    await status.getByText(/Imported\. 4 created/).waitFor();
    assert.deepEqual(await deviceIds(), ['camera-07', 'gateway-12', 'meter-33', 'thermostat-01']);
  });

  it('a bad record is shown with its file and line, and nothing is imported', async () => {
    await page.goto(server.baseUrl + '/import');
    const form = page.getByRole('form', { name: 'Import files' });
    await form.getByLabel('Files').setInputFiles({
      name: 'bad.jsonl',
      mimeType: 'application/json',
      buffer: Buffer.from(
        '{"id":"fine","authentication":{"type":"none"}}\n{"id":"x","authentication":{"type":"tpm"}}\n',
      ),
    });
    await form.getByRole('button', { name: 'Check (dry run)' }).click();
    const plan = page.getByRole('table', { name: 'Import plan' });
    await plan.getByText('ERR_IMPORT_AUTH_TYPE', { exact: false }).waitFor();
    assert.match(await plan.innerText(), /bad\.jsonl:2/);
    assert.equal(await form.getByRole('button', { name: 'Import', exact: true }).isDisabled(), true);
    await browser.screenshot(page, 'import-refused');
    assert.ok(!(await deviceIds()).includes('fine'));
  });
});
