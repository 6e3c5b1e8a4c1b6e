import { render, screen, waitFor } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ApiError } from '../src/lib/api';
import { ManualClock, ServerClock } from '../src/lib/clock';
import type { PendingChallenge } from '../src/lib/flow';
import type { SignInResult } from '../src/lib/types';
import CodeScreen from '../src/screens/CodeScreen.svelte';
import { fakeTransport, type FakeTransport } from './fakeTransport';

const T0 = Date.parse('2025-03-01T12:00:00Z');
const signedIn: SignInResult = {
  status: 'signed_in',
  expires_at: '2025-03-31T12:00:00Z',
  account: { email: 'ann@example.com', two_factor: 'email', created_at: '2025-01-01T00:00:00Z' },
};

let transport: FakeTransport;
let local: ManualClock;
let clock: ServerClock;

const challenge = (over: Partial<PendingChallenge> = {}): PendingChallenge => ({
  id: 'ch-1',
  email: 'ann@example.com',
  emailHint: 'a**@example.com',
  reason: 'new_device',
  expiresAt: '2025-03-01T12:10:00Z',
  resendAt: T0 + 60_000,
  ...over,
});

function show(over: Partial<PendingChallenge> = {}) {
  const props = {
    transport,
    clock,
    challenge: challenge(over),
    onSignedIn: vi.fn(),
    onRestart: vi.fn(),
    onCancel: vi.fn(),
    registerFill: vi.fn(),
    pollMs: 50,
  };
  render(CodeScreen, { props });
  return props;
}

const box = (i: number) => screen.getByTestId(`code-box-${i}`) as HTMLInputElement;
const values = () => [0, 1, 2, 3, 4, 5].map((i) => box(i).value).join('');

beforeEach(() => {
  transport = fakeTransport();
  transport.challenge.mockResolvedValue({
    expires_at: '2025-03-01T12:10:00Z',
    attempts_left: 5,
    delivery: 'sent',
  });
  local = new ManualClock(T0);
  clock = new ServerClock(local);
});

afterEach(() => {
  vi.useRealTimers();
});

