/**
 * Looking back in time in a real browser (Debian Chromium) against a real server: a device with
 * 30 days of generated history written straight into the store, its Overview chart switched
 * from 30 minutes to a week to 30 days (the points are the server's buckets, counted against a
 * brute force over the generated messages; the axis labels times, then dates), the aggregation
 * switched from average to maximum (the last bucket's value follows), and Download CSV saving
 * the buckets shown. Then the device list with 300 devices paged 25 at a time, sorted by a
 * column header and searched on the server. Screenshots go to test-artifacts/screenshots/history-*.png.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';

import { openStore } from '../src/store/open-store.js';
import { browserSkipReason, launchBrowser, signIn, type BrowserHarness } from './helpers/browser.js';
import { insertFleet } from './helpers/device-fleet.js';
import { startTestServer, type TestServer } from './helpers/test-server.js';

const ADMIN_PASSWORD = 'history-ui-password-1';
const DEVICE = 'history-sensor';
const SENSOR = 'dtmi:gatehouse:EnvironmentalSensor;1';
const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

/** The generated history: every 5 minutes for 30 days, every minute in the last 2 hours. */
function history(now: number): Array<{ time: number; temp: number }> {
  const out: Array<{ time: number; temp: number }> = [];
  const start = now - 30 * DAY;
  for (let t = Math.ceil(start / (5 * MINUTE)) * 5 * MINUTE; t < now - 2 * 60 * MINUTE; t += 5 * MINUTE) {
    out.push({ time: t, temp: 20 + ((t / (5 * MINUTE)) % 37) / 2 });
  }
  for (let t = now - 2 * 60 * MINUTE; t < now - MINUTE; t += MINUTE) {
    out.push({ time: t, temp: 60 + ((t / MINUTE) % 13) });
  }
  return out;
}

/** ISO 8601 interval → ms (the intervals the series API picks). */
function intervalMs(text: string): number {
  const m = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/.exec(text);
  assert.ok(m, `interval ${text}`);
  const [, d = '0', h = '0', min = '0', s = '0'] = m;
  return ((Number(d) * 24 + Number(h)) * 60 + Number(min)) * MINUTE + Number(s) * 1000;
}

/** Brute force: the buckets of [from, to) with data, aggregated. */
function buckets(
  rows: Array<{ time: number; temp: number }>,
  from: number,
  to: number,
  interval: number,
  aggregate: (values: number[]) => number,
): Array<{ time: number; value: number; count: number }> {
  const by = new Map<number, number[]>();
  for (const r of rows) {
    if (r.time < from || r.time >= to) continue;
    const b = Math.floor(r.time / interval) * interval;
    by.set(b, [...(by.get(b) ?? []), r.temp]);
  }
  return [...by.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([time, values]) => ({ time, value: aggregate(values), count: values.length }));
}

const avg = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
const max = (v: number[]) => Math.max(...v);

