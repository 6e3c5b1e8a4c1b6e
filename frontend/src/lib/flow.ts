// The screens of the app and the data that moves between them.

import type { ServerClock } from './clock';
import { cooldownDeadline } from './cooldown';
import type { ChallengeReason, Session, SignInResult } from './types';

/** A sign-in waiting for its emailed code. */
export interface PendingChallenge {
  id: string;
  email: string;
  emailHint: string;
  reason: ChallengeReason | undefined;
  expiresAt: string;
  /** When "Resend code" unlocks, on the server clock (ms). */
  resendAt: number;
}

export type Screen =
  | { name: 'loading' }
  | { name: 'signin'; notice?: string; email?: string }
  | { name: 'signup'; email?: string }
  | { name: 'code'; challenge: PendingChallenge }
  | { name: 'shop' }
  | { name: 'profile' };

/** The code screen's input from a code_required answer; syncs the server clock on the way. */
export function pendingChallenge(result: SignInResult, email: string, clock: ServerClock): PendingChallenge {
  clock.syncFromFreshCode(result.expires_at, result.now);
  return {
    id: result.challenge_id ?? '',
    email,
    emailHint: result.email_hint ?? email,
    reason: result.reason,
    expiresAt: result.expires_at,
    resendAt: cooldownDeadline(result.resend_after, clock.now()),
  };
}

/** The session a signed_in answer starts, or null when the answer lacks the account. */
export function sessionFrom(result: SignInResult): Session | null {
  if (result.status !== 'signed_in' || !result.account) return null;
  return { account: result.account, expires_at: result.expires_at };
}
