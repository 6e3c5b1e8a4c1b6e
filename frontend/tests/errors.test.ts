import { describe, expect, it } from 'vitest';
import { ApiError, toApiError } from '../src/lib/api';
import { errorMessage, isSessionEnded } from '../src/lib/errors';

const e = (code: string, extra: ConstructorParameters<typeof ApiError>[2] = {}, message = '') =>
  new ApiError(code, message, extra);

describe('error messages', () => {
  it.each<[string, ApiError, Parameters<typeof errorMessage>[1], string]>([
    ['wrong password at sign-in', e('invalid_credentials'), 'signin', 'Wrong email or password.'],
    ['wrong current password in settings', e('invalid_credentials'), 'security', 'The current password is wrong.'],
    ['wrong current password on change', e('invalid_credentials'), 'password', 'The current password is wrong.'],
    ['rate limited with retry_after', e('rate_limited', { retryAfter: 42 }), 'signin', 'Too many attempts. Try again in 42 s.'],
    ['rate limited without retry_after', e('rate_limited'), 'signin', 'Too many attempts. Try again later.'],
    ['rate limited resend', e('rate_limited', { retryAfter: 30 }), 'resend', 'You can ask for a new code in 30 s.'],
    ['wrong code, several attempts left', e('invalid_code', { attemptsLeft: 3 }), 'code', 'Wrong code. 3 attempts left.'],
    ['wrong code, one attempt left', e('invalid_code', { attemptsLeft: 1 }), 'code', 'Wrong code. 1 attempt left.'],
    ['wrong code, none left', e('invalid_code', { attemptsLeft: 0 }), 'code', 'Wrong code. 0 attempts left.'],
    ['wrong code, count unknown', e('invalid_code'), 'code', 'Wrong code.'],
    ['expired code', e('code_expired'), 'code', 'This code has expired.'],
    ['too many attempts', e('too_many_attempts'), 'code', 'Too many wrong codes. Sign in again to get a new code.'],
    ['unknown challenge', e('unknown_challenge'), 'code', 'This sign-in has ended. Sign in again to get a new code.'],
    ['invalid email', e('invalid_email'), 'signup', 'Enter a valid email address.'],
    ['weak password with reason', e('weak_password', {}, 'it is a common password'), 'signup', 'Choose a stronger password: it is a common password'],
    ['weak password without reason', e('weak_password'), 'signup', 'Choose a stronger password of at least 8 characters.'],
    ['invalid token', e('invalid_token'), 'general', 'Your session has ended. Please sign in again.'],
    ['expired token', e('token_expired'), 'general', 'Your session has ended. Please sign in again.'],
    ['forbidden', e('forbidden'), 'general', 'You are not allowed to do that.'],
    ['not found in settings', e('not_found'), 'security', 'That item no longer exists.'],
    ['not found elsewhere', e('not_found'), 'general', 'Not found.'],
    ['invalid request naming a field', e('invalid_request', { field: 'new_password' }), 'password', 'Check the new password field.'],
    ['invalid request', e('invalid_request'), 'general', 'The request was not accepted. Check the form.'],
    ['invalid json', e('invalid_json'), 'general', 'The request was not accepted. Check the form.'],
    ['body too large', e('body_too_large'), 'general', 'The request was not accepted. Check the form.'],
    ['server unreachable', e('unavailable'), 'general', 'The account server cannot be reached. Try again in a moment.'],
    ['internal error', e('internal', {}, 'sql: database is locked'), 'general', 'Something went wrong on our side. Try again.'],
    ['unknown code with a message', e('teapot', {}, 'I am a teapot'), 'general', 'I am a teapot'],
  ])('%s', (_name, err, context, text) => {
    expect(errorMessage(err, context)).toBe(text);
  });

  it('a live countdown overrides retry_after', () => {
    expect(errorMessage(e('rate_limited', { retryAfter: 42 }), 'signin', { secondsLeft: 7 })).toBe(
      'Too many attempts. Try again in 7 s.',
    );
  });

  it('never shows internal details', () => {
    expect(errorMessage(new Error('dial tcp 127.0.0.1:25: connection refused'))).toBe(
      'Something went wrong on our side. Try again.',
    );
  });

  it('knows which errors end the session', () => {
    expect(isSessionEnded(e('invalid_token'))).toBe(true);
    expect(isSessionEnded(e('token_expired'))).toBe(true);
    expect(isSessionEnded(e('invalid_credentials'))).toBe(false);
  });
});

describe('toApiError', () => {
  it('reads the HTTP error envelope', () => {
    const err = toApiError({ error: { code: 'invalid_code', message: 'wrong code', attempts_left: 2 } });
    expect(err).toMatchObject({ code: 'invalid_code', message: 'wrong code', attemptsLeft: 2 });
  });

  it('reads the bare object a Wails ErrorFormatter rejects with', () => {
    const err = toApiError({ code: 'rate_limited', message: 'slow down', retry_after: 12, field: 'email' });
    expect(err).toMatchObject({ code: 'rate_limited', retryAfter: 12, field: 'email' });
  });

  it('reads a JSON string', () => {
    expect(toApiError('{"code":"code_expired","message":"x"}').code).toBe('code_expired');
  });

  it('turns a plain string into an internal error', () => {
    expect(toApiError('boom')).toMatchObject({ code: 'internal', message: 'boom' });
  });

  it('returns an ApiError unchanged', () => {
    const err = e('forbidden');
    expect(toApiError(err)).toBe(err);
  });
});
