// Time sources. Screens never call Date.now() directly: tests inject a fixed clock, and
// the UI follows the *server's* clock, which QA can move forward ("+10 min", "+1 month").

/** Milliseconds since the Unix epoch. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** A clock tests move by hand. */
export class ManualClock implements Clock {
  constructor(private t: number) {}
  now(): number {
    return this.t;
  }
  set(t: number): void {
    this.t = t;
  }
  advance(ms: number): void {
    this.t += ms;
  }
}

/** Lifetime of a verification code (fixed by the product). */
export const CODE_TTL_MS = 10 * 60 * 1000;

/**
 * The server's clock as seen from this window: local time plus the last observed offset.
 * Countdowns compare server times (expires_at, resend_after) with this, so they stay
 * right when the QA clock has been moved or the server runs elsewhere.
 */
export class ServerClock implements Clock {
  private offsetMs = 0;

  constructor(private readonly local: Clock = systemClock) {}

  now(): number {
    return this.local.now() + this.offsetMs;
  }

  /** Adopts a server time reading ("now" in an answer, the QA clock). */
  sync(serverNow: string | undefined | null): void {
    if (!serverNow) return;
    const t = Date.parse(serverNow);
    if (!Number.isNaN(t)) this.offsetMs = t - this.local.now();
  }

  /**
   * A code that was issued just now expires CODE_TTL_MS after the server's "now"; when an
   * answer carries no "now", that tells us the server's time anyway.
   */
  syncFromFreshCode(expiresAt: string, serverNow?: string): void {
    if (serverNow) {
      this.sync(serverNow);
      return;
    }
    const t = Date.parse(expiresAt);
    if (!Number.isNaN(t)) this.offsetMs = t - CODE_TTL_MS - this.local.now();
  }
}
