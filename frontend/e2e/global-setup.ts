// Runs once before the tests: fails early, with the fix, when the server binary or the
// browser is missing, and empties the screenshot folder so it shows only this run.

import { accessSync, constants, mkdirSync, rmSync } from 'node:fs';
import { chromiumPath, screenshotDir, serverBinary } from './paths';

function executable(path: string, fix: string): void {
  try {
    accessSync(path, constants.X_OK);
  } catch {
    throw new Error(`${path} is missing or not executable: ${fix}`);
  }
}

export default function globalSetup(): void {
  executable(serverBinary, 'run `make build` first (it writes build/bin/shoplogin-server), or point SHOPLOGIN_BIN at a shoplogin binary');
  executable(chromiumPath, 'install Debian\'s chromium (`apt-get install chromium`), or point CHROMIUM_BIN at one');
  rmSync(screenshotDir, { recursive: true, force: true });
  mkdirSync(screenshotDir, { recursive: true });
}
