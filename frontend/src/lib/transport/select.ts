// Picks the transport at startup: bound Go methods inside the desktop window, the
// same-origin HTTP API anywhere else.

import type { Transport } from '../api';
import { HttpTransport } from './http';
import { WailsTransport, type WailsApp, type WailsRuntime } from './wails';

/** The globals Wails injects into the page. */
export interface WailsGlobals {
  go?: { app?: { App?: WailsApp } };
  runtime?: WailsRuntime;
  wails?: unknown;
}

/** Returns a WailsTransport when the bindings are present, else an HttpTransport. */
export function transportFor(win: WailsGlobals): Transport {
  const app = win.go?.app?.App;
  if (app) return new WailsTransport(app, win.runtime);
  return new HttpTransport();
}

/**
 * Like transportFor, but when the Wails runtime is on the page without the bindings yet,
 * waits for them a little instead of falling back to HTTP.
 */
export async function selectTransport(
  win: WailsGlobals,
  opts: { waitMs?: number; stepMs?: number } = {},
): Promise<Transport> {
  const waitMs = opts.waitMs ?? 1000;
  const stepMs = opts.stepMs ?? 20;
  if (!win.go?.app?.App && (win.runtime || win.wails)) {
    for (let waited = 0; waited < waitMs && !win.go?.app?.App; waited += stepMs) {
      await new Promise((r) => setTimeout(r, stepMs));
    }
  }
  return transportFor(win);
}
