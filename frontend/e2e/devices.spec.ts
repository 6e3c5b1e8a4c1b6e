import type { ApiErrorBody } from './clients';
import { expect, expectScreen, open, openAccountSecurity, PASSWORD, signIn, test, typeCode } from './fixtures';

const email = 'margaret@example.com';

test('devices: removing a trusted device asks it for a code again; sign out everywhere ends the desktop app too', async ({
  page,
  qa,
  desktopApp,
  shot,
}) => {
  await qa.createAccount(email, PASSWORD, true);
  const desktop = desktopApp();

  await test.step('the browser and the desktop app each sign in with a code', async () => {
    await open(page, 'signin');
    await signIn(page, email);
    const browserCode = await qa.code(email);
    await typeCode(page, browserCode.code);
    await expectScreen(page, 'shop');

    const asked = await desktop.signIn(email, PASSWORD);
    expect(asked.status).toBe('code_required');
    expect(asked.reason).toBe('new_device');
    await desktop.verify(asked.challenge_id ?? '', (await qa.nextCode(email, browserCode)).code);
    expect((await desktop.session()).status).toBe(200);
  });

  const rows = page.getByTestId(/^device-\d+$/);
  const desktopRow = rows.filter({ hasText: desktop.deviceName });
  const browserRow = rows.filter({ hasText: 'This device' });

  await test.step('remove the desktop app in Account Security', async () => {
    await openAccountSecurity(page);
    await expect(rows).toHaveCount(2);
    await expect(desktopRow).toContainText('Trusted');
    await expect(browserRow).toContainText('Trusted');
    await shot(page, 'two-devices', desktopRow);
    await desktopRow.getByTestId(/^device-remove-\d+$/).click();
    await expect(page.getByTestId('security-list-status')).toHaveText(
      'Device removed. The next sign-in from it will ask for a code.',
    );
    await expect(rows).toHaveCount(1);
    await shot(page, 'desktop-removed', browserRow);

    // Its token is gone, and its next sign-in needs a code again.
    expect((await desktop.session()).status).toBe(401);
    const previous = await qa.code(email);
    const asked = await desktop.signIn(email, PASSWORD);
    expect(asked.status).toBe('code_required');
    expect(asked.reason).toBe('new_device');
    await desktop.verify(asked.challenge_id ?? '', (await qa.nextCode(email, previous)).code);
    expect((await desktop.session()).status).toBe(200);
  });

  await test.step('remove this browser: it is signed out, and its next sign-in asks for a code', async () => {
    await page.getByTestId('nav-shop').click();
    await openAccountSecurity(page);
    await browserRow.getByTestId(/^device-remove-\d+$/).click();
    await expectScreen(page, 'signin');
    await expect(page.getByTestId('signin-notice')).toHaveText('You removed this device, so it was signed out.');
    await shot(page, 'browser-removed');

    const previous = await qa.code(email);
    await signIn(page, email);
    await expectScreen(page, 'code');
    await expect(page.getByTestId('code-reason')).toHaveText("We don't recognise this device.");
    await shot(page, 'code-asked-again');
    await typeCode(page, (await qa.nextCode(email, previous)).code);
    await expectScreen(page, 'shop');
  });

  await test.step('sign out everywhere: the desktop app is signed out too', async () => {
    await openAccountSecurity(page);
    const everywhere = page.getByTestId('signout-everywhere');
    await shot(page, 'before-signout-everywhere', everywhere);
    await everywhere.click();
    await expectScreen(page, 'signin');
    await expect(page.getByTestId('signin-notice')).toHaveText('You have been signed out on all devices.');
    await shot(page, 'signed-out-everywhere');

    const answer = await desktop.session();
    expect(answer.status).toBe(401);
    expect((answer.body as ApiErrorBody).error.code).toBe('invalid_token');
    // And this browser's cookie no longer opens the shop.
    await open(page, 'signin');
  });
});
