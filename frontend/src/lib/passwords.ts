// Client-side checks that save a round trip; the server has the final word (common
// passwords, byte limit).

export const MIN_PASSWORD_LENGTH = 8;

/** A reason the new password cannot be used, or '' when it looks fine. */
export function passwordProblem(password: string, confirm: string): string {
  if ([...password].length < MIN_PASSWORD_LENGTH) {
    return `Use at least ${MIN_PASSWORD_LENGTH} characters for the password.`;
  }
  if (password !== confirm) return 'The passwords do not match.';
  return '';
}
