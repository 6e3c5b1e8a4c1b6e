package auth

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"time"

	"shoplogin/backend/address"
	"shoplogin/backend/api"
	"shoplogin/backend/audit"
	"shoplogin/backend/codes"
	"shoplogin/backend/message"
	"shoplogin/backend/outbox"
	"shoplogin/backend/throttle"
	"shoplogin/backend/tokens"
)

// errInvalidCredentials is the one answer for an unknown email and a wrong password.
func errInvalidCredentials() *api.Error {
	return &api.Error{Code: api.CodeInvalidCredentials, Message: "Wrong email or password."}
}

type accountRow struct {
	id           int64
	email        string
	emailKey     string
	passwordHash string
	twoFactor    bool
	createdAt    int64
}

func (a accountRow) api() *api.Account {
	tf := api.TwoFactorOff
	if a.twoFactor {
		tf = api.TwoFactorEmail
	}
	return &api.Account{Email: a.email, TwoFactor: tf, CreatedAt: unix(a.createdAt)}
}

type rowQuerier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func findAccount(ctx context.Context, q rowQuerier, where string, arg any) (accountRow, error) {
	var a accountRow
	var tf int
	err := q.QueryRowContext(ctx, `SELECT id, email, email_key, password_hash, two_factor, created_at FROM accounts WHERE `+where, arg).
		Scan(&a.id, &a.email, &a.emailKey, &a.passwordHash, &tf, &a.createdAt)
	a.twoFactor = tf == 1
	return a, err
}

// SignIn checks an email and password. It answers with a token when the account has 2FA
// off, or when this device and this network are both trusted; otherwise it emails a code
// and answers with a challenge.
func (s *Service) SignIn(ctx context.Context, req api.SignInRequest, network string) (api.SignInResult, error) {
	addr, err := parseEmail(req.Email)
	if err != nil {
		return api.SignInResult{}, err
	}
	if err := checkPasswordInput("password", req.Password); err != nil {
		return api.SignInResult{}, err
	}
	deviceName, err := checkDevice(req.DeviceID, req.DeviceName)
	if err != nil {
		return api.SignInResult{}, err
	}
	client := Client{DeviceID: req.DeviceID, DeviceName: deviceName, Network: network}
	now := s.now()
	acctKey, netKey := s.accountThrottleKey(addr.Key), networkThrottleKey(network)

	// One password check per account at a time, so each sees the failures before it.
	unlock, err := s.passwordTurns.lock(ctx, acctKey)
	if err != nil {
		return api.SignInResult{}, api.Errorf(api.CodeUnavailable, "The sign-in was cancelled.")
	}
	defer unlock()
	// Refuse throttled attempts before hashing: the wait must cost the server nothing.
	for _, key := range []string{acctKey, netKey} {
		wait, err := throttle.Blocked(ctx, s.db.Read, key, now)
		if err != nil {
			return api.SignInResult{}, s.internal(ctx, "signin", err)
		}
		if wait > 0 {
			// Through the writer's queue, so it shares a commit with others under a flood.
			err := s.db.Tx(ctx, func(tx *sql.Tx) error {
				return s.audit.Record(ctx, tx, audit.Event{At: now, Email: addr.Key, Type: audit.SignInThrottled,
					Network: network, Device: deviceName})
			})
			if err != nil {
				s.log.ErrorContext(ctx, "audit", slog.String("error", err.Error()))
			}
			return api.SignInResult{}, api.RateLimited(wait, "Too many failed sign-ins. Try again later.")
		}
	}

	acct, err := findAccount(ctx, s.db.Read, "email_key = ?", addr.Key)
	found := err == nil
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return api.SignInResult{}, s.internal(ctx, "signin", err)
	}
	ok, rehash := false, false
	if found {
		ok, rehash, err = s.hasher.Verify(acct.passwordHash, req.Password)
		if err != nil {
			return api.SignInResult{}, s.internal(ctx, "signin: verify password", err)
		}
	} else {
		s.hasher.VerifyDummy(req.Password)
	}
	if !ok {
		return api.SignInResult{}, s.failSignIn(ctx, now, addr, acct.id, client, acctKey, netKey)
	}
	if rehash {
		s.rehash(ctx, acct.id, req.Password)
	}
	if !acct.twoFactor {
		return s.issue(ctx, acct, client, now, false, acctKey, "password")
	}

	devTrusted, netTrusted, err := s.trust(ctx, acct.id, client)
	if err != nil {
		return api.SignInResult{}, s.internal(ctx, "signin: trust", err)
	}
	if devTrusted && netTrusted {
		return s.issue(ctx, acct, client, now, false, acctKey, "trusted_device_and_network")
	}
	reason := api.ReasonNewDeviceAndNetwork
	switch {
	case devTrusted:
		reason = api.ReasonNewNetwork
	case netTrusted:
		reason = api.ReasonNewDevice
	}
	return s.challenge(ctx, acct, client, reason, now)
}

