package auth

import (
	"context"
	"crypto/hmac"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"shoplogin/backend/address"
	"shoplogin/backend/api"
	"shoplogin/backend/audit"
	"shoplogin/backend/codes"
	"shoplogin/backend/throttle"
)

func errUnknownChallenge() *api.Error {
	return &api.Error{Code: api.CodeUnknownChallenge, Message: "This sign-in is no longer pending. Please sign in again."}
}

func errTooManyAttempts() *api.Error {
	return &api.Error{Code: api.CodeTooManyAttempts, Message: "Too many wrong codes. Please sign in again."}
}

// checkChallengeID refuses ids that cannot exist before touching the database.
func checkChallengeID(id string) error {
	if id == "" {
		return invalid("challenge_id", "The challenge id is missing.")
	}
	if len(id) > 64 {
		return errUnknownChallenge()
	}
	return nil
}

// Verify checks a code. The guess is counted before the code is compared, in the same
// transaction that consumes the challenge, so no number of concurrent requests gets more
// than MaxAttempts guesses or more than one sign-in out of a challenge.
func (s *Service) Verify(ctx context.Context, req api.VerifyRequest, network string) (api.SignInResult, error) {
	if err := checkChallengeID(req.ChallengeID); err != nil {
		return api.SignInResult{}, err
	}
	if req.Code == "" {
		return api.SignInResult{}, invalid("code", "Enter the 6-digit code from the email.")
	}
	if _, err := checkDevice(req.DeviceID, ""); err != nil {
		return api.SignInResult{}, err
	}
	code, wellFormed := codes.Normalize(req.Code)
	now := s.now()

	var (
		apiErr  error
		result  api.SignInResult
		acct    accountRow
		client  Client
		acctKey string
	)
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		var deviceMAC, codeMAC []byte
		var attempts int
		var expiresAt, createdAt int64
		var reason string
		err := tx.QueryRowContext(ctx, `UPDATE challenges SET attempts = attempts + 1
			WHERE id = ? AND consumed_at IS NULL
			RETURNING attempts, code_expires_at, created_at, code_mac, account_id, device_mac, device_name, network, reason`,
			req.ChallengeID).Scan(&attempts, &expiresAt, &createdAt, &codeMAC, &acct.id, &deviceMAC,
			&client.DeviceName, &client.Network, &reason)
		if errors.Is(err, sql.ErrNoRows) {
			apiErr = errUnknownChallenge()
			return nil
		}
		if err != nil {
			return err
		}
		client.DeviceID = req.DeviceID
		acct, err = findAccount(ctx, tx, "id = ?", acct.id)
		if err != nil {
			return err
		}
		acctKey = s.accountThrottleKey(acct.emailKey)
		refuse := func(detail string, e *api.Error) error {
			apiErr = e
			return s.audit.Record(ctx, tx, audit.Event{At: now, AccountID: acct.id, Email: acct.email,
				Type: audit.CodeRefused, Network: network, Device: client.DeviceName, Detail: detail})
		}
		switch {
		case attempts > s.cfg.MaxAttempts:
			return refuse("too_many_attempts", errTooManyAttempts())
		case now.Unix() >= createdAt+int64(s.cfg.ChallengeTTL/time.Second):
			return refuse("challenge_expired", errUnknownChallenge())
		case now.Unix() >= expiresAt:
			return refuse("expired", &api.Error{Code: api.CodeCodeExpired,
				Message: "This code has expired. Send a new code to continue."})
		}
		// The code is bound to the device that asked for it: from any other device it is
		// simply wrong.
		if !wellFormed || !hmac.Equal(deviceMAC, s.deviceMAC(req.DeviceID)) || !codes.Match(s.keys.Code, req.ChallengeID, code, codeMAC) {
			// A wrong code also counts against the account, so churning through
			// challenges does not buy an attacker unlimited guesses.
			if _, err := throttle.Fail(ctx, tx, s.cfg.Account, acctKey, now); err != nil {
				return err
			}
			left := s.cfg.MaxAttempts - attempts
			return refuse("wrong_code", &api.Error{Code: api.CodeInvalidCode, AttemptsLeft: &left,
				Message: attemptsMessage(left)})
		}
		res, err := tx.ExecContext(ctx, `UPDATE challenges SET consumed_at = ? WHERE id = ? AND consumed_at IS NULL`,
			now.Unix(), req.ChallengeID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			apiErr = errUnknownChallenge()
			return err
		}
		if err := s.audit.Record(ctx, tx, audit.Event{At: now, AccountID: acct.id, Email: acct.email,
			Type: audit.CodeVerified, Network: network, Device: client.DeviceName, Detail: reason}); err != nil {
			return err
		}
		// The challenge is consumed: this request alone signs in, in the same transaction,
		// so a crash cannot leave a used code without its token. The device and the
		// network the sign-in came from are now trusted.
		result, err = s.issueIn(ctx, tx, acct, client, now, true, acctKey, "code")
		return err
	})
	if err != nil {
		return api.SignInResult{}, s.internal(ctx, "verify", err)
	}
	if apiErr != nil {
		return api.SignInResult{}, apiErr
	}
	return result, nil
}

