import { render, screen, waitFor, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it } from 'vitest';
import App from '../src/App.svelte';
import { ManualClock, ServerClock } from '../src/lib/clock';
import type { Security, Session } from '../src/lib/types';
import { fakeTransport, type FakeTransport } from './fakeTransport';

const T0 = Date.parse('2025-03-01T12:00:00Z');
const account = { email: 'ann@example.com', two_factor: 'email' as const, created_at: '2025-01-01T00:00:00Z' };
const session: Session = { account, expires_at: '2025-03-31T12:00:00Z' };
const security: Security = {
  two_factor: 'email',
  devices: [
    { id: 1, name: 'Studio PC', trusted: true, current: true, first_seen_at: '2025-01-01T00:00:00Z', last_used_at: '2025-03-01T11:00:00Z' },
    { id: 2, name: 'Laptop', trusted: true, current: false, first_seen_at: '2025-02-01T00:00:00Z', last_used_at: '2025-02-20T10:00:00Z' },
  ],
  networks: [
    { id: 5, network: '192.0.2.0/24', trusted: true, current: true, first_seen_at: '2025-01-01T00:00:00Z', last_used_at: '2025-03-01T11:00:00Z' },
  ],
  sessions: [
    { id: 9, device_name: 'Studio PC', network: '192.0.2.0/24', current: true, created_at: '2025-03-01T11:00:00Z', expires_at: '2025-03-31T11:00:00Z' },
  ],
};

let transport: FakeTransport;
let clock: ServerClock;

beforeEach(() => {
  transport = fakeTransport();
  clock = new ServerClock(new ManualClock(T0));
  transport.qaEnabled.mockResolvedValue(false);
  transport.restoreSession.mockResolvedValue(null);
  transport.challenge.mockResolvedValue({ expires_at: '2025-03-01T12:10:00Z', attempts_left: 5, delivery: 'sent' });
  transport.security.mockResolvedValue(security);
});

const current = () => document.querySelector('[data-screen]')?.getAttribute('data-screen');

