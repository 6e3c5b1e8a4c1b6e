// Where the end-to-end tests find the server binary and the browser, and where they
// leave what a person may want to look at.

import { resolve } from 'node:path';

const frontendDir = resolve(import.meta.dirname, '..');
const repoDir = resolve(frontendDir, '..');

/** The shoplogin binary built by `make build` (build/bin/shoplogin-server); SHOPLOGIN_BIN overrides it. */
export const serverBinary = resolve(frontendDir, process.env['SHOPLOGIN_BIN'] ?? '../build/bin/shoplogin-server');

/** Debian's Chromium; Playwright never downloads a browser of its own here. */
export const chromiumPath = process.env['CHROMIUM_BIN'] ?? '/usr/bin/chromium';

/** The repository's git-ignored artifacts folder. */
export const artifactsDir = resolve(repoDir, 'artifacts');

/** Screenshots of each test's steps, named <test>-<step>.png. */
export const screenshotDir = resolve(artifactsDir, 'screenshots', 'web');
