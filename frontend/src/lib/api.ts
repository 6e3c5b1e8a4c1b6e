// The one transport contract the screens use, and the one error type it throws.

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
} from './types';

/** Machine-readable failure kinds agreed with the server. Unknown codes pass through as strings. */
export type ErrorCode =
  | 'invalid_request'
  | 'invalid_json'
  | 'body_too_large'
  | 'invalid_email'
  | 'weak_password'
  | 'invalid_credentials'
  | 'rate_limited'
  | 'invalid_code'
  | 'code_expired'
  | 'too_many_attempts'
  | 'unknown_challenge'
  | 'invalid_token'
  | 'token_expired'
  | 'not_found'
  | 'forbidden'
  | 'unavailable'
  | 'internal';

/** A failure reported by the account server (or the transport itself, as `unavailable`). */
export class ApiError extends Error {
  readonly code: ErrorCode | (string & {});
  /** Seconds to wait before trying again (rate limits). */
  readonly retryAfter: number | undefined;
  /** Code entries left on the challenge (invalid_code). */
  readonly attemptsLeft: number | undefined;
  /** The request field the error is about, when the server names one. */
  readonly field: string | undefined;

  constructor(
    code: ErrorCode | (string & {}),
    message: string,
    extra: { retryAfter?: number | undefined; attemptsLeft?: number | undefined; field?: string | undefined } = {},
  ) {
    super(message || code);
    this.name = 'ApiError';
    this.code = code;
    this.retryAfter = extra.retryAfter;
    this.attemptsLeft = extra.attemptsLeft;
    this.field = extra.field;
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function num(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  return undefined;
}

/**
 * Turns whatever a failed call produced into an ApiError: the server's
 * `{error: {code, message, retry_after?, attempts_left?, field?}}`, the bare inner object
 * (what the Wails ErrorFormatter rejects with), a JSON string of either, or anything else.
 */
export function toApiError(raw: unknown, fallbackCode: string = 'internal'): ApiError {
  if (raw instanceof ApiError) return raw;
  if (typeof raw === 'string') {
    const s = raw.trim();
    if (s.startsWith('{')) {
      try {
        return toApiError(JSON.parse(s) as unknown, fallbackCode);
      } catch {
        // not JSON after all; fall through to a plain message
      }
    }
    return new ApiError(fallbackCode, s);
  }
  if (isRecord(raw)) {
    const inner = isRecord(raw['error']) ? raw['error'] : raw;
    if (typeof inner['code'] === 'string') {
      return new ApiError(inner['code'], typeof inner['message'] === 'string' ? inner['message'] : '', {
        retryAfter: num(inner['retry_after']),
        attemptsLeft: num(inner['attempts_left']),
        field: typeof inner['field'] === 'string' ? inner['field'] : undefined,
      });
    }
    if (typeof inner['message'] === 'string') return new ApiError(fallbackCode, inner['message']);
  }
  if (raw instanceof Error) return new ApiError(fallbackCode, raw.message);
  return new ApiError(fallbackCode, 'Unexpected error');
}

/** The screens the window reports as shown: their data-screen names ("loading" is not one). */
export type ShownScreen = 'signin' | 'signup' | 'code' | 'shop' | 'profile';

const shownScreens: readonly string[] = ['signin', 'signup', 'code', 'shop', 'profile'] satisfies ShownScreen[];

/** Whether a data-screen value is one ScreenShown accepts (app/screen.go keeps the same list). */
export function isShownScreen(name: string): name is ShownScreen {
  return shownScreens.includes(name);
}

/**
 * Everything the UI asks of the account server. Two implementations: WailsTransport
 * (bound Go methods in the desktop window) and HttpTransport (same-origin JSON API and
 * cookies in a browser). Every method rejects with an ApiError.
 */
export interface Transport {
  readonly kind: 'wails' | 'http';

  signUp(email: string, password: string): Promise<void>;
  signIn(email: string, password: string): Promise<SignInResult>;
  verify(challengeId: string, code: string): Promise<SignInResult>;
  resend(challengeId: string): Promise<ResendResult>;
  challenge(challengeId: string): Promise<Challenge>;
  /** The current session, or null when the user must sign in. */
  restoreSession(): Promise<Session | null>;
  signOut(): Promise<void>;

  security(): Promise<Security>;
  setTwoFactor(on: boolean, password: string): Promise<void>;
  forgetDevice(id: number): Promise<void>;
  forgetNetwork(id: number): Promise<void>;
  signOutEverywhere(): Promise<void>;
  changePassword(current: string, next: string): Promise<void>;

  /** Whether the QA tools are served (`--qa`). Never rejects. */
  qaEnabled(): Promise<boolean>;
  qaMessages(): Promise<MessageSummary[]>;
  qaMessage(id: number): Promise<Message>;
  qaClearInbox(): Promise<void>;
  qaClock(): Promise<ClockReading>;
  /** Moves the server clock forward by a Go duration such as "10m" or "720h". */
  qaAdvanceClock(duration: string): Promise<ClockReading>;
  qaResetClock(): Promise<ClockReading>;
  qaSimulateNewDevice(): Promise<void>;
  qaSimulateNewNetwork(): Promise<void>;
  qaEvents(email: string): Promise<AuditEvent[]>;

  /**
   * Tells the desktop app that a different screen is on show: mounted, focused, painted, so
   * it answers the keyboard. The app logs it (`msg="screen shown" screen=signin`); the
   * desktop end-to-end test waits on that line and times start-up with it. Fire and forget:
   * never rejects, and the browser has nobody to tell.
   */
  screenShown(name: ShownScreen): void;

  /**
   * Subscribes to a push from the desktop app; returns the unsubscribe function.
   * Pushes are not buffered: callers pull state first and treat pushes as hints.
   */
  on(event: PushEvent, callback: () => void): () => void;
}
