// A real `shoplogin serve --qa` for one test: its own data folder (so its own accounts,
// inbox and QA clock), on a loopback port the kernel picks, trusting 127.0.0.1 as a proxy
// so a browser context can pretend to come from another network with X-Forwarded-For.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serverBinary } from './paths';

export interface Server {
  /** The website and API, e.g. http://127.0.0.1:40123 (no trailing slash). */
  readonly url: string;
  /** Everything the server wrote, for the report of a failed test. */
  output(): string;
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 5_000;

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((done) => child.once('exit', () => done()));
}

/** Starts the server and resolves once it says "Press Ctrl+C", with the URL it printed. */
export async function startServer(): Promise<Server> {
  const dataDir = mkdtempSync(join(tmpdir(), 'shoplogin-e2e-'));
  const child = spawn(
    serverBinary,
    ['serve', '--qa', '--addr', '127.0.0.1:0', '--data', dataDir, '--trusted-proxy', '127.0.0.1/32'],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } },
  );
  let log = '';
  child.stderr?.setEncoding('utf8').on('data', (s: string) => (log += s));

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      // Ctrl+C: the server closes its database and listeners cleanly.
      child.kill('SIGINT');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await exited(child);
      clearTimeout(timer);
    }
    rmSync(dataDir, { recursive: true, force: true });
  };

  try {
    const url = await new Promise<string>((resolve, reject) => {
      let stdout = '';
      const timer = setTimeout(() => reject(new Error(`no "Press Ctrl+C" within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
      child.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`shoplogin serve exited early (${signal ?? `code ${code}`})`));
      });
      child.stdout?.setEncoding('utf8').on('data', (s: string) => {
        stdout += s;
        log += s;
        if (!stdout.includes('Press Ctrl+C')) return;
        const m = /website login:\s+(http:\/\/\S+?)\/?\s/.exec(stdout);
        clearTimeout(timer);
        if (m?.[1]) resolve(m[1]);
        else reject(new Error('the server did not say where the website is (was the frontend built into it?)'));
      });
    });
    return { url, output: () => log, stop };
  } catch (err) {
    await stop();
    throw new Error(`starting ${serverBinary}: ${(err as Error).message}\n${log}`);
  }
}