describe('app', () => {
  it('restores a session straight into the shop', async () => {
    transport.restoreSession.mockResolvedValue(session);
    render(App, { props: { transport, clock } });
    await waitFor(() => expect(current()).toBe('shop'));
    expect(screen.getByTestId('account-email').textContent).toBe('ann@example.com');
    expect(screen.queryByTestId('qa-toggle')).toBeNull();
  });

  it('sign-in, code, shop, profile security, sign out', async () => {
    transport.signIn.mockResolvedValue({
      status: 'code_required',
      challenge_id: 'ch-9',
      email_hint: 'a**@example.com',
      reason: 'new_device_and_network',
      expires_at: '2025-03-01T12:10:00Z',
      resend_after: '2025-03-01T12:01:00Z',
    });
    transport.verify.mockResolvedValue({ status: 'signed_in', expires_at: session.expires_at, account });
    transport.forgetDevice.mockResolvedValue();
    transport.signOut.mockResolvedValue();
    render(App, { props: { transport, clock } });
    const user = userEvent.setup();

    await waitFor(() => expect(current()).toBe('signin'));
    await user.type(screen.getByTestId('signin-email'), 'ann@example.com');
    await user.type(screen.getByTestId('signin-password'), 'correct horse');
    await user.keyboard('{Enter}');

    await waitFor(() => expect(current()).toBe('code'));
    expect(screen.getByTestId('code-reason').textContent).toBe("We don't recognise this device and network.");
    await waitFor(() => expect(document.activeElement).toBe(screen.getByTestId('code-box-0')));
    await user.keyboard('123456');

    await waitFor(() => expect(current()).toBe('shop'));
    expect(transport.verify).toHaveBeenCalledWith('ch-9', '123456');
    expect(screen.getByTestId('account-email').textContent).toBe('ann@example.com');

    await user.click(screen.getByTestId('nav-profile'));
    expect(current()).toBe('profile');
    expect(screen.getByTestId('profile-tab-personal').getAttribute('aria-selected')).toBe('true');
    await waitFor(() => expect(screen.getByTestId('device-remove-2')).toBeTruthy());
    expect((screen.getByTestId('security-2fa-email') as HTMLInputElement).checked).toBe(true);
    expect(within(screen.getByTestId('device-1')).getByText('This device')).toBeTruthy();
    expect(screen.getByTestId('network-remove-5')).toBeTruthy();

    await user.click(screen.getByTestId('device-remove-2'));
    expect(transport.forgetDevice).toHaveBeenCalledWith(2);
    await waitFor(() => expect(screen.getByTestId('security-list-status').textContent).toContain('Device removed'));

    await user.click(screen.getByTestId('signout'));
    await waitFor(() => expect(current()).toBe('signin'));
    expect(screen.getByTestId('signin-notice').textContent).toBe('You have signed out.');
  });

  it('tells the desktop app each new screen once it is shown and focused', async () => {
    transport.signIn.mockResolvedValue({
      status: 'code_required',
      challenge_id: 'ch-2',
      email_hint: 'a**@example.com',
      reason: 'new_device',
      expires_at: '2025-03-01T12:10:00Z',
      resend_after: '2025-03-01T12:01:00Z',
    });
    transport.verify.mockResolvedValue({ status: 'signed_in', expires_at: session.expires_at, account });
    // What had focus when each screen was reported: "shown" must mean "takes the keyboard".
    const focusedWhenShown: (string | null)[] = [];
    transport.screenShown.mockImplementation(() => {
      focusedWhenShown.push(document.activeElement?.getAttribute('data-testid') ?? null);
    });
    render(App, { props: { transport, clock } });
    const user = userEvent.setup();

    await waitFor(() => expect(transport.screenShown).toHaveBeenCalledWith('signin'));
    expect(focusedWhenShown).toEqual(['signin-email']);
    await user.type(screen.getByTestId('signin-email'), 'ann@example.com');
    await user.type(screen.getByTestId('signin-password'), 'correct horse');
    await user.keyboard('{Enter}');
    await waitFor(() => expect(transport.screenShown).toHaveBeenLastCalledWith('code'));
    expect(focusedWhenShown.at(-1)).toBe('code-box-0');
    await user.keyboard('123456');
    await waitFor(() => expect(transport.screenShown).toHaveBeenLastCalledWith('shop'));

    // Never "loading", and each screen once, though the app state changed more often.
    expect(transport.screenShown.mock.calls).toEqual([['signin'], ['code'], ['shop']]);
  });

  it('turning 2FA off asks for the current password', async () => {
    transport.restoreSession.mockResolvedValue(session);
    transport.setTwoFactor.mockResolvedValue();
    render(App, { props: { transport, clock } });
    const user = userEvent.setup();
    await waitFor(() => expect(current()).toBe('shop'));
    await user.click(screen.getByTestId('nav-profile'));
    await waitFor(() => expect((screen.getByTestId('security-2fa-email') as HTMLInputElement).checked).toBe(true));
    await user.click(screen.getByTestId('security-2fa-off'));
    await user.click(screen.getByTestId('security-submit'));
    expect(screen.getByTestId('security-error').textContent).toContain('current password');
    expect(transport.setTwoFactor).not.toHaveBeenCalled();
    await user.type(screen.getByTestId('security-password'), 'correct horse');
    await user.click(screen.getByTestId('security-submit'));
    expect(transport.setTwoFactor).toHaveBeenCalledWith(false, 'correct horse');
  });

  it('a session:expired push returns to sign-in', async () => {
    transport.restoreSession.mockResolvedValue(session);
    render(App, { props: { transport, clock } });
    await waitFor(() => expect(current()).toBe('shop'));
    transport.emit('session:expired');
    await waitFor(() => expect(current()).toBe('signin'));
    expect(screen.getByTestId('signin-notice').textContent).toContain('expired');
  });

  it('QA panel: the newest mail opens and "Use this code" signs in', async () => {
    transport.qaEnabled.mockResolvedValue(true);
    transport.qaClock.mockResolvedValue({ now: '2025-03-01T12:00:00Z' });
    transport.qaEvents.mockResolvedValue([]);
    transport.qaMessages.mockResolvedValue([]);
    transport.signIn.mockResolvedValue({
      status: 'code_required',
      challenge_id: 'ch-1',
      email_hint: 'a**@example.com',
      reason: 'new_network',
      expires_at: '2025-03-01T12:10:00Z',
      resend_after: '2025-03-01T12:01:00Z',
    });
    transport.verify.mockResolvedValue({ status: 'signed_in', expires_at: session.expires_at, account });
    const subject = 'Image Line Account | Two Factor Authentication code ( 048213 ) [Action Required]';
    transport.qaMessage.mockResolvedValue({
      id: 3,
      from: 'noreply@example.com',
      to: ['ann@example.com'],
      subject,
      received_at: '2025-03-01T12:00:01Z',
      text: 'Your code is 048213. It is valid for 10 minutes.',
      html: '',
      headers: {},
      raw: '',
    });

    render(App, { props: { transport, clock } });
    const user = userEvent.setup();
    await waitFor(() => expect(screen.getByTestId('qa-toggle')).toBeTruthy());
    expect(screen.getByTestId('qa-panel').hidden).toBe(true);

    await user.type(screen.getByTestId('signin-email'), 'ann@example.com');
    await user.type(screen.getByTestId('signin-password'), 'pw-long-enough');
    await user.keyboard('{Enter}');
    await waitFor(() => expect(current()).toBe('code'));

    await user.click(screen.getByTestId('qa-toggle'));
    expect(screen.getByTestId('qa-panel').hidden).toBe(false);
    transport.qaMessages.mockResolvedValue([
      { id: 3, from: 'noreply@example.com', to: ['ann@example.com'], subject, received_at: '2025-03-01T12:00:01Z' },
    ]);
    transport.emit('mail:received');
    await waitFor(() => expect(screen.getByTestId('qa-code').textContent).toBe('048213'));
    expect(screen.getByTestId('qa-events-email').textContent).toBe('For ann@example.com');

    await user.click(screen.getByTestId('qa-use-code'));
    await waitFor(() => expect(current()).toBe('shop'));
    expect(transport.verify).toHaveBeenCalledWith('ch-1', '048213');
    expect(transport.verify).toHaveBeenCalledTimes(1);
  });

  it('QA clock: +1 month moves the clock and re-checks the session', async () => {
    transport.qaEnabled.mockResolvedValue(true);
    transport.qaClock.mockResolvedValue({ now: '2025-03-01T12:00:00Z' });
    transport.qaEvents.mockResolvedValue([]);
    transport.qaMessages.mockResolvedValue([]);
    transport.qaAdvanceClock.mockResolvedValue({ now: '2025-03-31T12:00:00Z' });
    transport.restoreSession.mockResolvedValueOnce(session).mockResolvedValueOnce(null);
    render(App, { props: { transport, clock } });
    const user = userEvent.setup();
    await waitFor(() => expect(current()).toBe('shop'));
    await user.click(screen.getByTestId('qa-toggle'));
    await user.click(screen.getByTestId('qa-clock-month'));
    expect(transport.qaAdvanceClock).toHaveBeenCalledWith('720h');
    await waitFor(() => expect(current()).toBe('signin'));
    expect(clock.now()).toBe(Date.parse('2025-03-31T12:00:00Z'));
    expect(screen.getByTestId('qa-clock-now').getAttribute('datetime')).toBe('2025-03-31T12:00:00Z');
  });
});
