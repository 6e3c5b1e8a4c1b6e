import { render, screen, waitFor } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { ApiError } from '../src/lib/api';
import { ManualClock } from '../src/lib/clock';
import type { SignInResult } from '../src/lib/types';
import SignIn from '../src/screens/SignIn.svelte';
import { fakeTransport, type FakeTransport } from './fakeTransport';

let transport: FakeTransport;
let clock: ManualClock;

function show() {
  const props = { transport, clock, onResult: vi.fn(), onCreateAccount: vi.fn(), onEmail: vi.fn() };
  render(SignIn, { props });
  return props;
}

async function fillAndSubmit(email = 'ann@example.com', password = 'correct horse') {
  const user = userEvent.setup();
  await user.type(screen.getByTestId('signin-email'), email);
  await user.type(screen.getByTestId('signin-password'), password);
  await user.keyboard('{Enter}');
  return user;
}

beforeEach(() => {
  transport = fakeTransport();
  clock = new ManualClock(Date.parse('2025-03-01T12:00:00Z'));
});

describe('sign-in screen', () => {
  it('starts in the email field and labels every input', () => {
    show();
    expect(screen.getByTestId('signin').getAttribute('data-screen')).toBe('signin');
    expect(document.activeElement).toBe(screen.getByTestId('signin-email'));
    expect(screen.getByLabelText('Email')).toBe(screen.getByTestId('signin-email'));
    expect(screen.getByLabelText('Password')).toBe(screen.getByTestId('signin-password'));
  });

  it('Enter submits; progress shows while waiting; the answer is handed on', async () => {
    let answer: (r: SignInResult) => void = () => {};
    transport.signIn.mockReturnValue(new Promise((r) => (answer = r)));
    const props = show();
    await fillAndSubmit();
    expect(transport.signIn).toHaveBeenCalledWith('ann@example.com', 'correct horse');
    expect(screen.getByTestId('signin-progress')).toBeTruthy();
    expect((screen.getByTestId('signin-submit') as HTMLButtonElement).disabled).toBe(true);
    const result: SignInResult = { status: 'code_required', challenge_id: 'c', expires_at: 'x' };
    answer(result);
    await waitFor(() => expect(props.onResult).toHaveBeenCalledWith(result, 'ann@example.com'));
    expect(props.onEmail).toHaveBeenCalledWith('ann@example.com');
  });

  it('a wrong password says so', async () => {
    transport.signIn.mockRejectedValue(new ApiError('invalid_credentials', 'nope'));
    show();
    await fillAndSubmit();
    await waitFor(() => expect(screen.getByTestId('signin-error').textContent).toBe('Wrong email or password.'));
  });

  it('a rate limit counts down live and re-enables sign-in at zero', async () => {
    transport.signIn.mockRejectedValue(new ApiError('rate_limited', '', { retryAfter: 3 }));
    show();
    await fillAndSubmit();
    await waitFor(() =>
      expect(screen.getByTestId('signin-error').textContent).toBe('Too many attempts. Try again in 3 s.'),
    );
    const submit = screen.getByTestId('signin-submit') as HTMLButtonElement;
    expect(submit.disabled).toBe(true);
    clock.advance(1000);
    await waitFor(() =>
      expect(screen.getByTestId('signin-error').textContent).toBe('Too many attempts. Try again in 2 s.'),
    );
    clock.advance(2000);
    await waitFor(() => expect(screen.queryByTestId('signin-error')).toBeNull());
    expect(submit.disabled).toBe(false);
  });

  it('empty fields are caught before asking the server', async () => {
    show();
    await userEvent.setup().click(screen.getByTestId('signin-submit'));
    expect(screen.getByTestId('signin-error').textContent).toBe('Enter your email and password.');
    expect(transport.signIn).not.toHaveBeenCalled();
  });

  it('links to account creation with the typed email', async () => {
    const props = show();
    const user = userEvent.setup();
    await user.type(screen.getByTestId('signin-email'), 'bob@example.com');
    await user.click(screen.getByTestId('signin-create'));
    expect(props.onCreateAccount).toHaveBeenCalledWith('bob@example.com');
  });
});
