import { describe, expect, it } from 'vitest';
import { ApiError } from '../src/lib/api';
import { browserDeviceName, HttpTransport } from '../src/lib/transport/http';

interface Call {
  url: string;
  init: RequestInit;
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(body === undefined ? null : JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json', ...headers },
  });
}

function transportAnswering(...answers: (Response | Error)[]) {
  const calls: Call[] = [];
  const t = new HttpTransport({
    deviceName: 'Test browser',
    fetch: async (url, init) => {
      calls.push({ url, init });
      const a = answers.shift();
      if (!a) throw new Error('no answer left');
      if (a instanceof Error) throw a;
      return a;
    },
  });
  return { t, calls };
}

const headersOf = (c: Call) => c.init.headers as Record<string, string>;

describe('HttpTransport', () => {
  it('signs in with a JSON POST that carries the CSRF header and cookies', async () => {
    const { t, calls } = transportAnswering(
      json(200, { status: 'code_required', challenge_id: 'c1', expires_at: '2025-01-01T00:10:00Z' }),
    );
    const r = await t.signIn('ann@example.com', 'pw');
    expect(r.challenge_id).toBe('c1');
    const c = calls[0]!;
    expect(c.url).toBe('/api/v1/signin');
    expect(c.init.method).toBe('POST');
    expect(c.init.credentials).toBe('same-origin');
    expect(headersOf(c)['Content-Type']).toBe('application/json');
    expect(headersOf(c)['X-Requested-With']).toBe('shoplogin');
    expect(JSON.parse(c.init.body as string)).toEqual({
      email: 'ann@example.com',
      password: 'pw',
      device_name: 'Test browser',
    });
  });

  it('sends no CSRF header on GET', async () => {
    const { t, calls } = transportAnswering(json(200, { expires_at: 'x', attempts_left: 5, delivery: 'sent' }));
    await t.challenge('c/1');
    expect(calls[0]!.url).toBe('/api/v1/signin/challenge/c%2F1');
    expect(calls[0]!.init.method).toBe('GET');
    expect(headersOf(calls[0]!)['X-Requested-With']).toBeUndefined();
    expect(calls[0]!.init.body).toBeUndefined();
  });

  it('maps each operation onto the documented route', async () => {
    const ok = () => new Response(null, { status: 204 });
    const { t, calls } = transportAnswering(
      json(201, {}),
      json(200, { status: 'signed_in', expires_at: 'x' }),
      json(200, { expires_at: 'x', resend_after: 'y' }),
      ok(),
      json(200, { two_factor: 'off', devices: [], networks: [], sessions: [] }),
      json(200, {}),
      ok(),
      ok(),
      ok(),
      json(200, {}),
      ok(),
      ok(),
      ok(),
      json(200, { now: 'n' }),
      json(200, { now: 'n' }),
    );
    await t.signUp('a@b.c', 'longpassword');
    await t.verify('c1', '123 456');
    await t.resend('c1');
    await t.signOut();
    await t.security();
    await t.setTwoFactor(true, 'pw');
    await t.forgetDevice(7);
    await t.forgetNetwork(8);
    await t.signOutEverywhere();
    await t.changePassword('old', 'new');
    await t.qaClearInbox();
    await t.qaSimulateNewDevice();
    await t.qaSimulateNewNetwork();
    await t.qaAdvanceClock('720h');
    await t.qaResetClock();
    expect(calls.map((c) => `${c.init.method} ${c.url} ${(c.init.body as string | undefined) ?? ''}`)).toEqual([
      'POST /api/v1/accounts {"email":"a@b.c","password":"longpassword"}',
      'POST /api/v1/signin/verify {"challenge_id":"c1","code":"123 456"}',
      'POST /api/v1/signin/resend {"challenge_id":"c1"}',
      'POST /api/v1/signout {}',
      'GET /api/v1/account/security ',
      'PUT /api/v1/account/security {"two_factor":"email","password":"pw"}',
      'DELETE /api/v1/account/devices/7 ',
      'DELETE /api/v1/account/networks/8 ',
      'POST /api/v1/account/signout-all {}',
      'PUT /api/v1/account/password {"current_password":"old","new_password":"new"}',
      'DELETE /api/qa/messages ',
      'POST /api/qa/simulate/device {}',
      'POST /api/qa/simulate/network {}',
      'POST /api/qa/clock {"advance":"720h"}',
      'POST /api/qa/clock {"reset":true}',
    ]);
  });

  it('throws the server error as an ApiError', async () => {
    const { t } = transportAnswering(
      json(401, { error: { code: 'invalid_code', message: 'wrong code', attempts_left: 3 } }),
    );
    const err = await t.verify('c1', '000000').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ code: 'invalid_code', attemptsLeft: 3 });
  });

  it('takes retry_after from the Retry-After header when the body lacks it', async () => {
    const { t } = transportAnswering(json(429, { error: { code: 'rate_limited', message: 'slow' } }, { 'Retry-After': '17' }));
    await expect(t.signIn('a@b.c', 'x')).rejects.toMatchObject({ code: 'rate_limited', retryAfter: 17 });
  });

  it('names an error from the status when the body is not JSON', async () => {
    const { t } = transportAnswering(new Response('<html>Bad gateway</html>', { status: 502 }));
    await expect(t.security()).rejects.toMatchObject({ code: 'unavailable' });
  });

  it('reports a network failure as unavailable', async () => {
    const { t } = transportAnswering(new TypeError('Failed to fetch'));
    await expect(t.signIn('a@b.c', 'x')).rejects.toMatchObject({ code: 'unavailable' });
  });

  it('restoreSession answers null when not signed in', async () => {
    const { t } = transportAnswering(
      json(401, { error: { code: 'invalid_token', message: '' } }),
      json(401, { error: { code: 'token_expired', message: '' } }),
      json(200, { account: { email: 'a@b.c', two_factor: 'off', created_at: 'x' }, expires_at: 'y' }),
    );
    expect(await t.restoreSession()).toBeNull();
    expect(await t.restoreSession()).toBeNull();
    expect((await t.restoreSession())?.account.email).toBe('a@b.c');
  });

  it('QA is enabled when the QA clock answers, and not on 404', async () => {
    expect(await transportAnswering(json(200, { now: 'x' })).t.qaEnabled()).toBe(true);
    expect(await transportAnswering(json(404, { error: { code: 'not_found', message: '' } })).t.qaEnabled()).toBe(false);
    expect(await transportAnswering(new TypeError('offline')).t.qaEnabled()).toBe(false);
  });

  it('unwraps QA lists', async () => {
    const { t, calls } = transportAnswering(
      json(200, { messages: [{ id: 1, from: 'f', to: ['t'], subject: 's', received_at: 'r' }] }),
      json(200, { events: [{ id: 2, at: 'a', email: 'a@b.c', type: 'signin', network: '', device: '', detail: '' }] }),
      json(200, [{ id: 3, at: 'a', email: 'a@b.c', type: 'x', network: '', device: '', detail: '' }]),
    );
    expect((await t.qaMessages()).map((m) => m.id)).toEqual([1]);
    expect((await t.qaEvents('a+b@c.d')).map((e) => e.id)).toEqual([2]);
    expect(calls[1]!.url).toBe('/api/qa/events?email=a%2Bb%40c.d');
    expect((await t.qaEvents('a@b.c')).map((e) => e.id)).toEqual([3]);
  });

  it('reports no screens: the website has no end-to-end hook', () => {
    const { t, calls } = transportAnswering();
    t.screenShown('signin');
    expect(calls).toEqual([]);
  });

  it('gets no pushes', () => {
    const { t } = transportAnswering();
    expect(typeof t.on('mail:received', () => {})).toBe('function');
  });
});

describe('browserDeviceName', () => {
  it.each([
    ['Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36', 'Chrome on Linux'],
    ['Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0', 'Firefox on Windows'],
    ['Mozilla/5.0 (Macintosh; Intel Mac OS X 14_2) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Safari/605.1.15', 'Safari on macOS'],
    ['', 'Browser'],
  ])('%s', (ua, name) => {
    expect(browserDeviceName(ua)).toBe(name);
  });
});