describe(
  'web UI: telemetry history and the paged device list',
  { skip: browserSkipReason(), concurrency: false },
  () => {
    let server: TestServer;
    let browser: BrowserHarness;
    let page: Page;
    let dataDir: string;
    let rows: Array<{ time: number; temp: number }>;

    before(async () => {
      dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-ui-history-'));
      // First run: the device. Then the history straight into the store, and the server again.
      const first = await startTestServer({ dataDir, adminPassword: ADMIN_PASSWORD });
      const put = await first.api('PUT', `/api/devices/${DEVICE}`, {
        displayName: 'History sensor',
        template: SENSOR,
      });
      assert.equal(put.status, 200, JSON.stringify(put.body));
      await first.stop();
      rows = history(Date.now());
      const store = await openStore({ dataDir });
      for (let i = 0; i < rows.length; i += 1000) {
        await store.telemetry.appendBatch(
          rows.slice(i, i + 1000).map((r) => ({
            deviceId: DEVICE,
            enqueuedAt: new Date(r.time).toISOString(),
            component: null,
            body: Buffer.from(JSON.stringify({ temp: r.temp })),
            contentType: 'application/json',
            systemProperties: {},
            properties: {},
            fields: { temp: r.temp },
          })),
        );
      }
      await store.close();
      server = await startTestServer({ dataDir, adminPassword: ADMIN_PASSWORD });
      browser = await launchBrowser();
      ({ page } = await browser.newPage());
      await signIn(page, server.baseUrl, ADMIN_PASSWORD);
    });

    after(async () => {
      await browser?.close();
      await server?.stop();
      await rm(dataDir, { recursive: true, force: true });
    });

    const chart = () => page.getByTestId('chart-temp').locator('.chart');

    /** What the temp chart shows once it has the answer for the window shown. */
    const shown = async () => {
      const el = chart();
      const window = (await el.getAttribute('data-window')) ?? '';
      const [from, to] = window.split('/').map((t) => Date.parse(t));
      const interval = (await page.getByTestId('series-interval').innerText()).split(' per ')[1] ?? '';
      return {
        from: from!,
        to: to!,
        interval: intervalMs(interval),
        points: Number(await el.getAttribute('data-points')),
        last: Number(await el.getAttribute('data-last-value')),
        labels: ((await el.getAttribute('data-x-labels')) ?? '').split('|').filter((l) => l !== ''),
      };
    };

    /** Picks a range and waits until the chart holds the brute force's buckets for its window. */
    const pick = async (range: string, aggregation: 'avg' | 'max', aggregate: (v: number[]) => number) => {
      await page
        .getByLabel('Charts: time range and aggregation')
        .getByLabel('Time range')
        .selectOption({ label: range });
      await page
        .getByLabel('Charts: time range and aggregation')
        .getByLabel('Aggregation')
        .selectOption(aggregation);
      await page
        .getByTestId('series-interval')
        .filter({ hasText: `${aggregation} per` })
        .waitFor();
      let last: Awaited<ReturnType<typeof shown>> | undefined;
      let want: ReturnType<typeof buckets> = [];
      for (let i = 0; i < 50; i++) {
        last = await shown();
        want = buckets(rows, last.from, last.to, last.interval, aggregate);
        if (last.points === want.length && Math.abs(last.last - want[want.length - 1]!.value) < 1e-9) break;
        await page.waitForTimeout(100);
      }
      assert.ok(last);
      assert.equal(last.points, want.length, `${range}: one point per bucket with data`);
      assert.ok(
        Math.abs(last.last - want[want.length - 1]!.value) < 1e-9,
        `${range}: the last bucket's ${aggregation}`,
      );
      return { ...last, want };
    };

    it('switches the Overview chart from 30 minutes to a week to 30 days, average and maximum', async () => {
      await page.goto(`${server.baseUrl}/devices/${DEVICE}`);
      await page.getByRole('heading', { level: 1, name: 'History sensor' }).waitFor();

      const half = await pick('Last 30 minutes', 'avg', avg);
      assert.ok(half.points >= 25 && half.points <= 31, `about one point a minute: ${half.points}`);
      assert.ok(half.interval <= MINUTE, 'short buckets');
      // Times of day, never seconds or milliseconds, over 30 minutes.
      assert.ok(half.labels.length >= 3, half.labels.join('|'));
      for (const l of half.labels) assert.match(l, /^\d{2}:\d{2}$/, half.labels.join('|'));
      await browser.screenshot(page, 'history-30-minutes');

      const week = await pick('Last week', 'avg', avg);
      assert.ok(week.points > 300, `a week in buckets: ${week.points}`);
      for (const l of week.labels) assert.match(l, /^[A-Z][a-z]{2} \d{1,2}$/, week.labels.join('|'));
      const weekMax = await pick('Last week', 'max', max);
      assert.equal(weekMax.points, week.points);
      assert.ok(weekMax.last >= week.last, 'the maximum of the last bucket is not below its average');
      assert.ok(
        weekMax.want.some((b, i) => b.value > week.want[i]!.value),
        'the maximum differs from the average somewhere in the week',
      );
      await browser.screenshot(page, 'history-week-max');

      const month = await pick('Last 30 days', 'max', max);
      assert.ok(month.points > week.points && month.interval > week.interval, `${month.points} points`);
      await browser.screenshot(page, 'history-30-days');

      // Download CSV: the buckets shown, as the server wrote them.
      const [download] = await Promise.all([
        page.waitForEvent('download'),
        page
          .getByRole('button', { name: /Download CSV/ })
          .first()
          .click(),
      ]);
      assert.match(download.suggestedFilename(), new RegExp(`^${DEVICE}-temp-.*\\.csv$`));
      const text = await readFile((await download.path())!, 'utf8');
      const lines = text.trim().split(/\r?\n/);
      assert.equal(lines[0], 'time,value,count');
      assert.equal(lines.length - 1, month.want.length, 'one row per bucket shown');
      const firstRow = lines[1]!.split(',');
      assert.equal(Date.parse(firstRow[0]!), month.want[0]!.time);
      assert.equal(Number(firstRow[1]), month.want[0]!.value);
      assert.equal(Number(firstRow[2]), month.want[0]!.count);
    });

    it('pages the device list 25 at a time, sorts by a column and searches on the server', async () => {
      const fleet = await insertFleet(server.db, 300, { prefix: 'ui' });
      const all = [
        ...fleet.map((d) => ({ id: d.id, name: d.displayName })),
        { id: DEVICE, name: 'History sensor' },
      ];
      const byName = [...all].sort((a, b) =>
        a.name < b.name ? -1 : a.name > b.name ? 1 : a.id < b.id ? -1 : 1,
      );
      const rowIds = async () =>
        page
          .locator('table[aria-label="Devices"] tbody tr')
          .evaluateAll((trs) =>
            trs.map((tr) =>
              (
                (tr as unknown as { getAttribute(name: string): string | null }).getAttribute(
                  'data-testid',
                ) ?? ''
              ).replace('device-row-', ''),
            ),
          );
      const waitRows = async (ids: string[]) => {
        await page.getByTestId(`device-row-${ids[0]}`).waitFor();
        await page.getByTestId(`device-row-${ids[ids.length - 1]}`).waitFor();
        assert.deepEqual(await rowIds(), ids);
      };

      await page.goto(`${server.baseUrl}/devices`);
      await page.getByRole('heading', { level: 1, name: 'Devices' }).waitFor();
      await waitRows(byName.slice(0, 25).map((d) => d.id));
      await page.getByText('Page 1').waitFor();
      await page.getByRole('button', { name: 'Next' }).click();
      await waitRows(byName.slice(25, 50).map((d) => d.id));
      await page.getByText('Page 2').waitFor();
      await browser.screenshot(page, 'history-devices-page-2');
      await page.getByRole('button', { name: 'Previous' }).click();
      await waitRows(byName.slice(0, 25).map((d) => d.id));

      // Device ID, then again for descending: the last IDs first.
      await page.getByRole('button', { name: 'Device ID' }).click();
      const byId = all.map((d) => d.id).sort();
      await waitRows(byId.slice(0, 25));
      await page.getByRole('button', { name: 'Device ID' }).click();
      await waitRows([...byId].reverse().slice(0, 25));
      assert.equal(
        await page.getByRole('columnheader', { name: /Device ID/ }).getAttribute('aria-sort'),
        'descending',
      );

      // Search: the server's filter, paged the same way.
      await page.getByLabel('Search devices').fill("o'brien");
      const brien = all
        .filter((d) => d.name.toLowerCase().includes("o'brien"))
        .map((d) => d.id)
        .sort()
        .reverse();
      assert.equal(brien.length, 50, 'every sixth device');
      await waitRows(brien.slice(0, 25));
      await page.getByRole('button', { name: 'Next' }).click();
      await waitRows(brien.slice(25, 50));
      assert.equal(await page.getByRole('button', { name: 'Next' }).isDisabled(), true);
      await browser.screenshot(page, 'history-devices-search');
    });
  },
);
