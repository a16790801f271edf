/**
 * The Rules page in a real browser (Debian Chromium) against a real server: the empty list says
 * what to do; a rule made in the editor is refused first for a webhook URL that is not http(s) and
 * then for a threshold of the wrong type, each message beside its field and nothing saved;
 * once saved, a device's telemetry fires it and the rule page shows the firing in its history
 * and the webhook's sent count, and the list page
 * shows the rules fired on a device. Screenshots: test-artifacts/screenshots/rules-*.png.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import type { Page } from 'playwright-core';

import { browserSkipReason, launchBrowser, signIn, type BrowserHarness } from './helpers/browser.js';
import { eventually } from './helpers/hub-harness.js';
import { prepareRules, ruleDevice, send, webhookReceiver } from './helpers/rules-fixtures.js';
import type { SasFleet } from './helpers/sas-device.js';
import { startTestServer, type TestServer } from './helpers/test-server.js';

const ADMIN_PASSWORD = 'rules-ui-password-1';

describe('web UI: rules', { skip: browserSkipReason(), concurrency: false }, () => {
  let server: TestServer;
  let browser: BrowserHarness;
  let page: Page;
  let fleet: SasFleet;
  let hook: Awaited<ReturnType<typeof webhookReceiver>>;
  let device: MqttClient | undefined;
  let ruleId = '';

  before(async () => {
    hook = await webhookReceiver();
    server = await startTestServer({ adminPassword: ADMIN_PASSWORD });
    fleet = await prepareRules(server);
    browser = await launchBrowser();
    ({ page } = await browser.newPage());
    await signIn(page, server.baseUrl, ADMIN_PASSWORD);
  });
  after(async () => {
    await device?.endAsync();
    await browser?.close();
    await server?.stop();
    await hook?.close();
  });

  it('the empty list says what a rule does, and the navigation leads to it', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Rules' }).click();
    await page.getByRole('heading', { level: 1, name: 'Rules' }).waitFor();
    await page.getByText('No rules yet').waitFor();
  });

  it('the editor shows each refusal beside its field and saves nothing until the rule is right', async () => {
    await page.goto(server.baseUrl + '/rules');
    await page.getByRole('button', { name: 'New rule' }).click();
    const form = page.getByRole('form', { name: 'New rule' });
    await form.getByLabel('Name', { exact: true }).fill('Too hot');
    await form.getByLabel('Device template').selectOption({ label: 'Rule sensor' });
    const condition = form.getByRole('group', { name: 'Condition 1' });
    await condition.getByLabel('Capability').fill('temperature');
    await condition.getByLabel('Operator').selectOption('>');
    await condition.getByLabel('Value').fill('hot');
    await form.getByRole('button', { name: 'Add action' }).click();
    const action = form.getByRole('group', { name: 'Action 1' });
    await action.getByLabel('Action name').fill('Ops hook');
    await action.getByLabel('Callback URL').fill('ftp://example.com/hook');
    await form.getByRole('button', { name: 'Save' }).click();

    // The body's shape is checked before the template: the URL is refused first.
    const urlError = action.getByRole('alert');
    await urlError.waitFor();
    assert.equal(await urlError.getAttribute('data-field'), 'actions[0].url');
    assert.match(
      await urlError.innerText(),
      /ERR_RULE_INVALID: actions\[0\]\.url: must be http or https, not ftp/,
    );
    await browser.screenshot(page, 'rules-refused-url');
    assert.deepEqual((await server.api('GET', '/api/rules')).body, { value: [] });

    await action.getByLabel('Callback URL').fill(hook.url);
    await form.getByRole('button', { name: 'Save' }).click();
    const valueError = condition.getByRole('alert');
    await valueError.waitFor();
    assert.equal(await valueError.getAttribute('data-field'), 'conditions.items[0].value');
    assert.match(await valueError.innerText(), /conditions\.items\[0\]\.value: must be a number/);
    assert.equal(await action.getByRole('alert').count(), 0, 'the fixed field no longer shows an error');
    assert.deepEqual((await server.api('GET', '/api/rules')).body, { value: [] });

    await condition.getByLabel('Value').fill('30');
    await form.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('heading', { level: 1, name: 'Too hot' }).waitFor();
    const list = await server.api<{ value: { id: string }[] }>('GET', '/api/rules');
    assert.equal(list.body.value.length, 1);
    ruleId = list.body.value[0]!.id;
    assert.match(ruleId, /^too-hot-[a-z0-9]+$/);
    const saved = await server.api<{ conditions: unknown; actions: unknown }>('GET', `/api/rules/${ruleId}`);
    assert.equal(saved.status, 200);
    assert.deepEqual(saved.body.conditions, {
      match: 'all',
      items: [{ type: 'telemetry', capability: 'temperature', operator: '>', value: 30 }],
    });
    assert.deepEqual(saved.body.actions, [
      { id: 'action-1', type: 'webhook', displayName: 'Ops hook', url: hook.url },
    ]);
    await page.getByText('This rule has not fired yet.').waitFor();
  });

  it('a firing shows in the rule history with the value and what the webhook did, and in the list', async () => {
    device = await ruleDevice(server, fleet, 'ui-rule-1');
    await send(device, 'ui-rule-1', { temperature: 35 });
    await eventually(() => hook.received.length === 1, 10_000);
    await page.reload();
    const row = page.getByRole('table', { name: 'Rule history' }).getByRole('row').nth(1);
    await row.waitFor();
    const text = await row.innerText();
    assert.match(text, /ui-rule-1/);
    assert.match(text, /temperature = 35/);
    assert.match(text, /action-1: sent/);
    const status = page.getByTestId('action-status-action-1');
    assert.match(await status.innerText(), /action-1\s+1\s+0\s+0/);
    await browser.screenshot(page, 'rules-history');

    await page.getByRole('link', { name: 'All rules' }).click();
    const listRow = page.getByTestId(`rule-row-${ruleId}`);
    await listRow.waitFor();
    assert.match(await listRow.innerText(), /temperature > 30/);
    assert.match(await listRow.innerText(), /Enabled/);

    const byDevice = page.getByRole('form', { name: 'Rules fired on a device' });
    await byDevice.getByLabel('Device ID').fill('ui-rule-1');
    await byDevice.getByRole('button', { name: 'Show' }).click();
    const deviceRow = page.getByRole('table', { name: 'Device rule history' }).getByRole('row').nth(1);
    await deviceRow.waitFor();
    assert.match(
      await deviceRow.innerText(),
      new RegExp(`${ruleId}[\\s\\S]*temperature = 35[\\s\\S]*action-1: sent`),
    );
    // A device no rule fired on, and one that does not exist (404 ERR_DEVICE_NOT_FOUND).
    assert.equal((await server.api('PUT', '/api/devices/never-fired', { displayName: 'Quiet' })).status, 200);
    await byDevice.getByLabel('Device ID').fill('never-fired');
    await byDevice.getByRole('button', { name: 'Show' }).click();
    await page.getByText('No rule has fired on this device.').waitFor();
    await byDevice.getByLabel('Device ID').fill('no-such-device');
    await byDevice.getByRole('button', { name: 'Show' }).click();
    await page.getByText(/no-such-device/).waitFor();
    assert.equal(await page.getByText('No rule has fired on this device.').count(), 0);
  });
});
