// The one place where failures become words a user reads.

import { toApiError } from './api';

/** Where the failure happened; the same code can read differently per screen. */
export type ErrorContext = 'signin' | 'signup' | 'code' | 'resend' | 'security' | 'password' | 'general';

export interface MessageOptions {
  /** Seconds left on a rate limit, counted down live by the caller. */
  secondsLeft?: number;
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** The message to show for a failed call. */
export function errorMessage(raw: unknown, context: ErrorContext = 'general', opts: MessageOptions = {}): string {
  const err = toApiError(raw);
  const wait = opts.secondsLeft ?? err.retryAfter;
  switch (err.code) {
    case 'invalid_credentials':
      return context === 'security' || context === 'password'
        ? 'The current password is wrong.'
        : 'Wrong email or password.';
    case 'rate_limited':
      if (context === 'resend') {
        return wait && wait > 0
          ? `You can ask for a new code in ${wait} s.`
          : 'Too many codes were sent. Try again later.';
      }
      return wait && wait > 0 ? `Too many attempts. Try again in ${wait} s.` : 'Too many attempts. Try again later.';
    case 'invalid_code':
      return err.attemptsLeft !== undefined
        ? `Wrong code. ${plural(err.attemptsLeft, 'attempt', 'attempts')} left.`
        : 'Wrong code.';
    case 'code_expired':
      return 'This code has expired.';
    case 'too_many_attempts':
      return 'Too many wrong codes. Sign in again to get a new code.';
    case 'unknown_challenge':
      return 'This sign-in has ended. Sign in again to get a new code.';
    case 'invalid_email':
      return 'Enter a valid email address.';
    case 'weak_password':
      return err.message && err.message !== err.code
        ? `Choose a stronger password: ${err.message}`
        : 'Choose a stronger password of at least 8 characters.';
    case 'invalid_token':
    case 'token_expired':
      return 'Your session has ended. Please sign in again.';
    case 'forbidden':
      return 'You are not allowed to do that.';
    case 'not_found':
      return context === 'security' ? 'That item no longer exists.' : 'Not found.';
    case 'invalid_request':
    case 'invalid_json':
    case 'body_too_large':
      return err.field ? `Check the ${err.field.replace(/_/g, ' ')} field.` : 'The request was not accepted. Check the form.';
    case 'unavailable':
      return 'The account server cannot be reached. Try again in a moment.';
    case 'internal':
      return 'Something went wrong on our side. Try again.';
    default:
      return err.message || 'Something went wrong. Try again.';
  }
}

/** True when the failure means the session is gone and the user must sign in again. */
export function isSessionEnded(raw: unknown): boolean {
  const code = toApiError(raw).code;
  return code === 'invalid_token' || code === 'token_expired';
}
