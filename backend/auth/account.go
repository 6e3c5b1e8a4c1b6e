package auth

import (
	"context"
	"crypto/hmac"
	"database/sql"
	"errors"
	"time"

	"shoplogin/backend/address"
	"shoplogin/backend/api"
	"shoplogin/backend/audit"
	"shoplogin/backend/message"
	"shoplogin/backend/outbox"
	"shoplogin/backend/password"
	"shoplogin/backend/throttle"
	"shoplogin/backend/tokens"
)

// ErrAccountExists is returned by CreateAccount (for operators and QA, who may know) when
// the address already has an account. Sign-up by users never reveals it.
var ErrAccountExists = errors.New("an account with this email already exists")

// SignUp creates an account. An address that already has one gets the same answer and
// the same work (a hash), and its owner gets a notice instead: sign-up must not tell a
// stranger which addresses have accounts.
func (s *Service) SignUp(ctx context.Context, email, pw string, c Client) error {
	addr, hash, err := s.newCredentials(ctx, email, pw)
	if err != nil {
		return err
	}
	now := s.now()
	woke := false
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		existing, err := findAccount(ctx, tx, "email_key = ?", addr.Key)
		if err == nil {
			// At most one notice an hour: sign-up is open to anyone, and must not become a
			// way to flood an owner's mailbox.
			var recent bool
			if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM events WHERE account_id = ? AND type = ? AND at > ?)`,
				existing.id, audit.SignUpExisting, now.Add(-time.Hour).Unix()).Scan(&recent); err != nil {
				return err
			}
			if recent {
				return nil
			}
			// Signing up twice is a hint someone forgot they have an account, or someone
			// probing; either way the owner hears of it, with no link to act on.
			if err := s.notice(ctx, tx, existing.email, "Someone tried to create an account with your address",
				"Someone tried to create a new account with this email address, which already has one.\n"+
					"If it was you, sign in instead (you can change your password in Account Security).\n"+
					"If it was not you, you can ignore this message: nothing has changed.", now); err != nil {
				return err
			}
			woke = true
			return s.audit.Record(ctx, tx, audit.Event{At: now, AccountID: existing.id, Email: existing.email,
				Type: audit.SignUpExisting, Network: c.Network})
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		id, err := insertAccount(ctx, tx, addr.Display, addr.Key, hash, false, now)
		if err != nil {
			return err
		}
		return s.audit.Record(ctx, tx, audit.Event{At: now, AccountID: id, Email: addr.Display,
			Type: audit.SignUp, Network: c.Network})
	})
	if err != nil {
		return s.internal(ctx, "signup", err)
	}
	if woke {
		s.mail.Wake()
	}
	return nil
}

// newCredentials checks a new account's email and password against the policy and
// hashes the password.
func (s *Service) newCredentials(ctx context.Context, email, pw string) (address.Address, string, error) {
	addr, err := parseEmail(email)
	if err != nil {
		return address.Address{}, "", err
	}
	if err := checkPasswordInput("password", pw); err != nil {
		return address.Address{}, "", err
	}
	if err := password.Check(pw); err != nil {
		return address.Address{}, "", err
	}
	hash, err := s.hasher.Hash(pw)
	if err != nil {
		return address.Address{}, "", s.internal(ctx, "hash password", err)
	}
	return addr, hash, nil
}

func insertAccount(ctx context.Context, tx *sql.Tx, email, key, hash string, twoFactor bool, now time.Time) (int64, error) {
	tf := 0
	if twoFactor {
		tf = 1
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO accounts (email, email_key, password_hash, two_factor, created_at, password_changed_at)
		VALUES (?, ?, ?, ?, ?, ?)`, email, key, hash, tf, now.Unix(), now.Unix())
	if err != nil {
		return 0, err
	}
	return res.LastInsertId()
}

