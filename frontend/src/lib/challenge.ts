// What the code screen says about a challenge, and where a failed entry leads.

import { toApiError } from './api';
import { errorMessage } from './errors';
import type { ChallengeReason, Delivery } from './types';

export function reasonText(reason: ChallengeReason | undefined): string {
  switch (reason) {
    case 'new_device':
      return "We don't recognise this device.";
    case 'new_network':
      return "We don't recognise this network.";
    case 'new_device_and_network':
      return "We don't recognise this device and network.";
    default:
      return 'We need to confirm it is you.';
  }
}

export function deliveryText(delivery: Delivery | undefined): string {
  switch (delivery) {
    case 'queued':
      return 'Sending the email…';
    case 'sent':
      return 'Email sent.';
    case 'retrying':
      return 'Your email provider is slow to accept mail, we keep trying.';
    case 'failed':
      return 'We could not deliver the email. Use "Resend code" to try again.';
    case 'dropped':
      return 'The code expired before the email could be delivered. Send a new code.';
    default:
      return '';
  }
}

export const SPAM_HINT =
  'Did not get it? Check your spam or trash folder and add the sender to your safe senders list.';

/** What the code screen does after a failed Verify (or Resend). */
export type VerifyOutcome =
  | { kind: 'retry'; message: string } // wrong code: clear the boxes, stay
  | { kind: 'expired'; message: string } // offer "Send a new code"
  | { kind: 'restart'; message: string } // back to sign-in with this message
  | { kind: 'error'; message: string }; // show, stay

export function verifyOutcome(raw: unknown): VerifyOutcome {
  const err = toApiError(raw);
  const message = errorMessage(err, 'code');
  switch (err.code) {
    case 'invalid_code':
      return { kind: 'retry', message };
    case 'code_expired':
      return { kind: 'expired', message };
    case 'too_many_attempts':
    case 'unknown_challenge':
    case 'invalid_token':
    case 'token_expired':
      return { kind: 'restart', message };
    default:
      return { kind: 'error', message };
  }
}
