// Plain-HTTP callers a test uses beside the browser: the QA API (as a QA engineer's
// script calls it, without the shop's cookies) and the desktop app's client (Bearer token
// plus X-Device-ID, as backend/apiclient sends them).

import { randomBytes } from 'node:crypto';
import { expect } from '@playwright/test';
import type { AuditEvent, MessageSummary, SignInResult } from '../src/lib/types';

export interface ApiAnswer<T = unknown> {
  status: number;
  body: T;
  headers: Headers;
}

export interface ApiErrorBody {
  error: { code: string; message: string; attempts_left?: number; retry_after?: number };
}

/** One request; the body parsed as JSON when there is one. */
export async function call<T>(url: string, init: RequestInit = {}): Promise<ApiAnswer<T>> {
  const res = await fetch(url, init);
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T, headers: res.headers };
}

export function json(method: string, body: unknown, headers: Record<string, string> = {}): RequestInit {
  return { method, headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(body) };
}

export interface Code {
  code: string;
  message_id: number;
}

/** The QA API of one server. */
export class QA {
  constructor(private readonly base: string) {}

  private async ok<T>(path: string, init?: RequestInit): Promise<T> {
    const res = await call<T>(this.base + path, init);
    if (res.status >= 300) throw new Error(`${init?.method ?? 'GET'} ${path}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  }

  async createAccount(email: string, password: string, twoFactor: boolean): Promise<void> {
    await this.ok('/api/qa/accounts', json('POST', { email, password, two_factor: twoFactor }));
  }

  /** The newest code emailed to `to`, waiting for one to arrive. */
  code(to: string): Promise<Code> {
    return this.ok(`/api/qa/code?to=${encodeURIComponent(to)}&wait=10s`);
  }

  /** The first code emailed to `to` after `previous` (a resend, a new sign-in). */
  async nextCode(to: string, previous: Code): Promise<Code> {
    let next = previous;
    await expect
      .poll(async () => (next = await this.code(to)).message_id, { message: `a new code email to ${to}`, timeout: 10_000 })
      .toBeGreaterThan(previous.message_id);
    return next;
  }

  async messages(to: string): Promise<MessageSummary[]> {
    return (await this.ok<{ messages: MessageSummary[] }>(`/api/qa/messages?to=${encodeURIComponent(to)}`)).messages;
  }

  async events(email: string): Promise<AuditEvent[]> {
    return (await this.ok<{ events: AuditEvent[] }>(`/api/qa/events?email=${encodeURIComponent(email)}`)).events;
  }

  /** Moves the server's clock, e.g. "61s", "10m", "720h". */
  async advanceClock(duration: string): Promise<void> {
    await this.ok('/api/qa/clock', json('POST', { advance: duration }));
  }
}

/** The desktop app, as its Go client talks to the account server. */
export class DesktopApp {
  readonly deviceId = randomBytes(16).toString('hex');
  private token = '';

  constructor(
    private readonly base: string,
    readonly deviceName = 'Desktop app (e2e)',
  ) {}

  private headers(): Record<string, string> {
    const h: Record<string, string> = { 'X-Device-ID': this.deviceId };
    if (this.token) h['Authorization'] = `Bearer ${this.token}`;
    return h;
  }

  async signIn(email: string, password: string): Promise<SignInResult> {
    const res = await call<SignInResult>(
      `${this.base}/api/v1/signin`,
      json('POST', { email, password, device_id: this.deviceId, device_name: this.deviceName }, this.headers()),
    );
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    if (res.body.token) this.token = res.body.token;
    return res.body;
  }

  async verify(challengeId: string, code: string): Promise<SignInResult> {
    const res = await call<SignInResult>(
      `${this.base}/api/v1/signin/verify`,
      json('POST', { challenge_id: challengeId, code, device_id: this.deviceId }, this.headers()),
    );
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.token).toBeTruthy();
    this.token = res.body.token ?? '';
    return res.body;
  }

  /** GET /api/v1/session with the app's token: what the app does at start. */
  session(): Promise<ApiAnswer<unknown>> {
    return call(`${this.base}/api/v1/session`, { headers: this.headers() });
  }
}