// CreateAccount makes an account directly, for `shoplogin account add` and the QA API.
// Unlike SignUp it says when the address is taken.
func (s *Service) CreateAccount(ctx context.Context, email, pw string, twoFactor bool) error {
	addr, hash, err := s.newCredentials(ctx, email, pw)
	if err != nil {
		return err
	}
	now := s.now()
	var exists bool
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := findAccount(ctx, tx, "email_key = ?", addr.Key); err == nil {
			exists = true
			return nil
		} else if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		id, err := insertAccount(ctx, tx, addr.Display, addr.Key, hash, twoFactor, now)
		if err != nil {
			return err
		}
		return s.audit.Record(ctx, tx, audit.Event{At: now, AccountID: id, Email: addr.Display, Type: audit.AccountCreated})
	})
	if err != nil {
		return s.internal(ctx, "create account", err)
	}
	if exists {
		return ErrAccountExists
	}
	return nil
}

func errInvalidToken() *api.Error {
	return &api.Error{Code: api.CodeInvalidToken, Message: "You are signed out. Please sign in."}
}

// Authenticate finds the session of a token presented from a device. A token is refused
// from any device but the one it was issued to, and after its absolute expiry.
func (s *Service) Authenticate(ctx context.Context, token, deviceID string) (Principal, error) {
	if token == "" || len(token) > 128 || deviceID == "" || len(deviceID) > maxDeviceID {
		return Principal{}, errInvalidToken()
	}
	var p Principal
	var expires int64
	var deviceMAC []byte
	var acct accountRow
	var tf int
	err := s.db.Read.QueryRowContext(ctx, `SELECT s.id, s.account_id, s.device_id, s.expires_at, d.device_mac, a.email, a.two_factor, a.created_at
		FROM sessions s JOIN devices d ON d.id = s.device_id JOIN accounts a ON a.id = s.account_id
		WHERE s.token_hash = ? AND s.revoked_at IS NULL`, tokens.Hash(token)).
		Scan(&p.SessionID, &p.AccountID, &p.DeviceRow, &expires, &deviceMAC, &p.Email, &tf, &acct.createdAt)
	if errors.Is(err, sql.ErrNoRows) {
		return Principal{}, errInvalidToken()
	}
	if err != nil {
		return Principal{}, s.internal(ctx, "authenticate", err)
	}
	if !hmac.Equal(deviceMAC, s.deviceMAC(deviceID)) {
		return Principal{}, errInvalidToken()
	}
	p.ExpiresAt = unix(expires)
	if !s.now().Before(p.ExpiresAt) {
		return Principal{}, &api.Error{Code: api.CodeTokenExpired, Message: "Your monthly sign-in has expired. Please sign in again."}
	}
	acct.email, acct.twoFactor = p.Email, tf == 1
	p.account = acct.api()
	return p, nil
}

// Session describes the signed-in account.
func (s *Service) Session(ctx context.Context, p Principal) (api.Session, error) {
	if p.account != nil {
		// Read with the token: a second look-up would cost a whole read transaction.
		return api.Session{Account: *p.account, ExpiresAt: p.ExpiresAt}, nil
	}
	acct, err := findAccount(ctx, s.db.Read, "id = ?", p.AccountID)
	if err != nil {
		return api.Session{}, s.internal(ctx, "session", err)
	}
	return api.Session{Account: *acct.api(), ExpiresAt: p.ExpiresAt}, nil
}

// SignOut revokes the caller's token.
func (s *Service) SignOut(ctx context.Context, p Principal, c Client) error {
	return s.change(ctx, p, c, audit.SignedOut, "", func(tx *sql.Tx, now time.Time) error {
		_, err := tx.ExecContext(ctx, `UPDATE sessions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`, now.Unix(), p.SessionID)
		return err
	})
}

// SignOutEverywhere revokes every token of the account, the caller's included.
func (s *Service) SignOutEverywhere(ctx context.Context, p Principal, c Client) error {
	return s.change(ctx, p, c, audit.SignedOutAll, "", func(tx *sql.Tx, now time.Time) error {
		return revokeAll(ctx, tx, p.AccountID, now)
	})
}

