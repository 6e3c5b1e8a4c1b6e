// Remaining-time arithmetic and formatting for the code's validity countdown.

/** Whole seconds left until deadlineMs, rounded up, never negative. */
export function secondsLeft(deadlineMs: number, nowMs: number): number {
  if (!Number.isFinite(deadlineMs)) return 0;
  return Math.max(0, Math.ceil((deadlineMs - nowMs) / 1000));
}

/** "10:00", "9:05", "0:00"; hours appear only when needed ("1:02:03"). */
export function formatDuration(totalSeconds: number): string {
  const s = Math.max(0, Math.floor(totalSeconds));
  const hours = Math.floor(s / 3600);
  const minutes = Math.floor((s % 3600) / 60);
  const seconds = s % 60;
  const ss = String(seconds).padStart(2, '0');
  if (hours > 0) return `${hours}:${String(minutes).padStart(2, '0')}:${ss}`;
  return `${minutes}:${ss}`;
}

export interface Remaining {
  seconds: number;
  text: string;
  expired: boolean;
}

/** Time left until an RFC 3339 expiry, as shown on the code screen. */
export function remaining(expiresAt: string, nowMs: number): Remaining {
  const seconds = secondsLeft(Date.parse(expiresAt), nowMs);
  return { seconds, text: formatDuration(seconds), expired: seconds === 0 };
}
