/**
 * The administration pages in a real browser (Debian Chromium) against a real
 * server: the how-to's X.509 group journey done through the UI with
 * certificates from the real CLI and a device on the real Azure SDK; bad input
 * shown beside its field with nothing changed; the certificate expiry flags;
 * API tokens and users made in the UI working against the REST API. The Azure
 * SDK only speaks to 8883 and 443, so this file holds both locks (8883 first,
 * STYLE.md §8). Screenshots go to test-artifacts/screenshots/admin-*.png.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { runAzureProvision } from './helpers/azure-device.js';
import { AzureHubDevice } from './helpers/azure-hub.js';
import { browserSkipReason, launchBrowser, signIn, type BrowserHarness } from './helpers/browser.js';
import { tempDir } from './helpers/pki-files.js';
import { withPortLock } from './helpers/port-lock.js';
import { startTestServer, type TestServer } from './helpers/test-server.js';

const ADMIN_PASSWORD = 'admin-ui-password-1';
const REPO = process.env['GATEHOUSE_REPO_ROOT'] ?? resolve(process.cwd());
const CLI = join(REPO, 'packages', 'cli', 'dist', 'src', 'main.js');
const OPERATOR_ROLE = 'ae2c9854-393b-4f97-8c42-479d70ce626e';
const BUILDER_ROLE = '344138e9-8de4-4497-8c54-5237e96d6aaf';

/** `gatehouse <args>` with the built CLI, as the how-to runs it (`npx gatehouse …`). */
function gatehouse(cwd: string, ...args: string[]): string {
  return execFileSync(process.execPath, [CLI, ...args, '--out', cwd], { cwd, encoding: 'utf8' });
}

function hold(port: number): Promise<() => void> {
  return new Promise((ready, fail) => {
    withPortLock(port, () => new Promise<void>((done) => ready(done))).catch(fail);
  });
}

async function eventually<T>(read: () => Promise<T>, ok: (v: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + 15_000;
  let v = await read();
  while (!ok(v)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 100));
    v = await read();
  }
  return v;
}

interface Group {
  enabled: boolean;
  attestation: {
    x509?: { signingCertificates: Record<string, { verified: boolean; info: { sha1Thumbprint: string } }> };
    symmetricKey?: { primaryKey: string; secondaryKey: string };
  };
}

