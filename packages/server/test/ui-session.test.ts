/**
 * The web UI's session in a real browser (Debian Chromium) against a real server: the sign-in
 * sets an HttpOnly, SameSite=Strict cookie that the page's scripts cannot read and nothing is
 * kept in localStorage; the live event stream works by the cookie; a page of another origin on
 * the same site (127.0.0.1, another port: the browser does send a SameSite=Strict cookie there)
 * cannot make a change with it; sign-out clears it and ends the session on the server; a user
 * disabled while signed in is back at the sign-in form.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ROLE_IDS } from '../src/app/roles.js';
import { browserSkipReason, launchBrowser, signIn, type BrowserHarness } from './helpers/browser.js';
import { startTestServer, type TestServer } from './helpers/test-server.js';
import { PASSWORD } from './helpers/users.js';
import { call } from './helpers/web-client.js';

const ADMIN_PASSWORD = 'admin-ui-session-password';

describe('web UI: the session cookie', { skip: browserSkipReason(), concurrency: false }, () => {
  let server: TestServer;
  let browser: BrowserHarness;
  let evil: Server;
  let evilUrl: string;
  before(async () => {
    server = await startTestServer({ adminPassword: ADMIN_PASSWORD });
    browser = await launchBrowser();
    // Another origin of the same site: a page that tries changes with the visitor's cookie.
    evil = createServer((_req, res) => {
      res.setHeader('content-type', 'text/html');
      res.end('<!doctype html><title>evil</title>');
    });
    await new Promise<void>((ready) => evil.listen(0, '127.0.0.1', ready));
    evilUrl = `http://127.0.0.1:${(evil.address() as AddressInfo).port}`;
    const put = await server.api('PUT', '/api/users/victim', {
      type: 'email',
      email: 'victim@example.com',
      roles: [{ role: ROLE_IDS.administrator }],
      password: PASSWORD,
    });
    assert.equal(put.status, 200);
  });
  after(async () => {
    await browser.close();
    await new Promise((done) => evil.close(done));
    await server.stop();
  });

  it('sign-in: an HttpOnly SameSite=Strict cookie, unreadable by scripts, nothing in localStorage; live events by cookie', async () => {
    const { context, page } = await browser.newPage();
    try {
      await signIn(page, server.baseUrl, ADMIN_PASSWORD);
      const cookies = await context.cookies(server.baseUrl);
      const session = cookies.find((c) => c.name === 'gatehouse_session');
      assert.ok(session, JSON.stringify(cookies));
      assert.equal(session.httpOnly, true);
      assert.equal(session.sameSite, 'Strict');
      assert.equal(session.secure, false, 'plain HTTP: Secure would make the browser drop it');
      assert.equal(session.path, '/');
      // Evaluated in the page (a string: this file is not compiled with the DOM types).
      const seen = (await page.evaluate(
        '({ cookie: document.cookie, storage: JSON.stringify({ ...localStorage }) })',
      )) as { cookie: string; storage: string };
      assert.ok(!seen.cookie.includes(session.value), 'the page cannot read the cookie');
      assert.ok(!seen.storage.includes(session.value), `no token in localStorage: ${seen.storage}`);
      const opened = await page.evaluate(
        () =>
          new Promise<string>((resolve) => {
            const source = new EventSource('/api/events');
            source.onopen = () => {
              source.close();
              resolve('open');
            };
            source.onerror = () => {
              source.close();
              resolve('error');
            };
          }),
      );
      assert.equal(opened, 'open', 'the event stream authenticates by the cookie alone');
    } finally {
      await context.close();
    }
  });

  it('a page of another origin cannot change anything with the cookie (simple fetch, preflighted fetch, form)', async () => {
    const { context, page } = await browser.newPage();
    try {
      await signIn(page, server.baseUrl, PASSWORD, 'victim@example.com');
      await page.goto(evilUrl);
      const target = `${server.baseUrl}/api/users/admin`;
      const attempts = await page.evaluate(async (url) => {
        const results: string[] = [];
        // A "simple" request: no preflight, the browser sends the cookie (same site).
        try {
          const r = await fetch(url, { method: 'DELETE', credentials: 'include', mode: 'no-cors' });
          results.push(`simple:${r.type}`);
        } catch (err) {
          results.push(`simple:threw ${String(err)}`);
        }
        // With the UI's header: the preflight gets no CORS answer, so the browser never sends it.
        try {
          await fetch(url, {
            method: 'DELETE',
            credentials: 'include',
            headers: { 'x-gatehouse-request': '1' },
          });
          results.push('preflighted:sent');
        } catch {
          results.push('preflighted:blocked');
        }
        return results;
      }, target);
      assert.equal(attempts[1], 'preflighted:blocked', attempts.join(', '));
      // A form post of the sign-in, with a cookie request (login CSRF) and a forged user change.
      await page.setContent(
        `<form method="POST" action="${server.baseUrl}/api/session/password" enctype="text/plain">` +
          `<input name='{"currentPassword":"${PASSWORD}","newPassword":"pwned-pwned","x":"' value='"}'>` +
          `</form>`,
      );
      await Promise.all([page.waitForLoadState(), page.evaluate('document.forms[0].submit()')]);
      // Nothing changed: admin exists, the victim's password is the same.
      assert.equal(
        (await server.api('GET', '/api/users/admin')).status,
        200,
        `simple DELETE: ${attempts[0]}`,
      );
      const still = await call(
        server,
        'POST',
        '/api/session',
        {},
        { username: 'victim@example.com', password: PASSWORD },
      );
      assert.equal(still.status, 200, 'the password was not changed by the forged form');
    } finally {
      await context.close();
    }
  });

  it('sign-out: back at the form, the cookie gone, the old value refused by the server', async () => {
    const { context, page } = await browser.newPage();
    try {
      await signIn(page, server.baseUrl, ADMIN_PASSWORD);
      const before = (await context.cookies(server.baseUrl)).find((c) => c.name === 'gatehouse_session');
      assert.ok(before);
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.getByRole('button', { name: 'Sign in' }).waitFor();
      const afterOut = (await context.cookies(server.baseUrl)).find((c) => c.name === 'gatehouse_session');
      assert.equal(afterOut, undefined, 'the browser dropped the cookie');
      const old = await call(server, 'GET', '/api/session', { cookie: `gatehouse_session=${before.value}` });
      assert.equal(old.status, 401, 'the session ended on the server');
    } finally {
      await context.close();
    }
  });

  it('a user disabled on the Users page while signed in is at the sign-in form on the next page load', async () => {
    const { context, page } = await browser.newPage();
    const admin = await browser.newPage();
    try {
      await signIn(page, server.baseUrl, PASSWORD, 'victim@example.com');
      await signIn(admin.page, server.baseUrl, ADMIN_PASSWORD);
      await admin.page.goto(`${server.baseUrl}/users`);
      await admin.page.getByRole('button', { name: 'Disable user victim@example.com' }).click();
      await admin.page.getByRole('button', { name: 'Enable user victim@example.com' }).waitFor();
      await admin.page.getByText('Disabled', { exact: true }).waitFor();
      await browser.screenshot(admin.page, 'users-disabled');
      const user = await server.api('GET', '/api/users/victim');
      assert.equal((user.body as { disabled?: boolean }).disabled, true);
      await page.reload();
      await page.getByRole('button', { name: 'Sign in' }).waitFor();
      await page.getByLabel('User name').fill('victim@example.com');
      await page.getByLabel('Password').fill(PASSWORD);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('alert').filter({ hasText: 'disabled' }).waitFor();
    } finally {
      await context.close();
      await admin.context.close();
    }
  });
});
