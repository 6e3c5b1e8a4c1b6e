import { describe, expect, it } from 'vitest';
import { CODE_TTL_MS, ManualClock, ServerClock } from '../src/lib/clock';
import { pendingChallenge } from '../src/lib/flow';

const local = Date.parse('2025-03-01T12:00:00Z');

describe('server clock', () => {
  it('follows local time until told otherwise', () => {
    expect(new ServerClock(new ManualClock(local)).now()).toBe(local);
  });

  it('adopts a server reading and keeps ticking from it', () => {
    const m = new ManualClock(local);
    const c = new ServerClock(m);
    c.sync('2025-03-31T12:00:00Z'); // QA moved the clock a month ahead
    expect(c.now()).toBe(Date.parse('2025-03-31T12:00:00Z'));
    m.advance(5000);
    expect(c.now()).toBe(Date.parse('2025-03-31T12:00:05Z'));
  });

  it('infers the server time from a fresh code', () => {
    const c = new ServerClock(new ManualClock(local));
    c.syncFromFreshCode('2025-03-31T12:10:00Z');
    expect(c.now()).toBe(Date.parse('2025-03-31T12:10:00Z') - CODE_TTL_MS);
  });

  it('prefers an explicit "now" over the inference', () => {
    const c = new ServerClock(new ManualClock(local));
    c.syncFromFreshCode('2025-03-31T12:10:00Z', '2025-03-31T12:00:30Z');
    expect(c.now()).toBe(Date.parse('2025-03-31T12:00:30Z'));
  });

  it('ignores unreadable readings', () => {
    const c = new ServerClock(new ManualClock(local));
    c.sync('yesterday');
    c.sync(undefined);
    expect(c.now()).toBe(local);
  });

  it('a code_required answer starts the countdown at 10:00 even on a moved clock', () => {
    const c = new ServerClock(new ManualClock(local));
    const p = pendingChallenge(
      {
        status: 'code_required',
        challenge_id: 'ch1',
        email_hint: 'a***@example.com',
        reason: 'new_network',
        expires_at: '2025-04-30T12:10:00Z',
        resend_after: '2025-04-30T12:01:00Z',
      },
      'ann@example.com',
      c,
    );
    expect(Date.parse(p.expiresAt) - c.now()).toBe(CODE_TTL_MS);
    expect(p.resendAt - c.now()).toBe(60_000);
    expect(p).toMatchObject({ id: 'ch1', emailHint: 'a***@example.com', reason: 'new_network', email: 'ann@example.com' });
  });
});
