// The world each test gets: a fresh server, its QA API, browser contexts pointed at it,
// and a camera for screenshots; plus the few steps a person repeats on the website
// (sign in, type a code, open Account Security), done with the keyboard where a person would.

import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { test as base, expect, type BrowserContext, type BrowserContextOptions, type Locator, type Page } from '@playwright/test';
import { DesktopApp, QA } from './clients';
import { screenshotDir } from './paths';
import { startServer, type Server } from './server';

export type ScreenName = 'signin' | 'signup' | 'code' | 'shop' | 'profile';

/** A request from this address reaches the server through its trusted proxy (127.0.0.1),
 * so the server sees network 203.0.113.0/24 (TEST-NET-3) instead of 127.0.0.0/24. */
export const PROXIED_CLIENT = '203.0.113.7';
export const PROXIED_NETWORK = '203.0.113.0/24';

/** Not on the common-password list, long enough for the shop's rules. */
export const PASSWORD = 'Violet-Harbour-9142';

/** The seed's subject line, to the character. */
export function codeSubject(code: string): string {
  return `Image Line Account | Two Factor Authentication code ( ${code} ) [Action Required]`;
}

/** A six-digit code that is surely not `code`: every digit moved by five. */
export function wrongCode(code: string): string {
  return code.replace(/\d/g, (d) => String((Number(d) + 5) % 10));
}

interface Fixtures {
  server: Server;
  qa: QA;
  /** A new desktop app (its own device id) talking to the test's server. */
  desktopApp: () => DesktopApp;
  /** Another browser context on the test's server (another browser profile, or the same
   * profile reopened); closed at the end of the test. */
  openContext: (options?: BrowserContextOptions) => Promise<BrowserContext>;
  /** Saves artifacts/screenshots/web/<test>-<NN>-<step>.png; <test> is the title up to ':'.
   * The app scrolls inside its main pane, so `show` is scrolled into view first. */
  shot: (page: Page, step: string, show?: Locator) => Promise<void>;
}

export const test = base.extend<Fixtures>({
  server: async ({}, use, testInfo) => {
    const server = await startServer();
    try {
      await use(server);
    } finally {
      await server.stop();
      if (testInfo.status !== testInfo.expectedStatus) {
        await testInfo.attach('server output', { body: server.output(), contentType: 'text/plain' });
      }
    }
  },
  // The built-in page and context open the test's own server at "/".
  baseURL: async ({ server }, use) => {
    await use(server.url);
  },
  qa: async ({ server }, use) => {
    await use(new QA(server.url));
  },
  desktopApp: async ({ server }, use) => {
    await use(() => new DesktopApp(server.url));
  },
  openContext: async ({ browser, server, viewport, locale, timezoneId }, use) => {
    const opened: BrowserContext[] = [];
    await use(async (options = {}) => {
      const context = await browser.newContext({ viewport, locale, timezoneId, ...options, baseURL: server.url });
      opened.push(context);
      return context;
    });
    for (const context of opened) await context.close().catch(() => {});
  },
  shot: async ({}, use, testInfo) => {
    const name = slug(testInfo.title.split(':')[0] ?? testInfo.title);
    let n = 0;
    mkdirSync(screenshotDir, { recursive: true });
    await use(async (page, step, show) => {
      n++;
      await show?.evaluate((el) => el.scrollIntoView({ block: 'center' }));
      const file = resolve(screenshotDir, `${name}-${String(n).padStart(2, '0')}-${slug(step)}.png`);
      await page.screenshot({ path: file, animations: 'disabled', caret: 'hide' });
    });
  },
});

function slug(s: string): string {
  return s
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
}

export { expect };

/** Waits until the app shows `name` (the root element's data-screen). */
export async function expectScreen(page: Page, name: ScreenName): Promise<void> {
  await expect(page.locator('[data-screen]')).toHaveAttribute('data-screen', name);
}

/** Opens the website and waits for the first real screen. */
export async function open(page: Page, expected: ScreenName): Promise<void> {
  await page.goto('/');
  await expectScreen(page, expected);
}

/** Types the email (unless it is already there) and password, and presses Enter. */
export async function signIn(page: Page, email: string, password = PASSWORD): Promise<void> {
  await expectScreen(page, 'signin');
  const emailBox = page.getByTestId('signin-email');
  if ((await emailBox.inputValue()) !== email) await emailBox.fill(email);
  await page.getByTestId('signin-password').fill(password);
  await page.getByTestId('signin-password').press('Enter');
}

/** The code screen's first box has the focus, as it does on arrival, after a wrong code
 * and after a resend; typing the six digits fills the boxes and submits. */
export async function typeCode(page: Page, code: string): Promise<void> {
  await expectScreen(page, 'code');
  const first = page.getByTestId('code-box-0');
  await expect(first).toBeFocused();
  await expect(first).toHaveValue('');
  await page.keyboard.type(code);
}

/** Profile > Personal data > Account Security, loaded. */
export async function openAccountSecurity(page: Page): Promise<void> {
  await page.getByTestId('nav-profile').click();
  await expectScreen(page, 'profile');
  const personal = page.getByTestId('profile-tab-personal');
  if ((await personal.getAttribute('aria-selected')) !== 'true') await personal.click();
  await expect(personal).toHaveAttribute('aria-selected', 'true');
  await expect(page.getByTestId('security')).toBeVisible();
  await expect(page.getByTestId('security-2fa-current')).toBeVisible();
}

/** The QA panel, opened with its toggle. */
export async function openQAPanel(page: Page): Promise<void> {
  const toggle = page.getByTestId('qa-toggle');
  if ((await toggle.getAttribute('aria-expanded')) !== 'true') await toggle.click();
  await expect(page.getByTestId('qa-panel')).toBeVisible();
}
