import { describe, expect, it, vi } from 'vitest';
import { ApiError } from '../src/lib/api';
import { selectTransport, transportFor } from '../src/lib/transport/select';
import { WailsTransport, type WailsApp, type WailsRuntime } from '../src/lib/transport/wails';

function fakeApp(overrides: Partial<WailsApp> = {}): WailsApp {
  const fail = () => Promise.reject(new Error('not stubbed'));
  return new Proxy(overrides as WailsApp, {
    get: (target, prop: string) => (prop in target ? target[prop as keyof WailsApp] : fail),
  });
}

describe('WailsTransport', () => {
  it('calls the bound Go method with the same arguments', async () => {
    const Verify = vi.fn().mockResolvedValue({ status: 'signed_in', expires_at: 'x' });
    const t = new WailsTransport(fakeApp({ Verify }), undefined);
    await t.verify('ch1', '123456');
    expect(Verify).toHaveBeenCalledWith('ch1', '123456');
  });

  it('turns the ErrorFormatter object into an ApiError', async () => {
    const t = new WailsTransport(
      fakeApp({ Verify: () => Promise.reject({ code: 'invalid_code', message: 'wrong', attempts_left: 2 }) }),
      undefined,
    );
    const err = await t.verify('c', '1').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ code: 'invalid_code', attemptsLeft: 2 });
  });

  it('turns a plain string rejection into an ApiError', async () => {
    const t = new WailsTransport(fakeApp({ SignIn: () => Promise.reject('error parsing arguments') }), undefined);
    await expect(t.signIn('a', 'b')).rejects.toMatchObject({ code: 'internal', message: 'error parsing arguments' });
  });

  it('restoreSession: null and token errors both mean "sign in"', async () => {
    expect(await new WailsTransport(fakeApp({ RestoreSession: () => Promise.resolve(null) }), undefined).restoreSession()).toBeNull();
    expect(
      await new WailsTransport(
        fakeApp({ RestoreSession: () => Promise.reject({ code: 'token_expired', message: '' }) }),
        undefined,
      ).restoreSession(),
    ).toBeNull();
  });

  it('QAEnabled failing means no QA panel', async () => {
    expect(await new WailsTransport(fakeApp(), undefined).qaEnabled()).toBe(false);
    expect(await new WailsTransport(fakeApp({ QAEnabled: () => Promise.resolve(true) }), undefined).qaEnabled()).toBe(true);
  });

  it('null lists from Go become empty arrays', async () => {
    const t = new WailsTransport(
      fakeApp({ QAMessages: () => Promise.resolve(null), QAEvents: () => Promise.resolve(null) }),
      undefined,
    );
    expect(await t.qaMessages()).toEqual([]);
    expect(await t.qaEvents('a@b.c')).toEqual([]);
  });

  it('screenShown calls the bound method and never rejects', async () => {
    const ScreenShown = vi.fn().mockResolvedValue(undefined);
    new WailsTransport(fakeApp({ ScreenShown }), undefined).screenShown('code');
    expect(ScreenShown).toHaveBeenCalledWith('code');

    // A failing call (or a missing binding) must not surface as an unhandled rejection.
    const failing = vi.fn().mockRejectedValue({ code: 'invalid_request', message: 'Unknown screen.' });
    expect(() => new WailsTransport(fakeApp({ ScreenShown: failing }), undefined).screenShown('shop')).not.toThrow();
    const missing = { ScreenShown: undefined } as unknown as Partial<WailsApp>;
    expect(() => new WailsTransport(fakeApp(missing), undefined).screenShown('shop')).not.toThrow();
    await Promise.resolve();
  });

  it('subscribes to pushes through window.runtime', () => {
    const off = vi.fn();
    const runtime: WailsRuntime = { EventsOn: vi.fn().mockReturnValue(off) };
    const t = new WailsTransport(fakeApp(), runtime);
    const cb = vi.fn();
    const unsubscribe = t.on('mail:received', cb);
    expect(runtime.EventsOn).toHaveBeenCalledWith('mail:received', expect.any(Function));
    const registered = vi.mocked(runtime.EventsOn).mock.calls[0]![1];
    registered({ id: 1 });
    expect(cb).toHaveBeenCalledTimes(1);
    unsubscribe();
    expect(off).toHaveBeenCalled();
  });
});

describe('choosing the transport', () => {
  it('uses the bindings when window.go.app.App exists', () => {
    expect(transportFor({ go: { app: { App: fakeApp() } } }).kind).toBe('wails');
  });

  it('uses HTTP in a plain browser', async () => {
    expect(transportFor({}).kind).toBe('http');
    expect((await selectTransport({}, { waitMs: 0 })).kind).toBe('http');
  });

  it('waits briefly for bindings when the Wails runtime is already there', async () => {
    const win: Parameters<typeof selectTransport>[0] = { runtime: { EventsOn: () => undefined } };
    setTimeout(() => {
      win.go = { app: { App: fakeApp() } };
    }, 10);
    expect((await selectTransport(win, { waitMs: 500, stepMs: 5 })).kind).toBe('wails');
  });
});
