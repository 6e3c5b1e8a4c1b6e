// HttpTransport: the browser (website login) talks to the same-origin JSON API.
// The server keeps the device and the login token in HttpOnly cookies, so this side
// never sees either; every state-changing request carries X-Requested-With for CSRF.

import { ApiError, toApiError, type ShownScreen, type Transport } from '../api';
import type {
  AuditEvent,
  Challenge,
  ClockReading,
  Message,
  MessageSummary,
  PushEvent,
  ResendResult,
  Security,
  Session,
  SignInResult,
} from '../types';

type Fetch = (input: string, init: RequestInit) => Promise<Response>;

type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

export interface HttpTransportOptions {
  /** Prefix for every path; '' means the page's own origin. */
  baseUrl?: string;
  fetch?: Fetch;
  /** Abort a request after this many milliseconds. */
  timeoutMs?: number;
  /** Sent as device_name on sign-in so the security page can tell browsers apart. */
  deviceName?: string;
}

const CSRF_HEADER = 'X-Requested-With';
const CSRF_VALUE = 'shoplogin';

/** A readable name for this browser, e.g. "Firefox on Linux". */
export function browserDeviceName(userAgent: string): string {
  const browser = /Edg\//.test(userAgent)
    ? 'Edge'
    : /Firefox\//.test(userAgent)
      ? 'Firefox'
      : /Chrom(e|ium)\//.test(userAgent)
        ? 'Chrome'
        : /Safari\//.test(userAgent)
          ? 'Safari'
          : 'Browser';
  const os = /Windows/.test(userAgent)
    ? 'Windows'
    : /Mac OS X|Macintosh/.test(userAgent)
      ? 'macOS'
      : /Android/.test(userAgent)
        ? 'Android'
        : /Linux/.test(userAgent)
          ? 'Linux'
          : '';
  return os ? `${browser} on ${os}` : browser;
}

function statusCode(status: number): string {
  if (status === 401) return 'invalid_token';
  if (status === 403) return 'forbidden';
  if (status === 404) return 'not_found';
  if (status === 413) return 'body_too_large';
  if (status === 429) return 'rate_limited';
  if (status === 502 || status === 503 || status === 504) return 'unavailable';
  if (status >= 500) return 'internal';
  return 'invalid_request';
}

export class HttpTransport implements Transport {
  readonly kind = 'http' as const;
  private readonly baseUrl: string;
  private readonly fetchFn: Fetch;
  private readonly timeoutMs: number;
  private readonly deviceName: string;

  constructor(opts: HttpTransportOptions = {}) {
    this.baseUrl = opts.baseUrl ?? '';
    this.fetchFn = opts.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.timeoutMs = opts.timeoutMs ?? 15000;
    this.deviceName = opts.deviceName ?? browserDeviceName(globalThis.navigator?.userAgent ?? '');
  }

  private async request<T>(method: Method, path: string, body?: Record<string, unknown>): Promise<T> {
    const headers: Record<string, string> = { Accept: 'application/json' };
    let payload: string | undefined;
    if (method !== 'GET') {
      headers['Content-Type'] = 'application/json';
      headers[CSRF_HEADER] = CSRF_VALUE;
      if (method !== 'DELETE') payload = JSON.stringify(body ?? {});
    }
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.timeoutMs);
    let res: Response;
    try {
      res = await this.fetchFn(this.baseUrl + path, {
        method,
        headers,
        body: payload,
        credentials: 'same-origin',
        cache: 'no-store',
        signal: controller.signal,
      });
    } catch {
      throw new ApiError('unavailable', 'The account server cannot be reached.');
    } finally {
      clearTimeout(timer);
    }

    const text = res.status === 204 ? '' : await res.text().catch(() => '');
    let data: unknown = undefined;
    if (text !== '') {
      try {
        data = JSON.parse(text) as unknown;
      } catch {
        data = undefined;
      }
    }
    if (res.ok) return data as T;

