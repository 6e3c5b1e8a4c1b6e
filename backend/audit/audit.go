// Package audit records security events (sign-ins, codes, failures, settings changes) in
// the database and in the structured log. Neither ever holds a password, code or token.
package audit

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"time"
)

// Event types.
const (
	SignUp           = "signup"
	SignUpExisting   = "signup_existing_address"
	SignInSucceeded  = "signin_succeeded"
	SignInFailed     = "signin_failed"
	SignInThrottled  = "signin_throttled"
	CodeSent         = "code_sent"
	CodeResent       = "code_resent"
	CodeRefused      = "code_refused"
	CodeVerified     = "code_verified"
	SignedOut        = "signed_out"
	SignedOutAll     = "signed_out_everywhere"
	TwoFactorOn      = "two_factor_on"
	TwoFactorOff     = "two_factor_off"
	PasswordChanged  = "password_changed"
	DeviceForgotten  = "device_forgotten"
	NetworkForgotten = "network_forgotten"
	AccountCreated   = "account_created"
	SettingsRefused  = "settings_change_refused"
)

// Event is one audit record. Detail is a short machine-readable reason ("wrong_password",
// "expired", "new_device"): never user input, never a secret.
type Event struct {
	ID        int64     `json:"id"`
	At        time.Time `json:"at"`
	AccountID int64     `json:"-"`
	Email     string    `json:"email"`
	Type      string    `json:"type"`
	Network   string    `json:"network"`
	Device    string    `json:"device"`
	Detail    string    `json:"detail"`
}

// Execer is a *sql.Tx or *sql.DB: events are written in the transaction of the change they
// record, so the log and the state never disagree.
type Execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// Log writes events.
type Log struct {
	logger *slog.Logger
}

// New returns a Log that also writes each event to logger.
func New(logger *slog.Logger) *Log { return &Log{logger: logger} }

// Record stores e and logs it.
func (l *Log) Record(ctx context.Context, x Execer, e Event) error {
	var account any
	if e.AccountID != 0 {
		account = e.AccountID
	}
	_, err := x.ExecContext(ctx, `INSERT INTO events (at, account_id, email, type, network, device, detail)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, e.At.Unix(), account, e.Email, e.Type, e.Network, e.Device, e.Detail)
	if err != nil {
		return fmt.Errorf("record %s event: %w", e.Type, err)
	}
	level := slog.LevelInfo
	switch e.Type {
	case SignInFailed, SignInThrottled, CodeRefused, SettingsRefused:
		level = slog.LevelWarn
	}
	l.logger.LogAttrs(ctx, level, "auth event",
		slog.String("event", e.Type), slog.String("email", e.Email), slog.String("network", e.Network),
		slog.String("device", e.Device), slog.String("detail", e.Detail))
	return nil
}

// Querier is a *sql.DB (the read pool).
type Querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// List returns the newest events first, at most limit, for one email ("" = all).
func List(ctx context.Context, q Querier, email string, limit int) ([]Event, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, at, COALESCE(account_id, 0), email, type, network, device, detail
		FROM events WHERE ? = '' OR email = ? COLLATE NOCASE ORDER BY id DESC LIMIT ?`, email, email, limit)
	if err != nil {
		return nil, fmt.Errorf("list events: %w", err)
	}
	defer rows.Close()
	events := []Event{}
	for rows.Next() {
		var e Event
		var at int64
		if err := rows.Scan(&e.ID, &at, &e.AccountID, &e.Email, &e.Type, &e.Network, &e.Device, &e.Detail); err != nil {
			return nil, fmt.Errorf("list events: %w", err)
		}
		e.At = time.Unix(at, 0).UTC()
		events = append(events, e)
	}
	return events, rows.Err()
}
