// Shapes exchanged with the account server, identical over HTTP and Wails bindings.
// Times are RFC 3339 strings.

export type TwoFactor = 'email' | 'off';

export type ChallengeReason = 'new_device' | 'new_network' | 'new_device_and_network';

export type Delivery = 'queued' | 'sent' | 'retrying' | 'failed' | 'dropped';

export interface Account {
  email: string;
  two_factor: TwoFactor;
  created_at: string;
}

export interface SignInResult {
  status: 'signed_in' | 'code_required';
  token?: string;
  expires_at: string;
  account?: Account;
  challenge_id?: string;
  email_hint?: string;
  reason?: ChallengeReason;
  /** When "Resend code" unlocks: an RFC 3339 time, or seconds from now. */
  resend_after?: string | number;
  /** Server time when the answer was made; lets the UI follow a moved QA clock. */
  now?: string;
}

export interface ResendResult {
  expires_at: string;
  resend_after: string | number;
  now?: string;
}

export interface Challenge {
  expires_at: string;
  attempts_left: number;
  delivery: Delivery;
  email_hint?: string;
  reason?: ChallengeReason;
  resend_after?: string | number;
  now?: string;
}

export interface Session {
  account: Account;
  expires_at: string;
}

export interface Device {
  id: number;
  name: string;
  trusted: boolean;
  current: boolean;
  first_seen_at: string;
  last_used_at: string;
}

export interface Network {
  id: number;
  network: string;
  trusted: boolean;
  current: boolean;
  first_seen_at: string;
  last_used_at: string;
}

export interface SessionInfo {
  id: number;
  device_name: string;
  network: string;
  current: boolean;
  created_at: string;
  expires_at: string;
}

export interface Security {
  two_factor: TwoFactor;
  devices: Device[];
  networks: Network[];
  sessions: SessionInfo[];
}

export interface MessageSummary {
  id: number;
  from: string;
  to: string[];
  subject: string;
  received_at: string;
}

export interface Message extends MessageSummary {
  text: string;
  html: string;
  headers: Record<string, string[]>;
  raw: string;
}

export interface ClockReading {
  now: string;
}

export interface AuditEvent {
  id: number;
  at: string;
  email: string;
  type: string;
  network: string;
  device: string;
  detail: string;
}

/** Names of the pushes the desktop app sends; the browser gets none. */
export type PushEvent = 'session:expired' | 'mail:received';
