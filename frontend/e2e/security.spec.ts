import type { Response } from '@playwright/test';
import { call, json, type ApiErrorBody } from './clients';
import { expect, expectScreen, open, openAccountSecurity, PASSWORD, signIn, test } from './fixtures';
import { startOtherSite } from './other-site';

const email = 'barbara@example.com';

/** The headers every answer of the shop must carry, pages and API alike. */
function expectSecurityHeaders(what: string, headers: Record<string, string>): void {
  const csp = headers['content-security-policy'] ?? '';
  const directives = new Map(
    csp
      .split(';')
      .map((d) => d.trim().split(/\s+/))
      .filter((d) => d[0])
      .map((d) => [d[0] ?? '', d.slice(1).join(' ')]),
  );
  expect.soft(directives.get('default-src'), `${what}: CSP default-src`).toBe("'self'");
  expect.soft(directives.get('script-src'), `${what}: CSP script-src (no inline, no eval)`).toBe("'self'");
  expect.soft(directives.get('style-src'), `${what}: CSP style-src`).toBe("'self'");
  expect.soft(directives.get('object-src'), `${what}: CSP object-src`).toBe("'none'");
  expect.soft(directives.get('base-uri'), `${what}: CSP base-uri`).toBe("'none'");
  expect.soft(directives.get('frame-ancestors'), `${what}: CSP frame-ancestors`).toBe("'none'");
  expect.soft(headers['referrer-policy'], `${what}: Referrer-Policy`).toBe('no-referrer');
  expect.soft(headers['x-content-type-options'], `${what}: X-Content-Type-Options`).toBe('nosniff');
  expect.soft(headers['x-frame-options'], `${what}: X-Frame-Options`).toBe('DENY');
}

test('csrf: a cross-site POST is refused and the session survives it', async ({ page, context, server, qa, shot }) => {
  await qa.createAccount(email, PASSWORD, false);
  await open(page, 'signin');
  await signIn(page, email);
  await expectScreen(page, 'shop');

  await test.step('scripts: a foreign Origin or Sec-Fetch-Site is refused before anything else', async () => {
    const body = { email, password: PASSWORD, device_id: 'e2e-csrf-script' };
    const foreign: Record<string, string>[] = [{ Origin: 'http://evil.example' }, { 'Sec-Fetch-Site': 'cross-site' }];
    for (const headers of foreign) {
      const res = await call<ApiErrorBody>(`${server.url}/api/v1/signin`, json('POST', body, headers));
      expect(res.status, JSON.stringify(headers)).toBe(403);
      expect(res.body.error.code).toBe('forbidden');
    }
    // The shop's own origin is fine.
    const own = await call(`${server.url}/api/v1/signin`, json('POST', body, { Origin: server.url }));
    expect(own.status).toBe(200);
  });

  await test.step("the shop's cookies without the shop's X-Requested-With header are refused", async () => {
    const res = await context.request.post('/api/v1/account/signout-all', { data: {} });
    expect(res.status()).toBe(403);
    expect(((await res.json()) as ApiErrorBody).error.code).toBe('forbidden');
  });

  const target = `${server.url}/api/v1/account/signout-all`;
  const other = await startOtherSite({
    '/': `<!doctype html><title>Free plugins</title><h1>Claim your free plugin</h1>
      <form method="POST" action="${target}" enctype="text/plain">
        <input type="hidden" name='{"x":"' value='"}'>
        <button data-testid="claim">Claim it</button>
      </form>`,
  });
  try {
    const evil = await context.newPage();
    await evil.goto(other.url + '/');
    await shot(evil, 'other-site');

    await test.step('a form on another site posts to the shop: refused', async () => {
      const answer = evil.waitForResponse(target);
      await evil.getByTestId('claim').click();
      const res = await answer;
      expect(res.status()).toBe(403);
      expect(((await res.json()) as ApiErrorBody).error.code).toBe('forbidden');
      await expect(evil.locator('body')).toContainText('Cross-site requests are not allowed.');
      await shot(evil, 'form-post-refused');
    });

    await test.step("another site's script cannot send the shop's CSRF header", async () => {
      await evil.goto(other.url + '/');
      // A custom header needs a CORS preflight, which the server never grants.
      const outcome = await evil.evaluate(async (url) => {
        try {
          await fetch(url, {
            method: 'POST',
            credentials: 'include',
            headers: { 'Content-Type': 'application/json', 'X-Requested-With': 'shoplogin' },
            body: '{}',
          });
          return 'sent';
        } catch {
          return 'blocked';
        }
      }, target);
      expect(outcome).toBe('blocked');
    });
    await evil.close();
  } finally {
    await other.close();
  }

  await test.step('the shop tab is still signed in', async () => {
    await open(page, 'shop');
    await expect(page.getByTestId('account-email')).toHaveText(email);
  });
});

