// Cooldowns: "Resend code" after resend_after, sign-in again after retry_after.

import { formatDuration, secondsLeft } from './countdown';

/**
 * The moment (ms) a cooldown ends. The server sends either an RFC 3339 time or a number
 * of seconds counted from when the answer arrived; absent means no cooldown.
 */
export function cooldownDeadline(value: string | number | null | undefined, receivedAtMs: number): number {
  if (value === null || value === undefined || value === '') return receivedAtMs;
  if (typeof value === 'number') return receivedAtMs + Math.max(0, value) * 1000;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return receivedAtMs + Number(trimmed) * 1000;
  const t = Date.parse(trimmed);
  return Number.isNaN(t) ? receivedAtMs : t;
}

/** The end of a rate limit that answered with retry_after seconds. */
export function retryDeadline(retryAfterSeconds: number | undefined, nowMs: number): number {
  return nowMs + Math.max(0, retryAfterSeconds ?? 0) * 1000;
}

/** Seconds until the cooldown ends (0 when it has). */
export function cooldownLeft(deadlineMs: number, nowMs: number): number {
  return secondsLeft(deadlineMs, nowMs);
}

export function cooldownOver(deadlineMs: number, nowMs: number): boolean {
  return cooldownLeft(deadlineMs, nowMs) === 0;
}

/** "Resend code", or "Resend code in 0:42" while cooling down. */
export function resendLabel(deadlineMs: number, nowMs: number, label = 'Resend code'): string {
  const left = cooldownLeft(deadlineMs, nowMs);
  return left === 0 ? label : `${label} in ${formatDuration(left)}`;
}
