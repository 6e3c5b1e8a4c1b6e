import { describe, expect, it } from 'vitest';
import { formatDuration, remaining, secondsLeft } from '../src/lib/countdown';

const issued = Date.parse('2025-03-01T12:00:00Z');
const expiresAt = '2025-03-01T12:10:00Z';

describe('code countdown', () => {
  it('starts at 10:00 when the code is issued', () => {
    expect(remaining(expiresAt, issued)).toEqual({ seconds: 600, text: '10:00', expired: false });
  });

  it('rounds partial seconds up, so it never shows 0:00 early', () => {
    expect(remaining(expiresAt, issued + 1)).toMatchObject({ seconds: 600, text: '10:00' });
    expect(remaining(expiresAt, issued + 1000)).toMatchObject({ seconds: 599, text: '9:59' });
    expect(remaining(expiresAt, issued + 599_001)).toMatchObject({ seconds: 1, text: '0:01', expired: false });
  });

  it('reaches zero exactly at expires_at and stays there', () => {
    expect(remaining(expiresAt, issued + 600_000)).toEqual({ seconds: 0, text: '0:00', expired: true });
    expect(remaining(expiresAt, issued + 3_600_000)).toEqual({ seconds: 0, text: '0:00', expired: true });
  });

  it('treats an unreadable expiry as expired', () => {
    expect(remaining('not a time', issued).expired).toBe(true);
  });

  it.each([
    [0, '0:00'],
    [5, '0:05'],
    [65, '1:05'],
    [600, '10:00'],
    [3599, '59:59'],
    [3723, '1:02:03'],
    [-4, '0:00'],
  ])('formats %i s as %s', (s, text) => {
    expect(formatDuration(s)).toBe(text);
  });

  it('secondsLeft never goes negative', () => {
    expect(secondsLeft(1000, 5000)).toBe(0);
  });
});