// failSignIn records a wrong password (or unknown email) against the account and the
// network, and answers with the same error either way.
func (s *Service) failSignIn(ctx context.Context, now time.Time, addr address.Address, accountID int64, c Client, acctKey, netKey string) error {
	var wait time.Duration
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		w1, err := throttle.Fail(ctx, tx, s.cfg.Account, acctKey, now)
		if err != nil {
			return err
		}
		w2, err := throttle.Fail(ctx, tx, s.cfg.Network, netKey, now)
		if err != nil {
			return err
		}
		wait = max(w1, w2)
		return s.audit.Record(ctx, tx, audit.Event{At: now, AccountID: accountID, Email: addr.Key,
			Type: audit.SignInFailed, Network: c.Network, Device: c.DeviceName, Detail: "invalid_credentials"})
	})
	if err != nil {
		return s.internal(ctx, "signin: record failure", err)
	}
	e := errInvalidCredentials()
	// The wait that starts now is announced with the failure, so a client can show it
	// without first making another doomed attempt.
	if wait > 0 {
		e.RetryAfter = api.RetrySeconds(wait)
	}
	return e
}

func (s *Service) rehash(ctx context.Context, accountID int64, pw string) {
	h, err := s.hasher.Hash(pw)
	if err == nil {
		_, err = s.db.Write.ExecContext(ctx, `UPDATE accounts SET password_hash = ? WHERE id = ?`, h, accountID)
	}
	if err != nil {
		// The old hash still works; the next sign-in tries again.
		s.log.WarnContext(ctx, "password rehash failed", slog.String("error", err.Error()))
	}
}

// trust reports whether the account trusts the client's device and network.
func (s *Service) trust(ctx context.Context, accountID int64, c Client) (device, network bool, err error) {
	err = s.db.Read.QueryRowContext(ctx, `SELECT
		EXISTS (SELECT 1 FROM devices WHERE account_id = ?1 AND device_mac = ?2 AND trusted_at IS NOT NULL),
		EXISTS (SELECT 1 FROM networks WHERE account_id = ?1 AND prefix = ?3 AND trusted_at IS NOT NULL)`,
		accountID, s.deviceMAC(c.DeviceID), c.Network).Scan(&device, &network)
	return device, network, err
}

// challenge starts a code sign-in: a new challenge, a fresh code and its email, all in
// one transaction so the email exists exactly when the code does.
func (s *Service) challenge(ctx context.Context, acct accountRow, c Client, reason string, now time.Time) (api.SignInResult, error) {
	id, err := tokens.Random(s.random, 16)
	if err != nil {
		return api.SignInResult{}, s.internal(ctx, "signin: challenge id", err)
	}
	var apiErr error
	var expires time.Time
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		if wait, err := s.hourlyCapWait(ctx, tx, acct.id, now); err != nil || wait > 0 {
			if err == nil {
				apiErr = api.RateLimited(wait, "Too many codes were sent to this account in the last hour. Try again later.")
			}
			return err
		}
		code, err := codes.Generate(s.random)
		if err != nil {
			return err
		}
		expires = now.Add(s.cfg.CodeTTL)
		if _, err := tx.ExecContext(ctx, `INSERT INTO challenges
			(id, account_id, device_mac, device_name, network, reason, code_mac, code_issued_at, code_expires_at, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			id, acct.id, s.deviceMAC(c.DeviceID), c.DeviceName, c.Network, reason,
			codes.MAC(s.keys.Code, id, code), now.Unix(), expires.Unix(), now.Unix()); err != nil {
			return err
		}
		if err := s.sendCode(ctx, tx, acct, id, code, c.DeviceName, c.Network, now); err != nil {
			return err
		}
		return s.audit.Record(ctx, tx, audit.Event{At: now, AccountID: acct.id, Email: acct.email,
			Type: audit.CodeSent, Network: c.Network, Device: c.DeviceName, Detail: reason})
	})
	if err != nil {
		return api.SignInResult{}, s.internal(ctx, "signin: challenge", err)
	}
	if apiErr != nil {
		return api.SignInResult{}, apiErr
	}
	s.mail.Wake()
	return api.SignInResult{
		Status:      api.StatusCodeRequired,
		ChallengeID: id,
		EmailHint:   address.Hint(acct.email),
		Reason:      reason,
		ExpiresAt:   expires,
		ResendAfter: now.Add(s.cfg.ResendCooldown),
	}, nil
}

// hourlyCapWait returns how long until the account may be sent another code.
func (s *Service) hourlyCapWait(ctx context.Context, tx *sql.Tx, accountID int64, now time.Time) (time.Duration, error) {
	rows, err := tx.QueryContext(ctx, `SELECT issued_at FROM code_issues WHERE account_id = ? AND issued_at > ?
		ORDER BY issued_at DESC LIMIT ?`, accountID, now.Add(-time.Hour).Unix(), s.cfg.CodesPerHour)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	var n int
	var oldest int64
	for rows.Next() {
		if err := rows.Scan(&oldest); err != nil {
			return 0, err
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return 0, err
	}
	if n < s.cfg.CodesPerHour {
		return 0, nil
	}
	return unix(oldest).Add(time.Hour).Sub(now), nil
}

// sendCode records the code's issue and queues its email, in tx.
func (s *Service) sendCode(ctx context.Context, tx *sql.Tx, acct accountRow, challengeID, code, deviceName, network string, now time.Time) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO code_issues (account_id, issued_at) VALUES (?, ?)`, acct.id, now.Unix()); err != nil {
		return err
	}
	msg, err := s.brand.Code(message.CodeEmail{To: acct.email, Code: code, DeviceName: deviceName,
		Network: network, ValidFor: s.cfg.CodeTTL, Sent: now})
	if err != nil {
		return err
	}
	outboxID, err := s.mail.Enqueue(ctx, tx, outbox.Mail{Kind: outbox.KindCode, To: acct.email, Message: msg,
		DiscardAfter: now.Add(s.cfg.CodeTTL)})
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `UPDATE challenges SET outbox_id = ? WHERE id = ?`, outboxID, challengeID)
	return err
}