    const err = toApiError(data ?? text, statusCode(res.status));
    if (err.retryAfter === undefined) {
      const header = Number(res.headers.get('Retry-After'));
      if (Number.isFinite(header) && header > 0) {
        throw new ApiError(err.code, err.message, { retryAfter: header, attemptsLeft: err.attemptsLeft, field: err.field });
      }
    }
    throw err;
  }

  async signUp(email: string, password: string): Promise<void> {
    await this.request('POST', '/api/v1/accounts', { email, password });
  }

  signIn(email: string, password: string): Promise<SignInResult> {
    return this.request('POST', '/api/v1/signin', { email, password, device_name: this.deviceName });
  }

  verify(challengeId: string, code: string): Promise<SignInResult> {
    return this.request('POST', '/api/v1/signin/verify', { challenge_id: challengeId, code });
  }

  resend(challengeId: string): Promise<ResendResult> {
    return this.request('POST', '/api/v1/signin/resend', { challenge_id: challengeId });
  }

  challenge(challengeId: string): Promise<Challenge> {
    return this.request('GET', `/api/v1/signin/challenge/${encodeURIComponent(challengeId)}`);
  }

  async restoreSession(): Promise<Session | null> {
    try {
      return await this.request<Session>('GET', '/api/v1/session');
    } catch (e) {
      const err = toApiError(e);
      if (err.code === 'invalid_token' || err.code === 'token_expired') return null;
      throw err;
    }
  }

  async signOut(): Promise<void> {
    await this.request('POST', '/api/v1/signout');
  }

  security(): Promise<Security> {
    return this.request('GET', '/api/v1/account/security');
  }

  async setTwoFactor(on: boolean, password: string): Promise<void> {
    await this.request('PUT', '/api/v1/account/security', { two_factor: on ? 'email' : 'off', password });
  }

  async forgetDevice(id: number): Promise<void> {
    await this.request('DELETE', `/api/v1/account/devices/${encodeURIComponent(String(id))}`);
  }

  async forgetNetwork(id: number): Promise<void> {
    await this.request('DELETE', `/api/v1/account/networks/${encodeURIComponent(String(id))}`);
  }

  async signOutEverywhere(): Promise<void> {
    await this.request('POST', '/api/v1/account/signout-all');
  }

  async changePassword(current: string, next: string): Promise<void> {
    await this.request('PUT', '/api/v1/account/password', { current_password: current, new_password: next });
  }

  async qaEnabled(): Promise<boolean> {
    try {
      await this.request('GET', '/api/qa/clock');
      return true;
    } catch {
      return false;
    }
  }

  async qaMessages(): Promise<MessageSummary[]> {
    const data = await this.request<{ messages?: MessageSummary[] } | MessageSummary[] | null>('GET', '/api/qa/messages');
    if (Array.isArray(data)) return data;
    return data?.messages ?? [];
  }

  qaMessage(id: number): Promise<Message> {
    return this.request('GET', `/api/qa/messages/${encodeURIComponent(String(id))}`);
  }

  async qaClearInbox(): Promise<void> {
    await this.request('DELETE', '/api/qa/messages');
  }

  qaClock(): Promise<ClockReading> {
    return this.request('GET', '/api/qa/clock');
  }

  qaAdvanceClock(duration: string): Promise<ClockReading> {
    return this.request('POST', '/api/qa/clock', { advance: duration });
  }

  qaResetClock(): Promise<ClockReading> {
    return this.request('POST', '/api/qa/clock', { reset: true });
  }

  async qaSimulateNewDevice(): Promise<void> {
    await this.request('POST', '/api/qa/simulate/device');
  }

  async qaSimulateNewNetwork(): Promise<void> {
    await this.request('POST', '/api/qa/simulate/network');
  }

  async qaEvents(email: string): Promise<AuditEvent[]> {
    const data = await this.request<{ events?: AuditEvent[] } | AuditEvent[] | null>(
      'GET',
      `/api/qa/events?email=${encodeURIComponent(email)}`,
    );
    if (Array.isArray(data)) return data;
    return data?.events ?? [];
  }

  /** Only the desktop app logs the screens shown; a website has no end-to-end hook. */
  screenShown(_name: ShownScreen): void {}

  /** The browser gets no pushes; the UI polls instead. */
  on(_event: PushEvent, _callback: () => void): () => void {
    return () => {};
  }
}
