/**
 * The device pages and the dashboard in a real browser (Debian Chromium) against a real
 * server: the how-to's individual-enrollment journey through the Connect dialog with
 * self-signed certificates from the real CLI and a device on the real Azure SDK whose
 * telemetry reaches the Overview chart and a dashboard line chart within a second; a writable
 * property set in the UI acknowledged by the device; a command answered; a refused device's
 * reason on the Refusals tab; bad input (a property of the wrong type, a payload that is not
 * JSON) shown beside its field with nothing changed. The Azure SDK only speaks to 8883 and
 * 443, so this file holds both locks (8883 first, STYLE.md §8). Screenshots go to
 * test-artifacts/screenshots/devices-*.png.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { isDeepStrictEqual } from 'node:util';
import { after, before, describe, it } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { runAzureProvision } from './helpers/azure-device.js';
import { AzureHubDevice } from './helpers/azure-hub.js';
import { browserSkipReason, launchBrowser, signIn, type BrowserHarness } from './helpers/browser.js';
import { tempDir } from './helpers/pki-files.js';
import { withPortLock } from './helpers/port-lock.js';
import { startTestServer, type TestServer } from './helpers/test-server.js';

/** The page's document, in functions that run in the browser (this package has no DOM types). */
declare const document: {
  querySelector(
    selector: string,
  ): { getAttribute(name: string): string | null; textContent: string | null } | null;
  documentElement: { scrollWidth: number };
};

const ADMIN_PASSWORD = 'devices-ui-password-1';
const REPO = process.env['GATEHOUSE_REPO_ROOT'] ?? resolve(process.cwd());
const CLI = join(REPO, 'packages', 'cli', 'dist', 'src', 'main.js');
const SENSOR = 'dtmi:gatehouse:EnvironmentalSensor;1';
const DEVICE = 'mytestselfcertprimary';
const REFUSED = 'mytestrefused';

/** `gatehouse <args>` with the built CLI, as the how-to runs it (`npx gatehouse …`). */
function gatehouse(cwd: string, ...args: string[]): string {
  return execFileSync(process.execPath, [CLI, ...args, '--out', cwd], { cwd, encoding: 'utf8' });
}

function hold(port: number): Promise<() => void> {
  return new Promise((ready, fail) => {
    withPortLock(port, () => new Promise<void>((done) => ready(done))).catch(fail);
  });
}

/** The number of points a chart under `selector` holds (TimeChart's data-points). */
function points(page: Page, selector: string): Promise<number> {
  return page.locator(`${selector} .chart`).evaluate((el) => Number(el.getAttribute('data-points')));
}

interface Properties {
  [name: string]: unknown;
  $metadata: Record<string, { desiredValue?: unknown; ackCode?: number; ackVersion?: number }>;
}