func attemptsMessage(left int) string {
	switch left {
	case 0:
		return "Wrong code. No attempts left: please sign in again."
	case 1:
		return "Wrong code. 1 attempt left."
	default:
		return fmt.Sprintf("Wrong code. %d attempts left.", left)
	}
}

// Resend sends a new code for a pending challenge. The old code stops working at once;
// the guess count carries over.
func (s *Service) Resend(ctx context.Context, challengeID string) (api.ResendResult, error) {
	if err := checkChallengeID(challengeID); err != nil {
		return api.ResendResult{}, err
	}
	now := s.now()
	var apiErr error
	var result api.ResendResult
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		var acct accountRow
		var attempts int
		var issuedAt, createdAt int64
		var outboxID sql.NullInt64
		var deviceName, network string
		err := tx.QueryRowContext(ctx, `SELECT account_id, attempts, code_issued_at, created_at, outbox_id, device_name, network
			FROM challenges WHERE id = ? AND consumed_at IS NULL`, challengeID).
			Scan(&acct.id, &attempts, &issuedAt, &createdAt, &outboxID, &deviceName, &network)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && now.Unix() >= createdAt+int64(s.cfg.ChallengeTTL/time.Second)) {
			apiErr = errUnknownChallenge()
			return nil
		}
		if err != nil {
			return err
		}
		if attempts >= s.cfg.MaxAttempts {
			apiErr = errTooManyAttempts()
			return nil
		}
		if next := unix(issuedAt).Add(s.cfg.ResendCooldown); now.Before(next) {
			apiErr = api.RateLimited(next.Sub(now), "Please wait before asking for another code.")
			return nil
		}
		if wait, err := s.hourlyCapWait(ctx, tx, acct.id, now); err != nil || wait > 0 {
			if err == nil {
				apiErr = api.RateLimited(wait, "Too many codes were sent to this account in the last hour. Try again later.")
			}
			return err
		}
		if acct, err = findAccount(ctx, tx, "id = ?", acct.id); err != nil {
			return err
		}
		code, err := codes.Generate(s.random)
		if err != nil {
			return err
		}
		expires := now.Add(s.cfg.CodeTTL)
		if _, err := tx.ExecContext(ctx, `UPDATE challenges SET code_mac = ?, code_issued_at = ?, code_expires_at = ?
			WHERE id = ?`, codes.MAC(s.keys.Code, challengeID, code), now.Unix(), expires.Unix(), challengeID); err != nil {
			return err
		}
		// The old code is dead: its email, if still waiting, must not go out.
		if outboxID.Valid {
			if err := s.mail.Cancel(ctx, tx, outboxID.Int64); err != nil {
				return err
			}
		}
		if err := s.sendCode(ctx, tx, acct, challengeID, code, deviceName, network, now); err != nil {
			return err
		}
		result = api.ResendResult{ExpiresAt: expires, ResendAfter: now.Add(s.cfg.ResendCooldown)}
		return s.audit.Record(ctx, tx, audit.Event{At: now, AccountID: acct.id, Email: acct.email,
			Type: audit.CodeResent, Network: network, Device: deviceName})
	})
	if err != nil {
		return api.ResendResult{}, s.internal(ctx, "resend", err)
	}
	if apiErr != nil {
		return api.ResendResult{}, apiErr
	}
	s.mail.Wake()
	return result, nil
}

// Challenge reports a pending challenge's state, for the code screen.
func (s *Service) Challenge(ctx context.Context, challengeID string) (api.Challenge, error) {
	if err := checkChallengeID(challengeID); err != nil {
		return api.Challenge{}, err
	}
	var c api.Challenge
	var attempts int
	var expiresAt, issuedAt, createdAt int64
	var outboxID sql.NullInt64
	var email string
	err := s.db.Read.QueryRowContext(ctx, `SELECT c.attempts, c.code_expires_at, c.code_issued_at, c.created_at,
		c.outbox_id, c.reason, a.email
		FROM challenges c JOIN accounts a ON a.id = c.account_id WHERE c.id = ? AND c.consumed_at IS NULL`, challengeID).
		Scan(&attempts, &expiresAt, &issuedAt, &createdAt, &outboxID, &c.Reason, &email)
	now := s.now()
	if errors.Is(err, sql.ErrNoRows) || (err == nil && now.Unix() >= createdAt+int64(s.cfg.ChallengeTTL/time.Second)) {
		return api.Challenge{}, errUnknownChallenge()
	}
	if err != nil {
		return api.Challenge{}, s.internal(ctx, "challenge", err)
	}
	c.ExpiresAt = unix(expiresAt)
	c.ResendAfter = unix(issuedAt).Add(s.cfg.ResendCooldown)
	c.AttemptsLeft = max(0, s.cfg.MaxAttempts-attempts)
	c.Now = now
	c.EmailHint = address.Hint(email)
	c.Delivery = "queued"
	if outboxID.Valid {
		if c.Delivery, err = s.mail.Status(ctx, outboxID.Int64); err != nil {
			return api.Challenge{}, s.internal(ctx, "challenge: delivery", err)
		}
	}
	return c, nil
}
