import type { SignInResult } from '../src/lib/types';
import type { ApiErrorBody } from './clients';
import { expect, expectScreen, open, openQAPanel, PASSWORD, signIn, test, typeCode, wrongCode } from './fixtures';

const email = 'grace@example.com';

test('code-entry: wrong codes count down, the sixth entry is refused, resend after the cooldown, expiry after 10 minutes', async ({
  page,
  qa,
  shot,
}) => {
  await qa.createAccount(email, PASSWORD, true);
  await open(page, 'signin');

  const first = await test.step('each wrong code says how many attempts are left', async () => {
    await signIn(page, email);
    const first = await qa.code(email);
    const wrong = wrongCode(first.code);
    for (const left of ['4 attempts', '3 attempts', '2 attempts', '1 attempt', '0 attempts']) {
      await typeCode(page, wrong);
      await expect(page.getByTestId('code-error')).toHaveText(`Wrong code. ${left} left.`);
      if (left === '4 attempts') await shot(page, 'wrong-code');
    }
    await shot(page, 'no-attempts-left');

    // Five guesses per challenge: the sixth is refused even when it is the right code.
    await typeCode(page, first.code);
    await expectScreen(page, 'signin');
    await expect(page.getByTestId('signin-notice')).toHaveText('Too many wrong codes. Sign in again to get a new code.');
    await shot(page, 'sixth-refused');
    const refused = (await qa.events(email)).filter((e) => e.type === 'code_refused').map((e) => e.detail);
    expect(refused).toEqual(expect.arrayContaining(['too_many_attempts']));
    expect(refused.filter((d) => d === 'wrong_code')).toHaveLength(5);
    return first;
  });

  // Signing in again starts a new challenge with a new code.
  const signInAnswer = page.waitForResponse((r) => r.url().endsWith('/api/v1/signin') && r.request().method() === 'POST');
  await signIn(page, email);
  const challenge = (await (await signInAnswer).json()) as SignInResult;
  expect(challenge.status).toBe('code_required');
  await expectScreen(page, 'code');
  const second = await qa.nextCode(email, first);

  const third = await test.step('resend unlocks after the 60 s cooldown and kills the old code', async () => {
    const resend = page.getByTestId('code-resend');
    await expect(resend).toBeDisabled();
    await expect(resend).toHaveText(/^Resend code in (1:00|0:[0-5]\d)$/);
    await typeCode(page, wrongCode(second.code));
    await expect(page.getByTestId('code-error')).toHaveText('Wrong code. 4 attempts left.');

    // The QA clock replaces waiting: the code screen follows the server's clock.
    await qa.advanceClock('61s');
    await expect(resend).toBeEnabled();
    await expect(resend).toHaveText('Resend code');
    await shot(page, 'resend-ready');
    await resend.click();
    await expect(page.getByTestId('code-status')).toHaveText('We sent a new code. Earlier codes no longer work.');
    const third = await qa.nextCode(email, second);
    await expect(resend).toBeDisabled();
    await expect(page.getByTestId('code-delivery')).toHaveAttribute('data-delivery', 'sent');

    // The old code is dead, and the new code did not reset the count.
    await typeCode(page, second.code);
    await expect(page.getByTestId('code-error')).toHaveText('Wrong code. 3 attempts left.');
    await shot(page, 'old-code-refused');
    return third;
  });

  await test.step('+10 minutes on the QA clock: the code has expired', async () => {
    await openQAPanel(page);
    await page.getByTestId('qa-clock-10m').click();
    await expect(page.getByTestId('qa-status')).toHaveText('Clock moved 10 minutes ahead.');
    await expect(page.getByTestId('code-expired')).toHaveText('This code has expired.');
    await expect(page.getByTestId('code-box-0')).toBeDisabled();
    const sendNew = page.getByTestId('code-send-new');
    await expect(sendNew).toHaveText('Send a new code');
    await expect(sendNew).toBeEnabled();
    await shot(page, 'code-expired');

    // The server refuses it too, from this browser (its device cookie, its CSRF header).
    const late = await page.request.post('/api/v1/signin/verify', {
      data: { challenge_id: challenge.challenge_id, code: third.code },
      headers: { 'X-Requested-With': 'shoplogin' },
    });
    expect(late.status()).toBe(410);
    expect(((await late.json()) as ApiErrorBody).error.code).toBe('code_expired');

    // The way out: "Send a new code", from the keyboard.
    await page.getByTestId('qa-toggle').click();
    await sendNew.focus();
    await page.keyboard.press('Enter');
    await expect(page.getByTestId('code-status')).toHaveText('We sent a new code. Earlier codes no longer work.');
    await expect(page.getByTestId('code-countdown')).toHaveText(/^(10:00|9:[0-5]\d)$/);
    const fourth = await qa.nextCode(email, third);
    await typeCode(page, fourth.code);
    await expectScreen(page, 'shop');
    await shot(page, 'signed-in');
  });
});
