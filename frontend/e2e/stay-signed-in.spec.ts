import type { SignInResult } from '../src/lib/types';
import { expect, expectScreen, open, openQAPanel, PASSWORD, signIn, test, typeCode } from './fixtures';

const email = 'linus@example.com';

test('stay-signed-in: a reopened browser stays signed in; after a month the same device and network sign in without a code', async ({
  page,
  context,
  qa,
  openContext,
  shot,
}) => {
  await qa.createAccount(email, PASSWORD, true);

  await test.step('first sign-in on this browser needs a code', async () => {
    await open(page, 'signin');
    await signIn(page, email);
    await expect(page.getByTestId('code-reason')).toHaveText("We don't recognise this device and network.");
    await typeCode(page, (await qa.code(email)).code);
    await expectScreen(page, 'shop');
    await shot(page, 'signed-in');
  });

  // Quit the browser and start it again with the same profile: its cookies.
  const profile = await context.storageState();
  await context.close();
  const reopened = await openContext({ storageState: profile });
  const again = await reopened.newPage();

  await test.step('reopened: still signed in, no sign-in screen', async () => {
    await open(again, 'shop');
    await expect(again.getByTestId('account-email')).toHaveText(email);
    await shot(again, 'reopened');
  });

  await test.step('+1 month on the QA clock: the login token has expired', async () => {
    await openQAPanel(again);
    await again.getByTestId('qa-clock-month').click();
    await expect(again.getByTestId('qa-status')).toHaveText('Clock moved 30 days ahead.');
    await expectScreen(again, 'signin');
    await expect(again.getByTestId('signin-notice')).toHaveText('Your session has expired. Please sign in again.');
    await shot(again, 'month-later');
    await again.getByTestId('qa-toggle').click();
    // Not just the page: the server refuses the old token too.
    await open(again, 'signin');
  });

  await test.step('the same device and network sign in again without a code', async () => {
    const mailBefore = (await qa.messages(email)).length;
    const answer = again.waitForResponse((r) => r.url().endsWith('/api/v1/signin'));
    await signIn(again, email);
    expect(((await (await answer).json()) as SignInResult).status).toBe('signed_in');
    await expectScreen(again, 'shop');
    await expect(again.getByTestId('account-email')).toHaveText(email);
    await shot(again, 'signed-in-without-code');
    expect((await qa.messages(email)).length, 'no code email').toBe(mailBefore);
  });
});
