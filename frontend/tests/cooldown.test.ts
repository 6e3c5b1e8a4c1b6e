import { describe, expect, it } from 'vitest';
import { cooldownDeadline, cooldownLeft, cooldownOver, resendLabel, retryDeadline } from '../src/lib/cooldown';

const t0 = Date.parse('2025-03-01T12:00:00Z');

describe('resend cooldown', () => {
  it('reads resend_after as an RFC 3339 time', () => {
    expect(cooldownDeadline('2025-03-01T12:01:00Z', t0)).toBe(t0 + 60_000);
  });

  it('reads resend_after as seconds from when the answer arrived', () => {
    expect(cooldownDeadline(60, t0)).toBe(t0 + 60_000);
    expect(cooldownDeadline('60', t0)).toBe(t0 + 60_000);
  });

  it('no resend_after means no cooldown', () => {
    expect(cooldownDeadline(undefined, t0)).toBe(t0);
    expect(cooldownOver(cooldownDeadline(undefined, t0), t0)).toBe(true);
  });

  it('keeps "Resend code" disabled until resend_after, then enables it', () => {
    const deadline = cooldownDeadline('2025-03-01T12:01:00Z', t0);
    expect(cooldownOver(deadline, t0)).toBe(false);
    expect(resendLabel(deadline, t0)).toBe('Resend code in 1:00');
    expect(cooldownOver(deadline, t0 + 59_000)).toBe(false);
    expect(resendLabel(deadline, t0 + 59_000)).toBe('Resend code in 0:01');
    expect(cooldownOver(deadline, t0 + 59_999)).toBe(false);
    expect(cooldownOver(deadline, t0 + 60_000)).toBe(true);
    expect(resendLabel(deadline, t0 + 60_000)).toBe('Resend code');
  });

  it('labels the expired-code button the same way', () => {
    expect(resendLabel(t0 + 5000, t0, 'Send a new code')).toBe('Send a new code in 0:05');
    expect(resendLabel(t0, t0, 'Send a new code')).toBe('Send a new code');
  });

  it('counts a rate limit from retry_after seconds', () => {
    const deadline = retryDeadline(30, t0);
    expect(cooldownLeft(deadline, t0)).toBe(30);
    expect(cooldownLeft(deadline, t0 + 29_500)).toBe(1);
    expect(cooldownLeft(deadline, t0 + 30_000)).toBe(0);
  });
});
