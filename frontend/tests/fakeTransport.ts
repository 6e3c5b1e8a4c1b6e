// A hand-written Transport for tests: every method is a vi.fn that fails until a test
// gives it an answer.

import { vi, type Mock } from 'vitest';
import { ApiError, type Transport } from '../src/lib/api';
import type { PushEvent } from '../src/lib/types';

type Methods = Omit<Transport, 'kind' | 'on'>;
type Fakes = { [K in keyof Methods]: Mock<Methods[K]> };

export type FakeTransport = Fakes &
  Pick<Transport, 'kind' | 'on'> & {
    /** Delivers a push, as the desktop app would. */
    emit(event: PushEvent): void;
  };

function notStubbed(name: string) {
  return () => Promise.reject(new ApiError('internal', `${name} not stubbed`));
}

export function fakeTransport(kind: 'wails' | 'http' = 'wails'): FakeTransport {
  const listeners = new Map<PushEvent, Set<() => void>>();
  const names: (keyof Methods)[] = [
    'signUp',
    'signIn',
    'verify',
    'resend',
    'challenge',
    'restoreSession',
    'signOut',
    'security',
    'setTwoFactor',
    'forgetDevice',
    'forgetNetwork',
    'signOutEverywhere',
    'changePassword',
    'qaEnabled',
    'qaMessages',
    'qaMessage',
    'qaClearInbox',
    'qaClock',
    'qaAdvanceClock',
    'qaResetClock',
    'qaSimulateNewDevice',
    'qaSimulateNewNetwork',
    'qaEvents',
  ];
  const fake: Record<string, unknown> = {
    kind,
    on(event: PushEvent, cb: () => void) {
      const set = listeners.get(event) ?? new Set();
      set.add(cb);
      listeners.set(event, set);
      return () => set.delete(cb);
    },
    emit(event: PushEvent) {
      for (const cb of listeners.get(event) ?? []) cb();
    },
  };
  for (const name of names) fake[name] = vi.fn(notStubbed(name));
  // Fire and forget in every transport: it never fails, so the fake only records calls.
  fake['screenShown'] = vi.fn();
  return fake as unknown as FakeTransport;
}