test('headers: every page and answer carries the security headers, and the shop cannot be framed', async ({
  page,
  server,
  qa,
  shot,
}) => {
  await qa.createAccount(email, PASSWORD, false);

  await test.step('pages, assets and API answers fetched directly', async () => {
    const index = await (await fetch(`${server.url}/`)).text();
    const assets = [...index.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1] ?? '');
    expect(assets.length).toBeGreaterThanOrEqual(2);
    const urls: [string, RequestInit?][] = [
      ['/'],
      ['/index.html'],
      ['/profile'],
      ['/some/deep/link?x=1'],
      ['/favicon.svg'],
      ...assets.map((a): [string] => [a]),
      ['/api/v1/session'],
      ['/api/qa/clock'],
      ['/api/no/such/thing'],
      ['/', { method: 'POST' }],
      ['/api/v1/signin', json('POST', { email, password: 'wrong password!', device_id: 'e2e-headers' })],
    ];
    for (const [path, init] of urls) {
      const res = await fetch(server.url + path, init);
      await res.arrayBuffer();
      expectSecurityHeaders(`${init?.method ?? 'GET'} ${path} (${res.status})`, Object.fromEntries(res.headers));
    }
  });

  await test.step('everything the browser loads on the way through the shop', async () => {
    const responses: Response[] = [];
    const violations: string[] = [];
    page.on('response', (r) => {
      if (r.url().startsWith(server.url)) responses.push(r);
    });
    page.on('console', (m) => {
      if (/Content Security Policy|Refused to/i.test(m.text())) violations.push(m.text());
    });
    page.on('pageerror', (e) => violations.push(e.message));

    await open(page, 'signin');
    await signIn(page, email);
    await expectScreen(page, 'shop');
    await openAccountSecurity(page);
    await page.getByTestId('qa-toggle').click();
    await expect(page.getByTestId('qa-panel')).toBeVisible();
    await shot(page, 'profile-with-qa-panel');
    await page.getByTestId('signout').click();
    await expectScreen(page, 'signin');
    await page.goto('/profile');
    await expectScreen(page, 'signin');

    const kinds = new Set(responses.map((r) => r.request().resourceType()));
    expect([...kinds]).toEqual(expect.arrayContaining(['document', 'script', 'stylesheet', 'fetch']));
    for (const r of responses) {
      expectSecurityHeaders(`${r.request().method()} ${new URL(r.url()).pathname} (${r.status()})`, await r.allHeaders());
    }
    expect(violations, 'CSP violations or page errors').toEqual([]);
  });

  await test.step('another site cannot put the shop in a frame', async () => {
    const other = await startOtherSite({
      '/': `<!doctype html><title>Framing</title><h1>The shop, framed?</h1>
        <iframe src="${server.url}/" width="800" height="500" data-testid="frame"></iframe>`,
    });
    try {
      const refused = page.waitForEvent('console', (m) => m.text().includes("frame-ancestors 'none'"));
      await page.goto(other.url + '/');
      expect((await refused).text()).toMatch(/blocked|refused/i);
      await expect(page.frameLocator('[data-testid="frame"]').locator('[data-screen]')).toHaveCount(0);
      await shot(page, 'framing-refused');
    } finally {
      await other.close();
    }
  });
});