describe('web UI: administration pages', { skip: browserSkipReason(), concurrency: false }, () => {
  let server: TestServer;
  let browser: BrowserHarness;
  let page: Page;
  let dir: string;
  const releases: Array<() => void> = [];
  let device: AzureHubDevice | undefined;

  before(async () => {
    releases.push(await hold(8883));
    releases.push(await hold(443));
    server = await startTestServer({ mqttPort: 8883, httpsPort: 443, adminPassword: ADMIN_PASSWORD });
    dir = await tempDir('gatehouse-ui-admin-');
    browser = await launchBrowser();
    ({ page } = await browser.newPage());
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
  const primary = () => page.getByRole('region', { name: 'Manage primary' });

  it('empty states say what to do next', async () => {
    await open('/certificates', 'Certificates');
    await page.getByText('No certificates yet').waitFor();
    assert.match(await page.locator('.empty').innerText(), /npx gatehouse cert root mytestrootcert/);
    await browser.screenshot(page, 'admin-certificates-empty');
  });

  it('(a) the how-to group journey: create MyX509Group, upload the CLI root, verify it, a real Azure SDK device sends telemetry', async () => {
    await open('/connection', 'Device connection');
    assert.equal(await page.getByTestId('id-scope').innerText(), server.idScope);
    await page.getByRole('button', { name: 'Create enrollment group' }).click();
    const form = page.getByRole('form', { name: 'Create enrollment group' });
    await form.getByLabel('Name').fill('MyX509Group');
    assert.equal(await form.getByLabel('Group ID').inputValue(), 'MyX509Group');
    await form.getByLabel('Group type').selectOption({ label: 'IoT devices' });
    await form.getByLabel('Attestation type').selectOption({ label: 'Certificates (X.509)' });
    await browser.screenshot(page, 'admin-connection-create');
    await form.getByRole('button', { name: 'Create' }).click();
    await page.waitForURL('**/connection/groups/MyX509Group');
    await page.getByRole('heading', { level: 1, name: 'MyX509Group' }).waitFor();

    // The root, made by the real CLI exactly as the how-to does.
    gatehouse(dir, 'cert', 'root', 'mytestrootcert');
    await primary()
      .getByLabel('Upload primary certificate')
      .setInputFiles(join(dir, 'mytestrootcert_cert.pem'));
    await primary().getByText('Unverified').waitFor();
    let group = await server.api<Group>('GET', '/api/enrollmentGroups/MyX509Group');
    const entry = group.body.attestation.x509!.signingCertificates['primary']!;
    assert.equal(entry.verified, false);
    assert.equal(await page.getByTestId('thumbprint-primary').innerText(), entry.info.sha1Thumbprint);

    await primary().getByRole('button', { name: 'Generate verification code' }).click();
    const code = await page.getByTestId('verification-code-primary').innerText();
    assert.match(code, /^[0-9A-F]{48}$/);
    assert.equal(
      await page.getByTestId('verification-command-primary').innerText(),
      `npx gatehouse cert verification --ca mytestrootcert_cert.pem --key mytestrootcert_key.pem --nonce ${code}`,
    );
    gatehouse(
      dir,
      'cert',
      'verification',
      '--ca',
      join(dir, 'mytestrootcert_cert.pem'),
      '--key',
      join(dir, 'mytestrootcert_key.pem'),
      '--nonce',
      code,
    );
    await primary()
      .getByLabel('Verify: upload verification_cert.pem')
      .setInputFiles(join(dir, 'verification_cert.pem'));
    await primary().getByText('Verified', { exact: true }).waitFor();
    group = await server.api<Group>('GET', '/api/enrollmentGroups/MyX509Group');
    assert.equal(group.body.attestation.x509!.signingCertificates['primary']!.verified, true);
    await browser.screenshot(page, 'admin-group-x509');

    await open('/connection', 'Device connection');
    const row = page.getByRole('row').filter({ hasText: 'MyX509Group' });
    assert.match(
      await row.innerText(),
      /IoT devices\s+Certificates \(X\.509\)\s+Enabled\s+primary: Verified/,
    );
    await browser.screenshot(page, 'admin-connection');

    // A device certificate from the same root, and the real Azure SDK.
    gatehouse(dir, 'cert', 'device', 'mytestdevice', 'mytestrootcert');
    const files = { cert: join(dir, 'mytestdevice_cert.pem'), key: join(dir, 'mytestdevice_key.pem') };
    const reg = await runAzureProvision({
      caPath: server.serverCaPath!,
      idScope: server.idScope,
      registrationId: 'mytestdevice',
      certFile: files.cert,
      keyFile: files.key,
    });
    assert.equal(reg.ok, true, JSON.stringify(reg.error));
    device = new AzureHubDevice(
      {
        HUB_HOST: 'localhost',
        DEVICE_ID: 'mytestdevice',
        CERT_FILE: files.cert,
        KEY_FILE: files.key,
        MODEL_ID: 'dtmi:com:example:EnvironmentalSensor;1',
        TELEMETRY_COUNT: '3',
        TELEMETRY_INTERVAL_MS: '300',
      },
      server.serverCaPath!,
    );
    await device.waitFor((e) => e.event === 'sent' && e['n'] === 2, 30_000, 'three messages sent');
    const latest = await eventually(
      () => server.api<{ value: number }>('GET', '/api/devices/mytestdevice/telemetry/temp'),
      (r) => r.status === 200 && r.body.value === 22,
      'the last temp',
    );
    assert.equal(latest.body.value, 22);
    // The device announced the Environmental Sensor model: its page charts temp and humid.
    await page.goto(`${server.baseUrl}/devices/mytestdevice`);
    await page
      .getByTestId('latest-temp')
      .filter({ hasText: /^22(\.0+)? °F$/ })
      .waitFor();
    await page
      .getByTestId('latest-humid')
      .filter({ hasText: /^52(\.0+)? %$/ })
      .waitFor();
    const points = await page
      .locator('[data-testid="chart-temp"] .chart')
      .evaluate((el) => Number(el.getAttribute('data-points')));
    // The chart shows the last 30 minutes as a series averaged per interval (5 s over 30
    // minutes): the three messages, 300 ms apart, share one or two buckets. Every point is a
    // bucket of the series, and the buckets hold the three messages.
    const series = await server.api<{ interval: string; value: Array<{ count: number }> }>(
      'GET',
      `/api/devices/mytestdevice/telemetry/temp/series?from=${new Date(Date.now() - 30 * 60_000).toISOString()}`,
    );
    assert.equal(series.status, 200, JSON.stringify(series.body));
    assert.equal(
      series.body.value.reduce((n, b) => n + b.count, 0),
      3,
      `the series holds the three messages: ${JSON.stringify(series.body)}`,
    );
    assert.equal(points, series.body.value.length, `the temp chart draws every bucket (${points} points)`);
    await browser.screenshot(page, 'admin-journey-device');
    // And the dashboard counts it: one device connected, its messages in the last minute.
    await page.goto(`${server.baseUrl}/dashboard`);
    await page.getByTestId('kpi-devicesConnected').filter({ hasText: /^1$/ }).waitFor();
    await page
      .getByTestId('kpi-messagesPerMinute')
      .filter({ hasText: /^([3-9]|\d{2,})/ })
      .waitFor();
    await browser.screenshot(page, 'admin-journey-dashboard');
  });

  it('(b) bad input shows the server message beside the field and changes nothing', async () => {
    gatehouse(dir, 'cert', 'root', 'otherroot');
    const junk = join(dir, 'not-a-certificate.pem');
    await writeFile(junk, 'this is not a certificate\n');
    const badDtdl = join(dir, 'bad-dtdl.json');
    await writeFile(
      badDtdl,
      JSON.stringify({
        '@id': 'dtmi:com:example:Broken;1',
        '@type': 'Interface',
        '@context': 'dtmi:dtdl:context;2',
        displayName: 'Broken',
        contents: [{ '@type': 'Telemetry', name: 'temp', schema: 'doubel' }],
      }),
    );
    await server.api('PUT', '/api/enrollmentGroups/BadInput', {
      displayName: 'BadInput',
      type: 'iot',
      attestation: { type: 'x509' },
    });
    const certOf = () => server.api('GET', '/api/enrollmentGroups/BadInput/certificates/primary');

    const cases: Array<{
      name: string;
      path: string;
      setup?: () => Promise<void>;
      act: () => Promise<void>;
      field: () => ReturnType<Page['getByRole']>;
      code: string;
      unchanged: () => Promise<void>;
    }> = [
      {
        name: 'a non-certificate as CA',
        path: '/connection/groups/BadInput',
        act: () => primary().getByLabel('Upload primary certificate').setInputFiles(junk),
        field: primary,
        code: 'ERR_CERT_MALFORMED',
        unchanged: async () => assert.equal((await certOf()).status, 404),
      },
      {
        name: 'a leaf certificate as CA',
        path: '/connection/groups/BadInput',
        act: () =>
          primary()
            .getByLabel('Upload primary certificate')
            .setInputFiles(join(dir, 'mytestdevice_cert.pem')),
        field: primary,
        code: 'ERR_CERT_NOT_CA',
        unchanged: async () => assert.equal((await certOf()).status, 404),
      },
      {
        name: 'a verification certificate from the wrong CA',
        path: '/connection/groups/BadInput',
        setup: async () => {
          await primary()
            .getByLabel('Upload primary certificate')
            .setInputFiles(join(dir, 'otherroot_cert.pem'));
          await primary().getByText('Unverified').waitFor();
          await primary().getByRole('button', { name: 'Generate verification code' }).click();
          const code = await page.getByTestId('verification-code-primary').innerText();
          // Right code, wrong key: signed by mytestrootcert instead of otherroot.
          gatehouse(
            dir,
            'cert',
            'verification',
            '--ca',
            join(dir, 'mytestrootcert_cert.pem'),
            '--key',
            join(dir, 'mytestrootcert_key.pem'),
            '--nonce',
            code,
            '--force',
          );
        },
        act: () =>
          primary()
            .getByLabel('Verify: upload verification_cert.pem')
            .setInputFiles(join(dir, 'verification_cert.pem')),
        field: primary,
        code: 'ERR_VERIFICATION_FAILED',
        unchanged: async () => {
          const c = await certOf();
          assert.equal((c.body as { verified: boolean }).verified, false);
        },
      },
      {
        name: 'an invalid DTDL file',
        path: '/templates',
        act: () => page.getByLabel('Import a DTDL file').setInputFiles(badDtdl),
        field: () => page.getByRole('region', { name: 'Import a template' }),
        code: 'ERR_DTDL_INVALID',
        unchanged: async () => {
          const t = await server.api(
            'GET',
            `/api/deviceTemplates/${encodeURIComponent('dtmi:com:example:Broken;1')}`,
          );
          assert.equal(t.status, 404);
        },
      },
    ];

    for (const c of cases) {
      await page.goto(server.baseUrl + c.path);
      await page.getByRole('heading', { level: 1 }).waitFor();
      await c.setup?.();
      await c.act();
      const alert = c.field().getByRole('alert');
      await alert.waitFor();
      const text = await alert.innerText();
      assert.ok(text.startsWith(`${c.code}: `), `${c.name}: ${text}`);
      assert.ok(text.length > c.code.length + 10, `${c.name}: the server's message is shown (${text})`);
      await c.unchanged();
      await browser.screenshot(page, `admin-bad-${c.code.toLowerCase().replaceAll('_', '-')}`);
    }
    // The DTDL message names the offending element.
    const dtdl = await page.getByRole('region', { name: 'Import a template' }).getByRole('alert').innerText();
    assert.match(dtdl, /contents\[0\].*doubel/);
  });

  it('device templates: the built-ins with device counts, a DTDL import and its page', async () => {
    await open('/templates', 'Device templates');
    await page.getByRole('link', { name: 'Environmental Sensor' }).waitFor();
    await page.getByRole('link', { name: 'Thermostat' }).waitFor();
    // mytestdevice announced the Environmental Sensor's model ID when it connected.
    assert.equal(await page.getByTestId('devices-dtmi:gatehouse:EnvironmentalSensor;1').innerText(), '1');
    const good = join(dir, 'fan.json');
    await writeFile(
      good,
      JSON.stringify({
        '@id': 'dtmi:com:example:Fan;1',
        '@type': 'Interface',
        '@context': 'dtmi:dtdl:context;2',
        displayName: 'Fan',
        contents: [
          { '@type': 'Telemetry', name: 'speed', schema: 'double' },
          { '@type': 'Property', name: 'target', schema: 'double', writable: true },
          { '@type': 'Property', name: 'model', schema: 'string' },
          { '@type': 'Command', name: 'stop' },
        ],
      }),
    );
    await browser.screenshot(page, 'admin-templates');
    await page.getByLabel('Import a DTDL file').setInputFiles(good);
    await page.getByRole('heading', { level: 1, name: 'Fan' }).waitFor();
    const props = await page.getByRole('table', { name: 'Properties' }).innerText();
    assert.match(props, /target[\s\S]*Writable/);
    assert.match(props, /model[\s\S]*Read-only/);
    assert.match(await page.getByRole('table', { name: 'Telemetry' }).innerText(), /speed/);
    assert.match(await page.getByRole('table', { name: 'Commands' }).innerText(), /stop/);
    const stored = await server.api(
      'GET',
      `/api/deviceTemplates/${encodeURIComponent('dtmi:com:example:Fan;1')}`,
    );
    assert.equal(stored.status, 200);

    await open(
      `/templates/${encodeURIComponent('dtmi:gatehouse:EnvironmentalSensor;1')}`,
      'Environmental Sensor',
    );
    assert.match(await page.getByRole('table', { name: 'Telemetry' }).innerText(), /temp[\s\S]*humid/);
    assert.match(await page.getByRole('table', { name: 'Commands' }).innerText(), /blink/);
    await browser.screenshot(page, 'admin-template');

    await open(`/templates/${encodeURIComponent('dtmi:com:example:Fan;1')}`, 'Fan');
    await page.getByRole('button', { name: 'Delete template' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
    await page.waitForURL('**/templates');
    const gone = await server.api(
      'GET',
      `/api/deviceTemplates/${encodeURIComponent('dtmi:com:example:Fan;1')}`,
    );
    assert.equal(gone.status, 404);
  });

  it('(c) the certificates page flags a certificate expiring within 30 days', async () => {
    gatehouse(dir, 'cert', 'root', 'soonroot', '--days', '10');
    await server.api('PUT', '/api/enrollmentGroups/SoonGroup', {
      displayName: 'SoonGroup',
      type: 'iot',
      attestation: { type: 'x509' },
    });
    const up = await server.api('PUT', '/api/enrollmentGroups/SoonGroup/certificates/primary', {
      certificate: Buffer.from(await readFile(join(dir, 'soonroot_cert.pem'))).toString('base64'),
    });
    assert.equal(up.status, 200, JSON.stringify(up.body));
    await open('/certificates', 'Certificates');
    const soon = page.getByRole('row').filter({ hasText: 'CN=soonroot' });
    assert.match(await soon.innerText(), /SoonGroup[\s\S]*primary[\s\S]*\b(9|10)\b[\s\S]*Expiring soon/);
    const ok = page.getByRole('row').filter({ hasText: 'CN=mytestrootcert' });
    assert.match(await ok.innerText(), /MyX509Group[\s\S]*Valid[\s\S]*Verified/);
    await page.getByRole('status').getByText('1 expiring within 30 days').waitFor();
    await browser.screenshot(page, 'admin-certificates');
  });

  it('SAS group: keys behind "Show keys", enable/disable, delete', async () => {
    await open('/connection/groups/SAS-IoT-Devices', 'SAS-IoT-Devices');
    const g = await server.api<Group>('GET', '/api/enrollmentGroups/SAS-IoT-Devices');
    assert.equal(await page.getByText(g.body.attestation.symmetricKey!.primaryKey).count(), 0);
    await page.getByRole('button', { name: 'Show keys' }).click();
    assert.equal(
      await page.getByTestId('primary-key').innerText(),
      g.body.attestation.symmetricKey!.primaryKey,
    );
    assert.equal(
      await page.getByTestId('secondary-key').innerText(),
      g.body.attestation.symmetricKey!.secondaryKey,
    );
    await browser.screenshot(page, 'admin-group-sas');

    await page.getByRole('switch').click();
    await page.getByText('Disabled', { exact: true }).waitFor();
    const off = await server.api<Group>('GET', '/api/enrollmentGroups/SAS-IoT-Devices');
    assert.equal(off.body.enabled, false);

    await open('/connection/groups/SoonGroup', 'SoonGroup');
    await page.getByRole('button', { name: 'Delete group' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
    await page.waitForURL('**/connection');
    assert.equal((await server.api('GET', '/api/enrollmentGroups/SoonGroup')).status, 404);
  });

  it('(d) an API token made in the UI works against the REST API, shown once', async () => {
    await open('/tokens', 'API tokens');
    const form = page.getByRole('form', { name: 'Create API token' });
    await form.getByLabel('Token ID').fill('ui-operator');
    await form.getByLabel('Role').selectOption({ label: 'Operator' });
    await form.getByRole('button', { name: 'Create token' }).click();
    const token = await page.getByTestId('new-token').innerText();
    await page.getByText('it is shown only once').waitFor();
    await browser.screenshot(page, 'admin-tokens');
    const call = (method: string, path: string, body?: unknown) =>
      fetch(server.baseUrl + path, {
        method,
        headers: { authorization: token, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    assert.equal((await call('GET', '/api/devices')).status, 200);
    const refused = await call('PUT', '/api/enrollmentGroups/ByOperator', {
      displayName: 'x',
      type: 'iot',
      attestation: { type: 'x509' },
    });
    assert.equal(refused.status, 403, 'an Operator token cannot create groups');

    // Bad input: an ID the API refuses, shown beside the field; no token made.
    await form.getByLabel('Token ID').fill('no spaces allowed');
    await form.getByRole('button', { name: 'Create token' }).click();
    const idAlert = form.getByRole('alert');
    assert.match(await idAlert.innerText(), /^ERR_INVALID_ID: /);

    await page.reload();
    await page.getByRole('cell', { name: 'ui-operator', exact: true }).waitFor();
    assert.equal(await page.getByTestId('new-token').count(), 0, 'the token text is never shown again');
    await page.getByRole('button', { name: 'Delete token ui-operator' }).click();
    await page.getByRole('cell', { name: 'ui-operator', exact: true }).waitFor({ state: 'detached' });
    assert.equal((await call('GET', '/api/devices')).status, 401);
  });

  it('(d) a user made in the UI signs in as Operator and cannot open user management', async () => {
    await open('/users', 'Users');
    const form = page.getByRole('form', { name: 'Add user' });
    await form.getByLabel('E-mail (user name)').fill('operator@example.com');
    await form.getByLabel('Password').fill('short');
    await form.getByLabel('Role').selectOption({ label: 'Operator' });
    await form.getByRole('button', { name: 'Add user' }).click();
    const weak = form.locator('label', { hasText: 'Password' }).getByRole('alert');
    assert.match(await weak.innerText(), /^ERR_PASSWORD_WEAK: /);
    const before = await server.api<{ value: Array<{ email: string }> }>('GET', '/api/users');
    assert.ok(!before.body.value.some((u) => u.email === 'operator@example.com'), 'no user was made');

    await form.getByLabel('Password').fill('operator-pass-1');
    await form.getByRole('button', { name: 'Add user' }).click();
    await page.getByRole('cell', { name: 'operator@example.com', exact: true }).waitFor();
    const users = await server.api<{ value: Array<{ email: string; roles: Array<{ role: string }> }> }>(
      'GET',
      '/api/users',
    );
    const made = users.body.value.find((u) => u.email === 'operator@example.com');
    assert.deepEqual(made?.roles, [{ role: OPERATOR_ROLE }]);
    await browser.screenshot(page, 'admin-users');

    // Change the role, and back.
    const roleOf = async () =>
      (
        await server.api<{ value: Array<{ email: string; roles: Array<{ role: string }> }> }>(
          'GET',
          '/api/users',
        )
      ).body.value.find((u) => u.email === 'operator@example.com')?.roles[0]?.role;
    await page.getByLabel('Role of operator@example.com').selectOption({ label: 'Builder' });
    await eventually(roleOf, (r) => r === BUILDER_ROLE, 'the Builder role');
    await page.getByLabel('Role of operator@example.com').selectOption({ label: 'Operator' });
    await eventually(roleOf, (r) => r === OPERATOR_ROLE, 'the Operator role');

    // The administrator cannot delete themselves: the server's message beside the row.
    await page.getByRole('button', { name: 'Delete user admin' }).click();
    await page.getByRole('row').filter({ hasText: 'admin' }).first().getByRole('alert').waitFor();

    const second = await browser.newPage();
    try {
      await signIn(second.page, server.baseUrl, 'operator-pass-1', 'operator@example.com');
      await open('/users', 'Users', second.page);
      const alert = second.page.getByRole('alert').first();
      assert.match(await alert.innerText(), /^ERR_FORBIDDEN: /);
      assert.equal(await second.page.getByRole('form', { name: 'Add user' }).count(), 0);
      await browser.screenshot(second.page, 'admin-users-operator');

      // Everyone may change their own password.
      const pw = second.page.getByRole('form', { name: 'Change my password' });
      await pw.getByLabel('Current password').fill('wrong-password');
      await pw.getByLabel('New password').fill('operator-pass-2');
      await pw.getByRole('button', { name: 'Change password' }).click();
      assert.match(await pw.getByRole('alert').innerText(), /^ERR_/);
      await pw.getByLabel('Current password').fill('operator-pass-1');
      await pw.getByRole('button', { name: 'Change password' }).click();
      await pw.getByRole('status').waitFor();
      const session = await fetch(server.baseUrl + '/api/session', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'operator@example.com', password: 'operator-pass-2' }),
      });
      assert.equal(session.status, 200);
    } finally {
      await second.context.close();
    }
  });

  it('works at phone width: device connection and the group page', async () => {
    const phone = await browser.newPage();
    try {
      // Sign in wide (the helper waits for the side navigation), then turn to a phone's width.
      await signIn(phone.page, server.baseUrl, ADMIN_PASSWORD);
      await phone.page.setViewportSize({ width: 390, height: 844 });
      await open('/connection', 'Device connection', phone.page);
      await phone.page.getByRole('link', { name: 'MyX509Group' }).waitFor();
      await browser.screenshot(phone.page, 'admin-connection-390');
      await open('/connection/groups/BadInput', 'BadInput', phone.page);
      await phone.page.getByRole('button', { name: 'Generate verification code' }).click();
      await phone.page.getByTestId('verification-code-primary').waitFor();
      await browser.screenshot(phone.page, 'admin-group-390');
      // Nothing wider than the screen: the content fits without sideways scrolling.
      const width = await phone.page.evaluate<number>('document.documentElement.scrollWidth');
      assert.ok(width <= 390, `page width ${width}`);
    } finally {
      await phone.context.close();
    }
  });
});