// issue signs the client in, in a transaction of its own.
func (s *Service) issue(ctx context.Context, acct accountRow, c Client, now time.Time, trustNow bool, acctKey, detail string) (api.SignInResult, error) {
	var result api.SignInResult
	err := s.db.Tx(ctx, func(tx *sql.Tx) (err error) {
		result, err = s.issueIn(ctx, tx, acct, c, now, trustNow, acctKey, detail)
		return err
	})
	if err != nil {
		return api.SignInResult{}, s.internal(ctx, "issue token", err)
	}
	return result, nil
}

// issueIn signs the client in, in tx: it remembers (and, with trustNow, trusts) the
// device and network, stores a new token's hash, forgives past failures and returns the
// token.
func (s *Service) issueIn(ctx context.Context, tx *sql.Tx, acct accountRow, c Client, now time.Time, trustNow bool, acctKey, detail string) (api.SignInResult, error) {
	token, hash, err := tokens.New(s.random)
	if err != nil {
		return api.SignInResult{}, err
	}
	expires := now.Add(s.cfg.TokenTTL)
	if _, err := s.createSession(ctx, tx, acct.id, c, hash, now, expires, trustNow); err != nil {
		return api.SignInResult{}, err
	}
	if err := throttle.Reset(ctx, tx, acctKey); err != nil {
		return api.SignInResult{}, err
	}
	if err := s.audit.Record(ctx, tx, audit.Event{At: now, AccountID: acct.id, Email: acct.email,
		Type: audit.SignInSucceeded, Network: c.Network, Device: c.DeviceName, Detail: detail}); err != nil {
		return api.SignInResult{}, err
	}
	return api.SignInResult{Status: api.StatusSignedIn, Token: token, ExpiresAt: expires, Account: acct.api()}, nil
}

// createSession upserts the device and network rows and inserts the session, in tx. It
// returns the session's row id.
func (s *Service) createSession(ctx context.Context, tx *sql.Tx, accountID int64, c Client, hash []byte, now, expires time.Time, trustNow bool) (int64, error) {
	var trusted any
	if trustNow {
		trusted = now.Unix()
	}
	var deviceRow int64
	err := tx.QueryRowContext(ctx, `INSERT INTO devices (account_id, device_mac, name, first_seen_at, last_used_at, trusted_at)
		VALUES (?1, ?2, ?3, ?4, ?4, ?5)
		ON CONFLICT (account_id, device_mac) DO UPDATE SET name = excluded.name, last_used_at = excluded.last_used_at,
			trusted_at = COALESCE(trusted_at, excluded.trusted_at)
		RETURNING id`, accountID, s.deviceMAC(c.DeviceID), c.DeviceName, now.Unix(), trusted).Scan(&deviceRow)
	if err != nil {
		return 0, wrap("upsert device", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO networks (account_id, prefix, first_seen_at, last_used_at, trusted_at)
		VALUES (?1, ?2, ?3, ?3, ?4)
		ON CONFLICT (account_id, prefix) DO UPDATE SET last_used_at = excluded.last_used_at,
			trusted_at = COALESCE(trusted_at, excluded.trusted_at)`,
		accountID, c.Network, now.Unix(), trusted); err != nil {
		return 0, wrap("upsert network", err)
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO sessions (account_id, device_id, token_hash, network, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?)`, accountID, deviceRow, hash, c.Network, now.Unix(), expires.Unix())
	if err != nil {
		return 0, wrap("insert session", err)
	}
	return res.LastInsertId()
}
