/**
 * The audit log page in a real browser (Debian Chromium) against a real server: a change made
 * in the UI and one made over REST are both listed with their actor, the object before and
 * after an update is shown, the filters narrow the list, and older entries page in.
 * Screenshot: test-artifacts/screenshots/audit-log.png.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';

import { browserSkipReason, launchBrowser, signIn, type BrowserHarness } from './helpers/browser.js';
import { startTestServer, type TestServer } from './helpers/test-server.js';

const ADMIN_PASSWORD = 'audit-ui-password-1';

describe('web UI: audit log', { skip: browserSkipReason(), concurrency: false }, () => {
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

  const table = () => page.getByRole('table', { name: 'Audit log' });
  /** Waits until the table's row count satisfies `ok` (the page loads asynchronously). */
  const rowsUntil = async (ok: (n: number) => boolean) => {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const n = await table().locator('tbody tr').count();
      if (ok(n)) return n;
      if (Date.now() > deadline) throw new Error(`the audit table has ${n} rows`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const openAuditLog = async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Audit log' }).click();
    await page.getByRole('heading', { level: 1, name: 'Audit log' }).waitFor();
    await table().waitFor();
  };

  it('lists a change just made in the UI and one made over REST, with before and after', async () => {
    // In the UI: add a user on the Users page.
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Users' }).click();
    const form = page.getByRole('form', { name: 'Add user' });
    await form.getByLabel('E-mail (user name)').fill('carol@example.com');
    await form.getByLabel('Password').fill('carol-password-1');
    await form.getByRole('button', { name: 'Add user' }).click();
    await page.getByRole('table', { name: 'Users' }).getByText('carol@example.com').waitFor();
    // Over REST with the administrator token: a device made, then renamed.
    assert.equal(
      (await server.api('PUT', '/api/devices/freezer-7', { displayName: 'Freezer 7' })).status,
      200,
    );
    assert.equal(
      (await server.api('PATCH', '/api/devices/freezer-7', { displayName: 'Freezer Seven' })).status,
      200,
    );

    await openAuditLog();
    const userRow = table().getByRole('row').filter({ hasText: 'carol@example.com' });
    await userRow.first().waitFor();
    assert.match(await userRow.first().innerText(), /admin[\s\S]*User[\s\S]*created[\s\S]*user/);
    const signedIn = table().getByRole('row').filter({ hasText: 'signedIn' });
    assert.ok((await signedIn.count()) >= 1, 'the sign-in is listed');

    const update = table().getByRole('row').filter({ hasText: 'updated' }).filter({ hasText: 'freezer-7' });
    assert.match(
      await update.innerText(),
      /API token[\s\S]*updated[\s\S]*Freezer Seven[\s\S]*PATCH \/api\/devices\/freezer-7/,
    );
    assert.match(await update.locator('summary').innerText(), /changed: displayName/);
    await update.locator('summary').click();
    const beforeText = await update.getByLabel('Before').innerText();
    const afterText = await update.getByLabel('After').innerText();
    assert.match(beforeText, /"displayName": "Freezer 7"/);
    assert.match(afterText, /"displayName": "Freezer Seven"/);
    await browser.screenshot(page, 'audit-log');
  });

  it('filters by resource type and action, and pages in older entries', async () => {
    for (let i = 0; i < 30; i++) {
      const res = await server.api('PUT', `/api/deviceGroups/bulk-${i}`, {
        displayName: `Bulk ${i}`,
        filter: 'SELECT * FROM devices',
      });
      assert.equal(res.status, 200);
    }
    await page.reload();
    await table().waitFor();
    const filters = page.getByRole('form', { name: 'Audit log filters' });
    await filters.getByLabel('Resource type').selectOption('device');
    await filters.getByLabel('Action').selectOption('updated');
    await filters.getByRole('button', { name: 'Apply filters' }).click();
    await rowsUntil((n) => n === 1);
    assert.match(await table().locator('tbody tr').innerText(), /freezer-7/);

    await filters.getByRole('button', { name: 'Clear' }).click();
    await rowsUntil((n) => n === 25);
    await page.getByRole('button', { name: 'Older entries' }).click();
    await rowsUntil((n) => n > 25);
    // The oldest change (the user added in the UI) is now on the page, below the newest.
    const rows = await table().locator('tbody tr').allInnerTexts();
    assert.match(rows[0] ?? '', /Bulk 29/);
    assert.ok(rows.some((r) => r.includes('carol@example.com')));
  });
});
