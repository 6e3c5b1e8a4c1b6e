// WailsTransport: the desktop window calls the Go methods bound on window.go.app.App.
// The Go side owns the device identity and the token; a rejected call carries the
// ErrorFormatter's object {code, message, retry_after?, attempts_left?, field?}.

import { toApiError, type ShownScreen, type Transport } from '../api';
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

/** The bound methods, by their Go names. */
export interface WailsApp {
  SignUp(email: string, password: string): Promise<void>;
  SignIn(email: string, password: string): Promise<SignInResult>;
  Verify(challengeId: string, code: string): Promise<SignInResult>;
  Resend(challengeId: string): Promise<ResendResult>;
  Challenge(challengeId: string): Promise<Challenge>;
  RestoreSession(): Promise<Session | null>;
  SignOut(): Promise<void>;
  Security(): Promise<Security>;
  SetTwoFactor(on: boolean, password: string): Promise<void>;
  ForgetDevice(id: number): Promise<void>;
  ForgetNetwork(id: number): Promise<void>;
  SignOutEverywhere(): Promise<void>;
  ChangePassword(current: string, next: string): Promise<void>;
  QAEnabled(): Promise<boolean>;
  QAMessages(): Promise<MessageSummary[] | null>;
  QAMessage(id: number): Promise<Message>;
  QAClearInbox(): Promise<void>;
  QAClock(): Promise<ClockReading>;
  QAAdvanceClock(duration: string): Promise<ClockReading>;
  QAResetClock(): Promise<ClockReading>;
  QASimulateNewDevice(): Promise<void>;
  QASimulateNewNetwork(): Promise<void>;
  QAEvents(email: string): Promise<AuditEvent[] | null>;
  ScreenShown(name: string): Promise<void>;
}

/** The part of window.runtime we use. */
export interface WailsRuntime {
  EventsOn(name: string, callback: (...data: unknown[]) => void): (() => void) | undefined;
  EventsOff?(name: string, ...more: string[]): void;
}

async function call<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw toApiError(e);
  }
}

export class WailsTransport implements Transport {
  readonly kind = 'wails' as const;

  constructor(
    private readonly app: WailsApp,
    private readonly runtime: WailsRuntime | undefined,
  ) {}

  signUp(email: string, password: string): Promise<void> {
    return call(() => this.app.SignUp(email, password));
  }
  signIn(email: string, password: string): Promise<SignInResult> {
    return call(() => this.app.SignIn(email, password));
  }
  verify(challengeId: string, code: string): Promise<SignInResult> {
    return call(() => this.app.Verify(challengeId, code));
  }
  resend(challengeId: string): Promise<ResendResult> {
    return call(() => this.app.Resend(challengeId));
  }
  challenge(challengeId: string): Promise<Challenge> {
    return call(() => this.app.Challenge(challengeId));
  }
  async restoreSession(): Promise<Session | null> {
    try {
      return (await call(() => this.app.RestoreSession())) ?? null;
    } catch (e) {
      const err = toApiError(e);
      if (err.code === 'invalid_token' || err.code === 'token_expired') return null;
      throw err;
    }
  }
  signOut(): Promise<void> {
    return call(() => this.app.SignOut());
  }
  security(): Promise<Security> {
    return call(() => this.app.Security());
  }
  setTwoFactor(on: boolean, password: string): Promise<void> {
    return call(() => this.app.SetTwoFactor(on, password));
  }
  forgetDevice(id: number): Promise<void> {
    return call(() => this.app.ForgetDevice(id));
  }
  forgetNetwork(id: number): Promise<void> {
    return call(() => this.app.ForgetNetwork(id));
  }
  signOutEverywhere(): Promise<void> {
    return call(() => this.app.SignOutEverywhere());
  }
  changePassword(current: string, next: string): Promise<void> {
    return call(() => this.app.ChangePassword(current, next));
  }
  async qaEnabled(): Promise<boolean> {
    try {
      return (await this.app.QAEnabled()) === true;
    } catch {
      return false;
    }
  }
  async qaMessages(): Promise<MessageSummary[]> {
    return (await call(() => this.app.QAMessages())) ?? [];
  }
  qaMessage(id: number): Promise<Message> {
    return call(() => this.app.QAMessage(id));
  }
  qaClearInbox(): Promise<void> {
    return call(() => this.app.QAClearInbox());
  }
  qaClock(): Promise<ClockReading> {
    return call(() => this.app.QAClock());
  }
  qaAdvanceClock(duration: string): Promise<ClockReading> {
    return call(() => this.app.QAAdvanceClock(duration));
  }
  qaResetClock(): Promise<ClockReading> {
    return call(() => this.app.QAResetClock());
  }
  qaSimulateNewDevice(): Promise<void> {
    return call(() => this.app.QASimulateNewDevice());
  }
  qaSimulateNewNetwork(): Promise<void> {
    return call(() => this.app.QASimulateNewNetwork());
  }
  async qaEvents(email: string): Promise<AuditEvent[]> {
    return (await call(() => this.app.QAEvents(email))) ?? [];
  }

  screenShown(name: ShownScreen): void {
    // Only a log line is at stake: a failure must never reach the screens.
    call(() => this.app.ScreenShown(name)).catch(() => {});
  }

  on(event: PushEvent, callback: () => void): () => void {
    const off = this.runtime?.EventsOn(event, () => callback());
    return typeof off === 'function' ? off : () => {};
  }
}