describe(
  'web UI: devices, device page and dashboard',
  { skip: browserSkipReason(), concurrency: false },
  () => {
    let server: TestServer;
    let browser: BrowserHarness;
    let context: BrowserContext;
    let page: Page;
    let dir: string;
    const releases: Array<() => void> = [];
    let device: AzureHubDevice | undefined;

    before(async () => {
      releases.push(await hold(8883));
      releases.push(await hold(443));
      server = await startTestServer({ mqttPort: 8883, httpsPort: 443, adminPassword: ADMIN_PASSWORD });
      dir = await tempDir('gatehouse-ui-devices-');
      browser = await launchBrowser();
      ({ context, page } = await browser.newPage());
      await signIn(page, server.baseUrl, ADMIN_PASSWORD);
    });

    after(async () => {
      await device?.stop();
      await browser?.close();
      await server?.stop();
      for (const release of releases.reverse()) release();
    });

    const open = async (path: string, heading: string, p: Page = page) => {
      await p.goto(server.baseUrl + path);
      await p.getByRole('heading', { level: 1, name: heading }).waitFor();
    };
    const tab = async (name: string, p: Page = page) => {
      await p.getByRole('tab', { name }).click();
      await p.getByRole('tabpanel', { name }).waitFor();
    };

    it('the empty device list says what to do next', async () => {
      await open('/devices', 'Devices');
      await page.getByText('No devices yet').waitFor();
      const text = await page.locator('.empty').innerText();
      assert.match(text, /npx gatehouse simulate --template environmental-sensor --devices 3/);
      assert.match(text, /--group-key/);
      await browser.screenshot(page, 'devices-list-empty');
    });

    it('(b) individual enrollment through the Connect dialog: CLI self-signed certificates, the real Azure SDK, telemetry on the Overview chart and a dashboard tile within a second', async () => {
      // Create the device in the UI with the Environmental Sensor template.
      await page.getByRole('button', { name: 'New device' }).click();
      const form = page.getByRole('form', { name: 'New device' });
      await form.getByLabel('Device ID').fill(DEVICE);
      await form.getByLabel('Device name').fill('My self-signed sensor');
      await form.getByLabel('Device template').selectOption({ label: 'Environmental Sensor' });
      await form.getByRole('button', { name: 'Create' }).click();
      await page.getByRole('heading', { level: 1, name: 'My self-signed sensor' }).waitFor();
      const created = await server.api<{ template?: string; enabled: boolean }>(
        'GET',
        `/api/devices/${DEVICE}`,
      );
      assert.equal(created.body.template, SENSOR);

      // The how-to's certificates, made by the real CLI: two self-signed device certificates.
      gatehouse(dir, 'cert', 'device', DEVICE);
      gatehouse(dir, 'cert', 'device', 'mytestselfcertsecondary');
      const primaryCert = join(dir, `${DEVICE}_cert.pem`);
      const secondaryCert = join(dir, 'mytestselfcertsecondary_cert.pem');
      assert.ok(existsSync(primaryCert) && existsSync(join(dir, `${DEVICE}_key.pem`)));

      await page.getByRole('button', { name: 'Connect', exact: true }).click();
      const dialog = page.getByRole('dialog', { name: `Connect ${DEVICE}` });
      assert.equal(await dialog.getByTestId('connect-id-scope').innerText(), server.idScope);
      assert.equal(await dialog.getByTestId('connect-device-id').innerText(), DEVICE);
      // Enrollment group first: the keys derived from SAS-IoT-Devices, as the credentials route has them.
      const creds = await server.api<{ symmetricKey: { primaryKey: string } }>(
        'GET',
        `/api/devices/${DEVICE}/credentials`,
      );
      assert.equal(
        await dialog.getByTestId('connect-primary-key').innerText(),
        creds.body.symmetricKey.primaryKey,
      );
      await browser.screenshot(page, 'devices-connect-group');

      await dialog.getByLabel('Authentication type').selectOption({ label: 'Individual enrollment' });
      await dialog.getByLabel('Authentication method').selectOption({ label: 'Certificates (X.509)' });
      // Bad input first: the secondary's certificate as primary (CN is not the device ID).
      await dialog.getByLabel('Primary certificate').setInputFiles(secondaryCert);
      await dialog.getByRole('button', { name: 'Save' }).click();
      await dialog.getByRole('alert').filter({ hasText: 'ERR_ATTESTATION_CN_MISMATCH' }).waitFor();
      assert.equal(
        (await server.api('GET', `/api/devices/${DEVICE}/attestation`)).status,
        404,
        'nothing saved',
      );

      await dialog.getByLabel('Primary certificate').setInputFiles(primaryCert);
      await dialog.getByLabel('Secondary certificate').setInputFiles(secondaryCert);
      await dialog.getByRole('button', { name: 'Save' }).click();
      await dialog.getByTestId('primary-thumbprint').waitFor();
      const attestation = await server.api<{
        type: string;
        x509: { clientCertificates: Record<string, { info: { sha1Thumbprint: string } }> };
      }>('GET', `/api/devices/${DEVICE}/attestation`);
      assert.equal(attestation.status, 200);
      assert.equal(attestation.body.type, 'x509');
      const certs = attestation.body.x509.clientCertificates;
      assert.equal(
        await dialog.getByTestId('primary-thumbprint').innerText(),
        certs['primary']?.info.sha1Thumbprint,
      );
      assert.equal(
        await dialog.getByTestId('secondary-thumbprint').innerText(),
        certs['secondary']?.info.sha1Thumbprint,
      );
      await browser.screenshot(page, 'devices-connect-x509');
      await page.keyboard.press('Escape');

      // The real Azure SDK: provision with the primary certificate, connect with x509=true.
      const reg = await runAzureProvision({
        caPath: server.serverCaPath!,
        idScope: server.idScope,
        registrationId: DEVICE,
        certFile: primaryCert,
        keyFile: join(dir, `${DEVICE}_key.pem`),
      });
      assert.equal(reg.ok, true, JSON.stringify(reg.error));
      assert.equal(reg.result?.deviceId, DEVICE);
      device = new AzureHubDevice(
        {
          HUB_HOST: 'localhost',
          DEVICE_ID: DEVICE,
          CERT_FILE: primaryCert,
          KEY_FILE: join(dir, `${DEVICE}_key.pem`),
        },
        server.serverCaPath!,
      );
      await device.waitFor((e) => e.event === 'reported', 20_000, 'device open and state reported');
      await page.locator('.device-facts').getByText('Connected', { exact: true }).waitFor();
      await page.locator('.device-facts').getByText('Provisioned', { exact: true }).waitFor();

      // A dashboard line chart of temp for this device, in a second tab of the same session.
      const board = await context.newPage();
      await open('/dashboard', 'Dashboard', board);
      await board.getByRole('button', { name: 'Edit' }).click();
      await board.getByRole('button', { name: 'Add tile' }).click();
      const add = board.getByRole('form', { name: 'Add tile' });
      await add.getByLabel('Tile type').selectOption({ label: 'Line chart' });
      await add.getByLabel('Title').fill('Temperature');
      await add.getByLabel('My self-signed sensor').check();
      await add.getByLabel('Telemetry field').fill('temp');
      await add.getByRole('button', { name: 'Add' }).click();
      await board.getByRole('note').filter({ hasText: 'Editing' }).waitFor();
      await browser.screenshot(board, 'devices-dashboard-edit');
      await board.getByRole('button', { name: 'Save' }).click();
      await board.getByRole('button', { name: 'Edit' }).waitFor();
      const saved = await server.api<{ tiles: Array<{ id: string; type: string; configuration: unknown }> }>(
        'GET',
        '/api/dashboards/default',
      );
      const chartTile = saved.body.tiles.find((t) => t.type === 'lineChart');
      assert.ok(chartTile, JSON.stringify(saved.body));
      assert.deepEqual(chartTile.configuration, { devices: [DEVICE], telemetry: ['temp'], window: 'PT30M' });
      const tileChart = `[data-testid="tile-chart-${chartTile.id}"]`;
      await board.locator(tileChart).waitFor();

      // Send, and time until the point is drawn on both pages.
      const overviewChart = '[data-testid="chart-temp"]';
      const latencies: number[] = [];
      for (let n = 1; n <= 3; n++) {
        const value = 70 + n + 0.25;
        const before = [await points(page, overviewChart), await points(board, tileChart)];
        const sentAt = performance.now();
        device.send({ cmd: 'send', body: JSON.stringify({ temp: value, humid: 40 + n }) });
        const shown = (p: Page, selector: string, count: number, latest?: string) =>
          p
            .waitForFunction(
              ({ selector, count, latest }) => {
                const chart = document.querySelector(`${selector} .chart`);
                const ok = Number(chart?.getAttribute('data-points')) >= count;
                const text =
                  latest === undefined ||
                  document.querySelector(latest.split('|')[0]!)?.textContent?.includes(latest.split('|')[1]!);
                return ok && text;
              },
              { selector, count, latest },
              { timeout: 10_000, polling: 'raf' },
            )
            .then(() => performance.now() - sentAt);
        const [overviewMs, dashboardMs] = await Promise.all([
          shown(page, overviewChart, before[0]! + 1, `[data-testid="latest-temp"]|${value.toFixed(2)}`),
          shown(board, tileChart, before[1]! + 1),
        ]);
        latencies.push(overviewMs, dashboardMs);
        console.log(
          `telemetry ${n}: device send → Overview chart ${overviewMs.toFixed(0)} ms, dashboard tile ${dashboardMs.toFixed(0)} ms`,
        );
        assert.ok(overviewMs < 1000, `the Overview chart showed the point after ${overviewMs.toFixed(0)} ms`);
        assert.ok(
          dashboardMs < 1000,
          `the dashboard tile showed the point after ${dashboardMs.toFixed(0)} ms`,
        );
      }
      assert.equal(await page.getByTestId('latest-humid').innerText(), '43 %');
      assert.match(await page.getByTestId('latest-temp').innerText(), /73\.25 °F/);
      await browser.screenshot(page, 'devices-overview');
      // The KPI tiles follow the events: one device connected, messages in the last minute.
      await board.getByTestId('kpi-devicesConnected').filter({ hasText: /^1$/ }).waitFor();
      await board
        .getByTestId('kpi-messagesPerMinute')
        .filter({ hasText: /^[1-9]/ })
        .waitFor();
      await browser.screenshot(board, 'devices-dashboard');

      // Arrange: the chart made wide and moved before the second KPI, saved to the server.
      await board.getByRole('button', { name: 'Edit' }).click();
      await board.getByRole('button', { name: 'Make Temperature wide' }).click();
      await board.getByRole('button', { name: 'Move Temperature earlier' }).click();
      await board.getByRole('button', { name: 'Save' }).click();
      await board.getByRole('button', { name: 'Edit' }).waitFor();
      const arranged = await server.api<{
        tiles: Array<{ id: string; x: number; y: number; width: number }>;
      }>('GET', '/api/dashboards/default');
      const byPlace = [...arranged.body.tiles].sort((a, b) => a.y - b.y || a.x - b.x);
      assert.deepEqual(
        byPlace.map((t) => [t.id, t.width]),
        [
          ['devices-connected', 3],
          [chartTile.id, 12],
          ['messages-per-minute', 3],
        ],
      );
      await board.close();
    });

    it('(c) a writable property set in the UI reaches the device and shows as acknowledged; a wrong type is refused beside the field', async () => {
      assert.ok(device);
      await tab('Properties');
      const form = page.getByRole('form', { name: 'Writable properties' });
      await form.getByLabel('Brightness Level').fill('3');
      await form.getByLabel('Customer Name').fill('Contoso');
      const desired = device.next(
        (e) => e.event === 'desired' && (e['delta'] as Record<string, unknown>)['brightness'] === 3,
        20_000,
        'brightness 3 at the device',
      );
      await form.getByRole('button', { name: 'Save' }).click();
      await desired;
      await form.getByTestId('sync-brightness').getByText('Synced').waitFor();
      await form.getByTestId('sync-name').getByText('Synced').waitFor();
      const props = await server.api<Properties>('GET', `/api/devices/${DEVICE}/properties`);
      assert.equal(props.body['brightness'], 3);
      assert.equal(props.body.$metadata['brightness']?.ackCode, 200);
      // The device's reported read-only property is listed.
      assert.equal(await page.getByTestId('reported-state').innerText(), 'true');

      // A fraction for a long: the server's message beside the field, nothing sent or stored.
      const desiredBefore = device.events.filter((e) => e.event === 'desired').length;
      await form.getByLabel('Brightness Level').fill('2.5');
      await form.getByRole('button', { name: 'Save' }).click();
      const error = form.getByTestId('property-brightness').getByRole('alert');
      await error.waitFor();
      assert.match(
        await error.innerText(),
        /ERR_PROPERTY_TYPE_MISMATCH: Property 'brightness' \(Brightness Level\)/,
      );
      const after = await server.api<Properties>('GET', `/api/devices/${DEVICE}/properties`);
      assert.equal(after.body.$metadata['brightness']?.desiredValue, 3, 'the desired value is unchanged');
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(device.events.filter((e) => e.event === 'desired').length, desiredBefore, 'nothing sent');
      await browser.screenshot(page, 'devices-properties');
    });

    it('(c) a template with a component: its writable property has its own form, reaches the device inside the component and shows as acknowledged', async () => {
      assert.ok(device);
      const thermo = {
        '@id': 'dtmi:example:UiThermo;1',
        '@type': 'Interface',
        '@context': 'dtmi:dtdl:context;2',
        displayName: 'Thermo',
        contents: [
          {
            '@type': 'Property',
            name: 'targetTemperature',
            displayName: 'Target temperature',
            schema: 'double',
            writable: true,
          },
        ],
      };
      const controller = {
        '@id': 'dtmi:example:UiController;1',
        '@type': 'Interface',
        '@context': 'dtmi:dtdl:context;2',
        displayName: 'Controller',
        contents: [{ '@type': 'Component', name: 'thermostat1', schema: 'dtmi:example:UiThermo;1' }],
      };
      const templateId = 'dtmi:example:UiControllerTemplate;1';
      assert.equal(
        (await server.api('PUT', `/api/deviceTemplates/${templateId}`, [controller, thermo])).status,
        200,
      );
      assert.equal(
        (await server.api('PATCH', `/api/devices/${DEVICE}`, { template: templateId })).status,
        200,
      );
      try {
        await page.reload();
        await tab('Properties');
        const form = page.getByRole('form', { name: 'Writable properties (component thermostat1)' });
        await form.getByLabel('Target temperature').fill('22.5');
        const desired = device.next(
          (e) =>
            e.event === 'desired' &&
            isDeepStrictEqual((e['delta'] as Record<string, unknown>)['thermostat1'], {
              __t: 'c',
              targetTemperature: 22.5,
            }),
          20_000,
          'thermostat1.targetTemperature 22.5 at the device',
        );
        await form.getByRole('button', { name: 'Save' }).click();
        await desired;
        await form.getByTestId('sync-thermostat1-targetTemperature').getByText('Synced').waitFor();
        const props = await server.api<Properties>(
          'GET',
          `/api/devices/${DEVICE}/components/thermostat1/properties`,
        );
        assert.equal(props.body['targetTemperature'], 22.5);
        assert.equal(props.body.$metadata['targetTemperature']?.ackCode, 200);
        await browser.screenshot(page, 'devices-properties-component');
      } finally {
        await server.api('PATCH', `/api/devices/${DEVICE}`, { template: SENSOR });
        await page.reload();
      }
    });

    it('(c) a command run in the UI shows the device answer; a payload that is not JSON is refused beside the field', async () => {
      assert.ok(device);
      await tab('Commands');
      const card = page.getByRole('form', { name: 'Command blink' });
      await card.getByLabel('blink payload').fill('2');
      const method = device.next((e) => e.event === 'method' && e['name'] === 'blink', 20_000, 'blink');
      await card.getByRole('button', { name: 'Run' }).click();
      assert.equal((await method)['payload'], 2);
      const answer = card.getByTestId('answer-blink');
      await answer.waitFor();
      assert.match(await answer.innerText(), /200/);
      assert.match(await answer.innerText(), /Blinking LED every 2 seconds/);

      const history = async () =>
        (await server.api<{ value: unknown[] }>('GET', `/api/devices/${DEVICE}/commands/blink`)).body.value
          .length;
      await card.getByRole('table', { name: 'blink history' }).waitFor();
      const runs = await history();
      assert.equal(runs, 1);
      await card.getByLabel('blink payload').fill('{"interval": 2');
      await card.getByRole('button', { name: 'Run' }).click();
      const alert = card.getByRole('alert');
      await alert.waitFor();
      assert.match(await alert.innerText(), /The payload is not JSON .*nothing was sent/);
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(await history(), runs, 'no command was run');
      await browser.screenshot(page, 'devices-commands');
    });

    it('Raw data lists the messages with their enqueued time and an Unmodeled column', async () => {
      assert.ok(device);
      await tab('Raw data');
      device.send({
        cmd: 'send',
        body: JSON.stringify({ temp: 71.5, humid: 45, battery: 88 }),
        properties: { seq: 'x' },
      });
      const row = page.getByRole('table', { name: 'Raw data' }).locator('tbody tr').first();
      await row.getByTestId('unmodeled').getByText('{"battery":88}').waitFor();
      assert.match(await row.innerText(), /"temp":71\.5/);
      assert.match(await row.innerText(), /"seq":"x"/);
      assert.ok(await row.locator('time').getAttribute('datetime'));
      await browser.screenshot(page, 'devices-raw-data');
    });

    it('(d) a refused device shows its reason and the fix on the Refusals tab', async () => {
      await server.api('PUT', `/api/devices/${REFUSED}`, { displayName: 'Refused sensor' });
      // A device certificate from a root nobody enrolled or verified.
      gatehouse(dir, 'cert', 'root', 'unenrolledroot');
      gatehouse(dir, 'cert', 'device', REFUSED, 'unenrolledroot');
      const reg = await runAzureProvision({
        caPath: server.serverCaPath!,
        idScope: server.idScope,
        registrationId: REFUSED,
        certFile: join(dir, `${REFUSED}_fullchain.pem`),
        keyFile: join(dir, `${REFUSED}_key.pem`),
      });
      assert.equal(reg.ok, false, 'the device must be refused');
      const attempts = await server.api<{
        value: Array<{ reason: { code: string; message: string; fix?: string } }>;
      }>('GET', `/api/provisioning/attempts?registrationId=${REFUSED}`);
      const reason = attempts.body.value[0]?.reason;
      assert.ok(reason?.fix, JSON.stringify(attempts.body));

      await open(`/devices/${REFUSED}?tab=refusals`, 'Refused sensor');
      const refusal = page.getByRole('list', { name: 'Refused attempts' }).locator('li').first();
      await refusal.waitFor();
      const text = await refusal.innerText();
      assert.match(text, new RegExp(reason.code));
      assert.ok(text.includes(reason.message), text);
      assert.ok(text.includes(`Fix: ${reason.fix}`), text);
      await browser.screenshot(page, 'devices-refusals');
    });

    it('the device list: live status, template or Unassigned, search, block/unblock, delete with confirmation', async () => {
      await open('/devices', 'Devices');
      const row = (id: string) => page.getByTestId(`device-row-${id}`);
      await row(DEVICE).getByText('Connected', { exact: true }).waitFor();
      await row(DEVICE).getByText('Provisioned').waitFor();
      await row(DEVICE).getByText('Environmental Sensor').waitFor();
      await row(REFUSED).getByText('Unassigned').waitFor();
      await row(REFUSED).getByText('Registered').waitFor();
      await browser.screenshot(page, 'devices-list');

      await page.getByLabel('Search devices').fill('refused');
      await row(REFUSED).waitFor();
      assert.equal(await row(DEVICE).count(), 0);
      await page.getByLabel('Search devices').fill('');

      // Creating a device that exists: the message beside the ID, nothing replaced.
      await page.getByRole('button', { name: 'New device' }).click();
      const form = page.getByRole('form', { name: 'New device' });
      await form.getByLabel('Device ID').fill(DEVICE);
      await form.getByRole('button', { name: 'Create' }).click();
      await form.getByRole('alert').filter({ hasText: 'already exists' }).waitFor();
      assert.equal(
        (await server.api<{ template?: string }>('GET', `/api/devices/${DEVICE}`)).body.template,
        SENSOR,
      );
      await page.keyboard.press('Escape');

      await row(REFUSED)
        .getByRole('button', { name: `Block ${REFUSED}` })
        .click();
      await row(REFUSED).getByText('Blocked').waitFor();
      assert.equal(
        (await server.api<{ enabled: boolean }>('GET', `/api/devices/${REFUSED}`)).body.enabled,
        false,
      );
      await row(REFUSED)
        .getByRole('button', { name: `Unblock ${REFUSED}` })
        .click();
      await row(REFUSED).getByText('Registered').waitFor();
      assert.equal(
        (await server.api<{ enabled: boolean }>('GET', `/api/devices/${REFUSED}`)).body.enabled,
        true,
      );

      await row(REFUSED)
        .getByRole('button', { name: `Delete ${REFUSED}` })
        .click();
      const confirm = page.getByRole('dialog', { name: `Delete ${REFUSED}?` });
      await confirm.getByRole('button', { name: 'Delete device' }).click();
      await row(REFUSED).waitFor({ state: 'detached' });
      assert.equal((await server.api('GET', `/api/devices/${REFUSED}`)).status, 404);

      // Live: the device's disconnection shows without a reload.
      assert.ok(device);
      device.send({ cmd: 'exit' });
      await row(DEVICE).getByText('Disconnected').waitFor();
    });

    it('the device page and the dashboard at phone width (390 px) fit the screen', async () => {
      const phone = await browser.newPage({ width: 390, height: 844 });
      // At phone width the navigation is folded away: signed in = the dashboard heading shows.
      await phone.page.goto(server.baseUrl + '/');
      await phone.page.getByLabel('User name').fill('admin');
      await phone.page.getByLabel('Password').fill(ADMIN_PASSWORD);
      await phone.page.getByRole('button', { name: 'Sign in' }).click();
      await phone.page.getByRole('heading', { level: 1, name: 'Dashboard' }).waitFor();
      for (const [path, heading, name] of [
        [`/devices/${DEVICE}`, 'My self-signed sensor', 'devices-phone-device'],
        [`/devices/${DEVICE}?tab=properties`, 'My self-signed sensor', 'devices-phone-properties'],
        ['/dashboard', 'Dashboard', 'devices-phone-dashboard'],
      ] as const) {
        await open(path, heading, phone.page);
        await phone.page.locator('[role="tabpanel"] .card, .dashboard-grid .tile').first().waitFor();
        const width = await phone.page.evaluate(() => document.documentElement.scrollWidth);
        assert.ok(width <= 390, `${path} is ${width} px wide at a 390 px viewport`);
        await browser.screenshot(phone.page, name);
      }
      await phone.context.close();
    });
  },
);
