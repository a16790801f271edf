/**
 * Device groups and jobs in a real browser (Debian Chromium) against a real server: the empty
 * pages say what to do; a group made in the New dialog (a bad filter first: the server's message
 * with the position shows beside the field) lists its devices; the device list is scoped to it;
 * a property job made in the UI runs in batches with live progress, is stopped and resumed; a
 * command job fails its offline devices and "Rerun failed devices" opens the rerun. No device
 * connects, so no fixed port is needed. Screenshots: test-artifacts/screenshots/jobs-*.png.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { browserSkipReason, launchBrowser, signIn, type BrowserHarness } from './helpers/browser.js';
import { startTestServer, type TestServer } from './helpers/test-server.js';

const ADMIN_PASSWORD = 'jobs-ui-password-1';
const SENSOR = 'dtmi:gatehouse:EnvironmentalSensor;1';

describe('web UI: device groups and jobs', { skip: browserSkipReason(), concurrency: false }, () => {
  let server: TestServer;
  let browser: BrowserHarness;
  let page: Page;

  before(async () => {
    server = await startTestServer({ adminPassword: ADMIN_PASSWORD, jobAckWaitMs: 1500 });
    for (const id of ['ui-lamp-1', 'ui-lamp-2', 'ui-lamp-3']) {
      assert.equal((await server.api('PUT', `/api/devices/${id}`, { template: SENSOR })).status, 200);
    }
    assert.equal((await server.api('PUT', '/api/devices/ui-other', {})).status, 200);
    browser = await launchBrowser();
    ({ page } = await browser.newPage());
    await signIn(page, server.baseUrl, ADMIN_PASSWORD);
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  const open = async (path: string, heading: string) => {
    await page.goto(server.baseUrl + path);
    await page.getByRole('heading', { level: 1, name: heading }).waitFor();
  };

  it('the empty pages say what to do next', async () => {
    await open('/device-groups', 'Device groups');
    await page.getByText('No device groups yet').waitFor();
    await open('/jobs', 'Jobs');
    await page.getByText('No jobs yet').waitFor();
    await browser.screenshot(page, 'jobs-empty');
  });

  it('a group from the New dialog: a bad filter is refused beside the field, then the group lists its devices', async () => {
    await open('/device-groups', 'Device groups');
    await page.getByRole('button', { name: 'New device group' }).click();
    const form = page.getByRole('form', { name: 'New device group' });
    await form.getByLabel('Name', { exact: true }).fill('Lamps');
    await form.getByLabel('Filter').fill('SELECT * FROM devices WHERE $tmplate = "x"');
    await form.getByRole('button', { name: 'Save' }).click();
    const alert = form.getByRole('alert');
    await alert.waitFor();
    assert.match(await alert.innerText(), /filter: unknown system field.* at position 29 \('\$tmplate'\)/);
    await form.getByLabel('Devices of the template').selectOption({ label: 'Environmental Sensor' });
    assert.equal(
      await form.getByLabel('Filter').inputValue(),
      `SELECT * FROM devices WHERE $template = "${SENSOR}"`,
    );
    await form.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('heading', { level: 1, name: 'Lamps' }).waitFor();
    for (const id of ['ui-lamp-1', 'ui-lamp-2', 'ui-lamp-3'])
      await page.getByTestId(`group-device-${id}`).waitFor();
    assert.equal(await page.getByTestId('group-device-ui-other').count(), 0);
    await browser.screenshot(page, 'jobs-group-page');
  });

  it('the device list is scoped to a group with the Device group select', async () => {
    await open('/devices', 'Devices');
    await page.getByTestId('device-row-ui-other').waitFor();
    await page.getByLabel('Device group').selectOption({ label: 'Lamps' });
    await page.getByTestId('device-row-ui-other').waitFor({ state: 'detached' });
    await page.getByTestId('device-row-ui-lamp-1').waitFor();
  });

  it('the dashboard is scoped to a group with the Device group select (tiles show only its devices)', async () => {
    const current = await server.api<{ etag: string }>('GET', '/api/dashboards/default');
    const put = await server.api('PUT', '/api/dashboards/default', {
      displayName: 'Dashboard',
      etag: current.body.etag,
      tiles: [
        {
          id: 'lkv',
          title: 'Last temperature',
          type: 'lastKnownValue',
          x: 0,
          y: 0,
          width: 6,
          height: 2,
          configuration: { devices: ['ui-lamp-1', 'ui-other'], telemetry: ['temp'] },
        },
      ],
    });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    await open('/dashboard', 'Dashboard');
    await page.getByTestId('lkv-lkv-ui-other-temp').waitFor();
    await page.getByLabel('Device group').selectOption({ label: 'Lamps' });
    await page.getByTestId('lkv-lkv-ui-other-temp').waitFor({ state: 'detached' });
    await page.getByTestId('lkv-lkv-ui-lamp-1-temp').waitFor();
    await browser.screenshot(page, 'jobs-dashboard-scoped');
  });

  it('a property job in batches with live progress: stopped, resumed, completed with the devices pending their acknowledgement', async () => {
    await open('/jobs', 'Jobs');
    await page.getByRole('button', { name: 'New job' }).click();
    const form = page.getByRole('form', { name: 'New job' });
    await form.getByLabel('Name', { exact: true }).fill('Dim');
    await form.getByLabel('Device group').selectOption({ label: 'Lamps' });
    // The template comes from the group's devices.
    await page.waitForFunction(
      () =>
        (
          globalThis as unknown as { document: { querySelector(s: string): { value: string } | null } }
        ).document.querySelector('select[aria-label="Device template"]')?.value !== '',
    );
    await form.getByLabel('Property').selectOption({ value: 'brightness' });
    await form.getByLabel('Value').fill('"very"');
    await form.getByRole('button', { name: 'Run job' }).click();
    const alert = form.getByRole('alert');
    await alert.waitFor();
    assert.match(await alert.innerText(), /data\[0\]\.value: property 'brightness'/);
    await form.getByLabel('Value').fill('2');
    await form.getByLabel('Batches (optional)').fill('1');
    await form.getByRole('button', { name: 'Run job' }).click();
    await page.getByRole('heading', { level: 1, name: 'Dim' }).waitFor();
    await page.getByRole('button', { name: 'Stop' }).click();
    await page.getByTestId('job-status').filter({ hasText: 'Stopped' }).waitFor();
    await browser.screenshot(page, 'jobs-stopped');
    await page.getByRole('button', { name: 'Resume' }).click();
    await page.getByTestId('job-status').filter({ hasText: 'Completed' }).waitFor({ timeout: 20_000 });
    assert.equal(await page.getByTestId('job-progress').innerText(), '0 completed, 0 failed, 3 pending of 3');
    await page.getByTestId('job-device-ui-lamp-3').getByText('Pending').waitFor();
  });

  it('a command job fails the offline devices; Rerun failed devices opens the rerun', async () => {
    await open('/jobs?group=lamps-x', 'Jobs');
    // ?group= opens the dialog; this group does not exist, so choose the real one.
    const form = page.getByRole('form', { name: 'New job' });
    await form.getByLabel('Name', { exact: true }).fill('Blink');
    await form.getByLabel('Device group').selectOption({ label: 'Lamps' });
    await form.getByLabel('Job type').selectOption({ value: 'command' });
    await form.getByLabel('Device template').selectOption({ value: SENSOR });
    await form.getByLabel('Command').selectOption({ value: 'blink' });
    await form.getByLabel('Request payload').fill('2');
    await form.getByRole('button', { name: 'Run job' }).click();
    await page.getByRole('heading', { level: 1, name: 'Blink' }).waitFor();
    await page.getByTestId('job-status').filter({ hasText: 'Completed' }).waitFor();
    assert.equal(await page.getByTestId('job-progress').innerText(), '0 completed, 3 failed, 0 pending of 3');
    assert.match(await page.getByTestId('job-device-ui-lamp-1').innerText(), /Failed\s+ERR_DEVICE_OFFLINE/);
    await browser.screenshot(page, 'jobs-command-failed');
    await page.getByRole('button', { name: 'Rerun failed devices' }).click();
    await page.getByText('rerun of').waitFor();
    await page.getByTestId('job-status').filter({ hasText: 'Completed' }).waitFor();
    await open('/jobs', 'Jobs');
    const rows = page.getByRole('table', { name: 'Jobs' }).locator('tbody tr');
    // The list loads after the heading shows: wait for its rows before counting them.
    await rows.nth(2).waitFor();
    assert.equal(await rows.count(), 3);
  });
});