// revokeAll ends every token of the account and every sign-in still waiting for its code:
// after "sign out everywhere" or a password change, a challenge started with the old
// password must not let anyone in.
func revokeAll(ctx context.Context, tx *sql.Tx, accountID int64, now time.Time) error {
	if _, err := tx.ExecContext(ctx, `UPDATE sessions SET revoked_at = ? WHERE account_id = ? AND revoked_at IS NULL`, now.Unix(), accountID); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `UPDATE challenges SET consumed_at = ? WHERE account_id = ? AND consumed_at IS NULL`, now.Unix(), accountID)
	return err
}

// ForgetDevice removes a device: its tokens end and its next sign-in asks for a code.
func (s *Service) ForgetDevice(ctx context.Context, p Principal, c Client, id int64) error {
	return s.forget(ctx, p, c, audit.DeviceForgotten, `DELETE FROM devices WHERE id = ? AND account_id = ?`, id)
}

// ForgetNetwork removes a network: the next sign-in from it asks for a code.
func (s *Service) ForgetNetwork(ctx context.Context, p Principal, c Client, id int64) error {
	return s.forget(ctx, p, c, audit.NetworkForgotten, `DELETE FROM networks WHERE id = ? AND account_id = ?`, id)
}

func (s *Service) forget(ctx context.Context, p Principal, c Client, event, query string, id int64) error {
	notFound := false
	err := s.change(ctx, p, c, event, "", func(tx *sql.Tx, now time.Time) error {
		res, err := tx.ExecContext(ctx, query, id, p.AccountID)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		notFound = n == 0
		return err
	})
	if err == nil && notFound {
		return api.Errorf(api.CodeNotFound, "There is no such entry in your account.")
	}
	return err
}

