import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

/** Debian's Chromium (`apt-get install chromium`); never a browser downloaded by a test tool. */
export const CHROMIUM = process.env['GATEHOUSE_CHROMIUM'] ?? '/usr/bin/chromium';

/**
 * Why the UI tests cannot run here, or undefined when they can. `.ci/run` sets
 * GATEHOUSE_REQUIRE_BROWSER=1: there a missing browser fails the run instead.
 */
export function browserSkipReason(): string | undefined {
  if (existsSync(CHROMIUM)) return undefined;
  const reason = `Chromium not found at ${CHROMIUM} (apt-get install chromium)`;
  if (process.env['GATEHOUSE_REQUIRE_BROWSER'] === '1') throw new Error(reason);
  return reason;
}

/** Where screenshots go: test-artifacts/screenshots at the repository root. */
export const SCREENSHOT_DIR = resolve(
  process.env['GATEHOUSE_REPO_ROOT'] ?? process.cwd(),
  'test-artifacts',
  'screenshots',
);

export interface BrowserHarness {
  browser: Browser;
  /** A fresh context (own storage) with a page, 1280×800 unless told otherwise. */
  newPage(viewport?: { width: number; height: number }): Promise<{ context: BrowserContext; page: Page }>;
  /** Full-page screenshot into {@link SCREENSHOT_DIR}/<name>.png; returns the path. */
  screenshot(page: Page, name: string): Promise<string>;
  close(): Promise<void>;
}

/**
 * Headless Chromium with the flags this machine needs: no sandbox (root), no GPU,
 * and none of the background connections a closed network refuses.
 */
export async function launchBrowser(): Promise<BrowserHarness> {
  const userDataDir = await mkdtemp(join(tmpdir(), 'gatehouse-chromium-'));
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
    ],
  });
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  return {
    browser,
    async newPage(viewport = { width: 1280, height: 800 }) {
      const context = await browser.newContext({ viewport });
      const page = await context.newPage();
      page.setDefaultTimeout(15_000);
      return { context, page };
    },
    async screenshot(page, name) {
      const path = join(SCREENSHOT_DIR, `${name}.png`);
      await page.screenshot({ path, fullPage: true });
      return path;
    },
    async close() {
      await browser.close();
      await rm(userDataDir, { recursive: true, force: true });
    },
  };
}

/** Sign in through the form (the first page of the app for a new browser context). */
export async function signIn(
  page: Page,
  baseUrl: string,
  password: string,
  username = 'admin',
): Promise<void> {
  await page.goto(baseUrl + '/');
  await page.getByLabel('User name').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('navigation', { name: 'Main' }).waitFor();
}
