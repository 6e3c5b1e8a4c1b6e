// End-to-end tests of the website login: Playwright drives Debian's Chromium (never a
// browser Playwright downloads) against a real `shoplogin serve --qa` on loopback, one
// fresh server per test (see fixtures.ts). Run with `npm run e2e` after `make build`, or
// `make e2e-web`.

import { resolve } from 'node:path';
import { defineConfig } from '@playwright/test';
import { artifactsDir, chromiumPath } from './paths';

export default defineConfig({
  testDir: '.',
  testMatch: '*.spec.ts',
  globalSetup: './global-setup.ts',
  outputDir: resolve(artifactsDir, 'e2e-web'),
  // Each test starts its own server, so tests could run side by side; on the two-core
  // machines this runs on, one worker (one Chromium, one server) is faster and steadier.
  workers: 1,
  forbidOnly: !!process.env['CI'],
  retries: 0,
  timeout: 60_000,
  expect: { timeout: 10_000 },
  reporter: [['list']],
  use: {
    browserName: 'chromium',
    headless: true,
    viewport: { width: 1280, height: 900 },
    locale: 'en-GB',
    timezoneId: 'UTC',
    testIdAttribute: 'data-testid',
    actionTimeout: 10_000,
    navigationTimeout: 15_000,
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
    launchOptions: {
      executablePath: chromiumPath,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    },
  },
});