// change runs a settings change and its audit event in one transaction.
func (s *Service) change(ctx context.Context, p Principal, c Client, event, detail string, fn func(*sql.Tx, time.Time) error) error {
	now := s.now()
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		// The token was checked before the request reached here; a "sign out
		// everywhere" may have committed since. Checking again in the transaction means
		// no change (and no fresh token) is made on a session that has just ended.
		var live bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM sessions WHERE id = ? AND revoked_at IS NULL)`,
			p.SessionID).Scan(&live); err != nil {
			return err
		}
		if !live {
			return errInvalidToken()
		}
		if err := fn(tx, now); err != nil {
			return err
		}
		return s.audit.Record(ctx, tx, audit.Event{At: now, AccountID: p.AccountID, Email: p.Email, Type: event,
			Network: c.Network, Device: c.DeviceName, Detail: detail})
	})
	if err != nil {
		var apiErr *api.Error
		if errors.As(err, &apiErr) {
			return apiErr
		}
		return s.internal(ctx, event, err)
	}
	return nil
}

// Security lists the account's 2FA setting, devices, networks and live sessions.
func (s *Service) Security(ctx context.Context, p Principal, c Client) (api.Security, error) {
	acct, err := findAccount(ctx, s.db.Read, "id = ?", p.AccountID)
	if err != nil {
		return api.Security{}, s.internal(ctx, "security", err)
	}
	sec := api.Security{TwoFactor: acct.api().TwoFactor, Devices: []api.Device{}, Networks: []api.Network{}, Sessions: []api.SessionInfo{}}
	err = s.query(ctx, `SELECT id, name, trusted_at IS NOT NULL, first_seen_at, last_used_at FROM devices
		WHERE account_id = ? ORDER BY last_used_at DESC, id DESC`, []any{p.AccountID}, func(rows *sql.Rows) error {
		var d api.Device
		var first, last int64
		if err := rows.Scan(&d.ID, &d.Name, &d.Trusted, &first, &last); err != nil {
			return err
		}
		d.FirstSeen, d.LastUsedAt, d.Current = unix(first), unix(last), d.ID == p.DeviceRow
		sec.Devices = append(sec.Devices, d)
		return nil
	})
	if err != nil {
		return api.Security{}, s.internal(ctx, "security: devices", err)
	}
	err = s.query(ctx, `SELECT id, prefix, trusted_at IS NOT NULL, first_seen_at, last_used_at FROM networks
		WHERE account_id = ? ORDER BY last_used_at DESC, id DESC`, []any{p.AccountID}, func(rows *sql.Rows) error {
		var n api.Network
		var first, last int64
		if err := rows.Scan(&n.ID, &n.Network, &n.Trusted, &first, &last); err != nil {
			return err
		}
		n.FirstSeen, n.LastUsedAt, n.Current = unix(first), unix(last), n.Network == c.Network
		sec.Networks = append(sec.Networks, n)
		return nil
	})
	if err != nil {
		return api.Security{}, s.internal(ctx, "security: networks", err)
	}
	err = s.query(ctx, `SELECT s.id, d.name, s.network, s.created_at, s.expires_at FROM sessions s
		JOIN devices d ON d.id = s.device_id
		WHERE s.account_id = ? AND s.revoked_at IS NULL AND s.expires_at > ? ORDER BY s.created_at DESC, s.id DESC`,
		[]any{p.AccountID, s.now().Unix()}, func(rows *sql.Rows) error {
			var si api.SessionInfo
			var created, expires int64
			if err := rows.Scan(&si.ID, &si.DeviceName, &si.Network, &created, &expires); err != nil {
				return err
			}
			si.CreatedAt, si.ExpiresAt, si.Current = unix(created), unix(expires), si.ID == p.SessionID
			sec.Sessions = append(sec.Sessions, si)
			return nil
		})
	if err != nil {
		return api.Security{}, s.internal(ctx, "security: sessions", err)
	}
	return sec, nil
}

func (s *Service) query(ctx context.Context, q string, args []any, each func(*sql.Rows) error) error {
	rows, err := s.db.Read.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := each(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// checkCurrentPassword re-authenticates the caller before a sensitive change. Failures
// count against the account like failed sign-ins.
func (s *Service) checkCurrentPassword(ctx context.Context, p Principal, c Client, field, pw string) (accountRow, error) {
	if err := checkPasswordInput(field, pw); err != nil {
		return accountRow{}, err
	}
	acct, err := findAccount(ctx, s.db.Read, "id = ?", p.AccountID)
	if err != nil {
		return accountRow{}, s.internal(ctx, "check password", err)
	}
	key := s.accountThrottleKey(acct.emailKey)
	unlock, err := s.passwordTurns.lock(ctx, key)
	if err != nil {
		return accountRow{}, api.Errorf(api.CodeUnavailable, "The request was cancelled.")
	}
	defer unlock()
	now := s.now()
	if wait, err := throttle.Blocked(ctx, s.db.Read, key, now); err != nil || wait > 0 {
		if err != nil {
			return accountRow{}, s.internal(ctx, "check password", err)
		}
		return accountRow{}, api.RateLimited(wait, "Too many wrong passwords. Try again later.")
	}
	ok, _, err := s.hasher.Verify(acct.passwordHash, pw)
	if err != nil {
		return accountRow{}, s.internal(ctx, "check password", err)
	}
	if !ok {
		err := s.db.Tx(ctx, func(tx *sql.Tx) error {
			if _, err := throttle.Fail(ctx, tx, s.cfg.Account, key, now); err != nil {
				return err
			}
			return s.audit.Record(ctx, tx, audit.Event{At: now, AccountID: acct.id, Email: acct.email,
				Type: audit.SettingsRefused, Network: c.Network, Device: c.DeviceName, Detail: "wrong_password"})
		})
		if err != nil {
			return accountRow{}, s.internal(ctx, "check password", err)
		}
		e := &api.Error{Code: api.CodeInvalidCredentials, Message: "Your current password is not right.", Field: field}
		return accountRow{}, e
	}
	return acct, nil
}

// SetTwoFactor turns email codes on or off, after checking the current password. Turning
// them on trusts the device and network it is done from; either way the owner gets a notice.
func (s *Service) SetTwoFactor(ctx context.Context, p Principal, c Client, on bool, pw string) error {
	acct, err := s.checkCurrentPassword(ctx, p, c, "password", pw)
	if err != nil {
		return err
	}
	event, subject, text := audit.TwoFactorOff, "Two-factor authentication was turned off",
		"Two-factor authentication was turned off for your account. Sign-ins from new devices and networks no longer need an emailed code.\n"
	if on {
		event, subject, text = audit.TwoFactorOn, "Two-factor authentication is on",
			"Two-factor authentication is now on for your account. Sign-ins from a device or network we have not seen you use will need a 6-digit code sent to this address.\n"
	}
	text += "If this was not you, sign in and change your password right away."
	err = s.change(ctx, p, c, event, "", func(tx *sql.Tx, now time.Time) error {
		tf := 0
		if on {
			tf = 1
		}
		if _, err := tx.ExecContext(ctx, `UPDATE accounts SET two_factor = ? WHERE id = ?`, tf, p.AccountID); err != nil {
			return err
		}
		if on {
			if _, err := tx.ExecContext(ctx, `UPDATE devices SET trusted_at = COALESCE(trusted_at, ?) WHERE id = ?`, now.Unix(), p.DeviceRow); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO networks (account_id, prefix, first_seen_at, last_used_at, trusted_at)
				VALUES (?1, ?2, ?3, ?3, ?3) ON CONFLICT (account_id, prefix) DO UPDATE SET trusted_at = COALESCE(trusted_at, excluded.trusted_at)`,
				p.AccountID, c.Network, now.Unix()); err != nil {
				return err
			}
		}
		return s.notice(ctx, tx, acct.email, subject, text, now)
	})
	if err == nil {
		s.mail.Wake()
	}
	return err
}

