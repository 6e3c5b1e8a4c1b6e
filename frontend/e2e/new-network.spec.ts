import {
  codeSubject,
  expect,
  expectScreen,
  open,
  openAccountSecurity,
  openQAPanel,
  PASSWORD,
  PROXIED_CLIENT,
  PROXIED_NETWORK,
  signIn,
  test,
  typeCode,
} from './fixtures';

const email = 'ada@example.com';

test('new-network: sign up, turn 2FA on, then a sign-in from a new network needs the emailed code', async ({
  page,
  context,
  qa,
  openContext,
  shot,
}) => {
  await test.step('sign up', async () => {
    await open(page, 'signin');
    await page.getByTestId('signin-create').click();
    await expectScreen(page, 'signup');
    await page.getByTestId('signup-email').fill(email);
    await page.getByTestId('signup-password').fill(PASSWORD);
    await page.getByTestId('signup-confirm').fill(PASSWORD);
    await shot(page, 'signup');
    await page.getByTestId('signup-confirm').press('Enter');
    // 2FA is opt-in: the new account goes straight to the shop.
    await expectScreen(page, 'shop');
    await expect(page.getByTestId('account-email')).toHaveText(email);
    await shot(page, 'shop-after-signup');
  });

  await test.step('turn 2FA on in Profile > Personal data > Account Security', async () => {
    await openAccountSecurity(page);
    await expect(page.getByTestId('security-2fa-current')).toHaveText('Currently: off');
    await page.getByTestId('security-2fa-email').check();
    // The server wants the current password to change 2FA either way; the form says so.
    await page.getByTestId('security-submit').click();
    await expect(page.getByTestId('security-error')).toHaveText(
      'Enter your current password to turn two-factor authentication on.',
    );
    await page.getByTestId('security-password').fill(PASSWORD);
    await page.getByTestId('security-password').press('Enter');
    await expect(page.getByTestId('security-status')).toContainText('Two-factor authentication is on');
    await expect(page.getByTestId('security-2fa-current')).toHaveText('Currently: on (email code)');
    // The device and network 2FA was turned on from are trusted from now on.
    const device = page.getByTestId(/^device-\d+$/);
    await expect(device).toHaveCount(1);
    await expect(device).toContainText('This device');
    await expect(device).toContainText('Trusted');
    await shot(page, 'two-factor-on', device);
  });

  await test.step('sign out', async () => {
    await page.getByTestId('signout').click();
    await expectScreen(page, 'signin');
    await expect(page.getByTestId('signin-notice')).toHaveText('You have signed out.');
    await shot(page, 'signed-out');
  });

  // The same browser profile (its device cookie), now behind the trusted proxy: a network
  // the account has never signed in from.
  const { cookies } = await context.storageState();
  expect(cookies.map((c) => c.name)).toContain('shoplogin_device');
  expect(cookies.map((c) => c.name), 'signed out: no session cookie').not.toContain('shoplogin_session');
  const elsewhere = await openContext({
    storageState: { cookies, origins: [] },
    extraHTTPHeaders: { 'X-Forwarded-For': PROXIED_CLIENT },
  });
  const away = await elsewhere.newPage();

  await test.step('sign in from a new network: a code is asked', async () => {
    await open(away, 'signin');
    await signIn(away, email);
    await expectScreen(away, 'code');
    await expect(away.getByTestId('code-reason')).toHaveText("We don't recognise this network.");
    await expect(away.getByTestId('code-email-hint')).not.toHaveText(email);
    await expect(away.getByTestId('code-countdown')).toHaveText(/^(10:00|9:[0-5]\d)$/);
    await expect(away.getByTestId('code-delivery')).toHaveAttribute('data-delivery', 'sent');
    await expect(away.getByTestId('code-hint')).toContainText('spam');
    await shot(away, 'code-asked');
  });

  await test.step('read the code in the QA inbox and type it', async () => {
    const { code } = await qa.code(email);
    expect(code).toMatch(/^\d{6}$/);
    const [newest] = await qa.messages(email);
    expect(newest?.subject).toBe(codeSubject(code));

    // The same email in the QA panel's inbox, with the code picked out.
    await openQAPanel(away);
    await expect(away.getByTestId('qa-code')).toHaveText(code);
    await shot(away, 'qa-inbox');
    await away.getByTestId('qa-toggle').click();
    await expect(away.getByTestId('qa-panel')).toBeHidden();

    await away.getByTestId('code-box-0').click();
    await typeCode(away, code);
    await expectScreen(away, 'shop');
    await expect(away.getByTestId('account-email')).toHaveText(email);
    await shot(away, 'shop');
  });

  await test.step('the new network is now trusted', async () => {
    await openAccountSecurity(away);
    const network = away.getByTestId(/^network-\d+$/).filter({ hasText: PROXIED_NETWORK });
    await expect(network).toContainText('This network');
    await expect(network).toContainText('Trusted');
    await shot(away, 'network-trusted', network);
    const events = await qa.events(email);
    expect(events.some((e) => e.type === 'code_verified' && e.network === PROXIED_NETWORK)).toBe(true);
  });
});
