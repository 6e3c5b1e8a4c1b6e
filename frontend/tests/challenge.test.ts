import { describe, expect, it } from 'vitest';
import { ApiError } from '../src/lib/api';
import { deliveryText, reasonText, SPAM_HINT, verifyOutcome } from '../src/lib/challenge';

describe('why a code is asked', () => {
  it.each([
    ['new_device', "We don't recognise this device."],
    ['new_network', "We don't recognise this network."],
    ['new_device_and_network', "We don't recognise this device and network."],
  ] as const)('%s', (reason, text) => {
    expect(reasonText(reason)).toBe(text);
  });
});

describe('delivery state', () => {
  it('tells the user when their provider is slow', () => {
    expect(deliveryText('retrying')).toBe('Your email provider is slow to accept mail, we keep trying.');
  });

  it('has a message for every state', () => {
    for (const d of ['queued', 'sent', 'retrying', 'failed', 'dropped'] as const) {
      expect(deliveryText(d)).not.toBe('');
    }
  });

  it('hints at spam folders and safe senders', () => {
    expect(SPAM_HINT).toBe(
      'Did not get it? Check your spam or trash folder and add the sender to your safe senders list.',
    );
  });
});

describe('after a failed code entry', () => {
  it('a wrong code stays on the screen with the attempts left', () => {
    expect(verifyOutcome(new ApiError('invalid_code', '', { attemptsLeft: 4 }))).toEqual({
      kind: 'retry',
      message: 'Wrong code. 4 attempts left.',
    });
  });

  it('an expired code offers a new one', () => {
    expect(verifyOutcome(new ApiError('code_expired', ''))).toEqual({ kind: 'expired', message: 'This code has expired.' });
  });

  it.each(['too_many_attempts', 'unknown_challenge'])('%s goes back to sign-in', (code) => {
    expect(verifyOutcome(new ApiError(code, '')).kind).toBe('restart');
  });

  it('anything else is shown on the screen', () => {
    expect(verifyOutcome(new ApiError('unavailable', ''))).toEqual({
      kind: 'error',
      message: 'The account server cannot be reached. Try again in a moment.',
    });
  });
});