// ChangePassword sets a new password after checking the current one. Every token of the
// account is revoked; the caller gets a fresh one for this device, so only they stay in.
func (s *Service) ChangePassword(ctx context.Context, p Principal, c Client, current, next string) (api.SignInResult, error) {
	if err := checkPasswordInput("new_password", next); err != nil {
		return api.SignInResult{}, err
	}
	if err := password.Check(next); err != nil {
		var e *api.Error
		if errors.As(err, &e) {
			e.Field = "new_password"
		}
		return api.SignInResult{}, err
	}
	acct, err := s.checkCurrentPassword(ctx, p, c, "current_password", current)
	if err != nil {
		return api.SignInResult{}, err
	}
	hash, err := s.hasher.Hash(next)
	if err != nil {
		return api.SignInResult{}, s.internal(ctx, "change password: hash", err)
	}
	var result api.SignInResult
	err = s.change(ctx, p, c, audit.PasswordChanged, "", func(tx *sql.Tx, now time.Time) error {
		if _, err := tx.ExecContext(ctx, `UPDATE accounts SET password_hash = ?, password_changed_at = ? WHERE id = ?`,
			hash, now.Unix(), p.AccountID); err != nil {
			return err
		}
		if err := revokeAll(ctx, tx, p.AccountID, now); err != nil {
			return err
		}
		token, tokenHash, err := tokens.New(s.random)
		if err != nil {
			return err
		}
		expires := now.Add(s.cfg.TokenTTL)
		if _, err := tx.ExecContext(ctx, `INSERT INTO sessions (account_id, device_id, token_hash, network, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?)`, p.AccountID, p.DeviceRow, tokenHash, c.Network, now.Unix(), expires.Unix()); err != nil {
			return err
		}
		result = api.SignInResult{Status: api.StatusSignedIn, Token: token, ExpiresAt: expires, Account: acct.api()}
		return s.notice(ctx, tx, acct.email, "Your password was changed",
			"The password of your account was changed, and every device was signed out.\n"+
				"If this was not you, reset your password and contact support right away.", now)
	})
	if err != nil {
		return api.SignInResult{}, err
	}
	s.mail.Wake()
	return result, nil
}

// notice queues a security notice email in tx.
func (s *Service) notice(ctx context.Context, tx *sql.Tx, to, subject, text string, now time.Time) error {
	msg, err := s.brand.Notice(message.Notice{To: to, Subject: subject, Text: text, Sent: now})
	if err != nil {
		return err
	}
	_, err = s.mail.Enqueue(ctx, tx, outbox.Mail{Kind: outbox.KindNotice, To: to, Message: msg})
	return err
}