describe('code screen', () => {
  it('shows why, where the code went, the countdown, and the spam hint', async () => {
    show();
    expect(screen.getByTestId('code').getAttribute('data-screen')).toBe('code');
    expect(screen.getByTestId('code-reason').textContent).toBe("We don't recognise this device.");
    expect(screen.getByTestId('code-email-hint').textContent).toBe('a**@example.com');
    expect(screen.getByTestId('code-countdown').textContent).toBe('10:00');
    expect(screen.getByTestId('code-hint').textContent).toContain('spam or trash folder');
    await waitFor(() => expect(screen.getByTestId('code-delivery').textContent).toContain('Email sent to a**@example.com'));
  });

  it('focuses the first box; typing six digits fills the boxes and verifies once', async () => {
    transport.verify.mockResolvedValue(signedIn);
    const props = show();
    const user = userEvent.setup();
    expect(document.activeElement).toBe(box(0));
    await user.keyboard('12');
    expect(document.activeElement).toBe(box(2));
    await user.keyboard('a'); // ignored
    await user.keyboard('3456');
    expect(values()).toBe('123456');
    await waitFor(() => expect(props.onSignedIn).toHaveBeenCalledWith(signedIn));
    expect(transport.verify).toHaveBeenCalledTimes(1);
    expect(transport.verify).toHaveBeenCalledWith('ch-1', '123456');
  });

  it('backspace moves back through the boxes', async () => {
    show();
    const user = userEvent.setup();
    await user.keyboard('123');
    await user.keyboard('{Backspace}');
    expect(values()).toBe('12');
    expect(document.activeElement).toBe(box(2));
    await user.keyboard('{Backspace}');
    expect(values()).toBe('1');
    expect(document.activeElement).toBe(box(1));
    expect(transport.verify).not.toHaveBeenCalled();
  });

  it.each([
    ['123456', 0],
    ['123 456', 3],
    [' 12-34-56 ', 5],
  ])('pasting %j into box %i fills all boxes and verifies once', async (text, index) => {
    transport.verify.mockResolvedValue(signedIn);
    const props = show();
    const user = userEvent.setup();
    box(index).focus();
    await user.paste(text);
    expect(values()).toBe('123456');
    await waitFor(() => expect(props.onSignedIn).toHaveBeenCalledTimes(1));
    expect(transport.verify).toHaveBeenCalledTimes(1);
    expect(transport.verify).toHaveBeenCalledWith('ch-1', '123456');
  });

  it('pasting a code anywhere on the screen fills the boxes', async () => {
    transport.verify.mockResolvedValue(signedIn);
    show();
    const user = userEvent.setup();
    box(0).blur();
    expect(document.activeElement).toBe(document.body);
    await user.paste('654 321');
    expect(values()).toBe('654321');
    await waitFor(() => expect(transport.verify).toHaveBeenCalledWith('ch-1', '654321'));
  });

  it('a wrong code says how many attempts are left and clears the boxes', async () => {
    transport.verify.mockRejectedValue(new ApiError('invalid_code', 'wrong', { attemptsLeft: 4 }));
    show();
    const user = userEvent.setup();
    await user.keyboard('111111');
    await waitFor(() => expect(screen.getByTestId('code-error').textContent).toBe('Wrong code. 4 attempts left.'));
    expect(values()).toBe('');
    await waitFor(() => expect(document.activeElement).toBe(box(0)));
    expect(transport.verify).toHaveBeenCalledTimes(1);
  });

  it('an expired code offers "Send a new code", which sends one', async () => {
    transport.verify.mockRejectedValue(new ApiError('code_expired', 'expired'));
    transport.resend.mockResolvedValue({ expires_at: '2025-03-01T12:20:00Z', resend_after: '2025-03-01T12:11:00Z' });
    transport.challenge.mockResolvedValue({ expires_at: '2025-03-01T12:20:00Z', attempts_left: 5, delivery: 'queued' });
    local.set(T0 + 5 * 60_000);
    show();
    const user = userEvent.setup();
    await user.keyboard('222222');
    await waitFor(() => expect(screen.getByTestId('code-error').textContent).toBe('This code has expired.'));
    const sendNew = screen.getByTestId('code-send-new') as HTMLButtonElement;
    expect(sendNew.textContent?.trim()).toBe('Send a new code');
    await user.click(sendNew);
    expect(transport.resend).toHaveBeenCalledWith('ch-1');
    await waitFor(() => expect(screen.getByTestId('code-countdown').textContent).toBe('10:00'));
    expect(screen.queryByTestId('code-send-new')).toBeNull();
    expect((screen.getByTestId('code-resend') as HTMLButtonElement).disabled).toBe(true);
  });

  it('the countdown reaching zero shows the code as expired', async () => {
    show();
    local.set(T0 + 10 * 60_000);
    await waitFor(() => expect(screen.getByTestId('code-expired').textContent).toBe('This code has expired.'));
    expect(screen.getByTestId('code-send-new')).toBeTruthy();
  });

  it('"Resend code" stays disabled until resend_after, then resends', async () => {
    transport.resend.mockResolvedValue({ expires_at: '2025-03-01T12:11:00Z', resend_after: 60 });
    show();
    const resend = screen.getByTestId('code-resend') as HTMLButtonElement;
    expect(resend.disabled).toBe(true);
    expect(resend.textContent?.trim()).toBe('Resend code in 1:00');
    local.set(T0 + 59_000);
    await waitFor(() => expect(resend.textContent?.trim()).toBe('Resend code in 0:01'));
    expect(resend.disabled).toBe(true);
    local.set(T0 + 60_000);
    await waitFor(() => expect(resend.disabled).toBe(false));
    await userEvent.setup().click(resend);
    expect(transport.resend).toHaveBeenCalledTimes(1);
    await waitFor(() => expect(screen.getByTestId('code-status').textContent).toContain('We sent a new code'));
    await waitFor(() => expect((screen.getByTestId('code-resend') as HTMLButtonElement).disabled).toBe(true));
  });

  it('too many attempts goes back to sign-in with a message', async () => {
    transport.verify.mockRejectedValue(new ApiError('too_many_attempts', ''));
    const props = show();
    await userEvent.setup().keyboard('333333');
    await waitFor(() =>
      expect(props.onRestart).toHaveBeenCalledWith('Too many wrong codes. Sign in again to get a new code.'),
    );
  });

  it('shows that the email provider is slow while delivery is retried', async () => {
    transport.challenge.mockResolvedValue({ expires_at: '2025-03-01T12:10:00Z', attempts_left: 5, delivery: 'retrying' });
    show();
    await waitFor(() =>
      expect(screen.getByTestId('code-delivery').textContent).toContain(
        'Your email provider is slow to accept mail, we keep trying.',
      ),
    );
  });

  it('the QA panel can fill the code in', async () => {
    transport.verify.mockResolvedValue(signedIn);
    const props = show();
    const fill = props.registerFill.mock.calls[0]?.[0] as (code: string) => void;
    expect(typeof fill).toBe('function');
    fill('424242');
    expect(values()).toBe('424242');
    await waitFor(() => expect(transport.verify).toHaveBeenCalledWith('ch-1', '424242'));
    expect(transport.verify).toHaveBeenCalledTimes(1);
  });
});
