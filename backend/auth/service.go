// Package auth is the account server's logic: accounts, sign-in with email codes for new
// devices and networks, monthly tokens, and account security settings.
package auth

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"time"

	"shoplogin/backend/api"
	"shoplogin/backend/audit"
	"shoplogin/backend/clock"
	"shoplogin/backend/message"
	"shoplogin/backend/outbox"
	"shoplogin/backend/secret"
	"shoplogin/backend/store"
	"shoplogin/backend/throttle"
)

// Config holds the lifetimes and limits. DefaultConfig has the product's fixed numbers.
type Config struct {
	CodeTTL        time.Duration // how long a code is valid
	TokenTTL       time.Duration // absolute lifetime of a login token
	MaxAttempts    int           // guesses per challenge, across resends
	ResendCooldown time.Duration // between two codes of one challenge
	CodesPerHour   int           // codes sent to one account per rolling hour
	ChallengeTTL   time.Duration // after this, a pending sign-in must start over
	Account        throttle.Policy
	Network        throttle.Policy
}

// DefaultConfig returns the numbers of the spec: codes valid 10 minutes, tokens 30 days,
// 5 guesses per challenge, a resend every 60 s, 5 codes an hour.
func DefaultConfig() Config {
	return Config{
		CodeTTL:        10 * time.Minute,
		TokenTTL:       30 * 24 * time.Hour,
		MaxAttempts:    5,
		ResendCooldown: 60 * time.Second,
		CodesPerHour:   5,
		ChallengeTTL:   time.Hour,
		// Five free failures per account, then 30 s doubling to an hour; at 100 consecutive
		// failures every further one costs the full hour (NIST 800-63B §3.2.2).
		Account: throttle.Policy{Free: 5, Base: 30 * time.Second, Max: time.Hour, Limit: 100, Window: 24 * time.Hour},
		// A network gets more slack (an office shares one) but the same shape.
		Network: throttle.Policy{Free: 20, Base: 5 * time.Second, Max: 15 * time.Minute, Window: time.Hour},
	}
}

// Hasher hashes and checks passwords (package password in production).
type Hasher interface {
	Hash(password string) (string, error)
	// Verify reports whether password matches the stored hash, and whether the hash should
	// be redone with the current parameters.
	Verify(hash, password string) (ok, rehash bool, err error)
	// VerifyDummy costs what Verify costs, for an email that has no account.
	VerifyDummy(password string)
}

// Mailer queues email in the caller's transaction (package outbox in production).
type Mailer interface {
	Enqueue(ctx context.Context, tx *sql.Tx, m outbox.Mail) (int64, error)
	// Cancel stops a queued email from being sent (a resend killed its code).
	Cancel(ctx context.Context, tx *sql.Tx, id int64) error
	// Wake tells the worker there is mail; call it after committing.
	Wake()
	Status(ctx context.Context, id int64) (string, error)
}

// Service is the account server. It is safe for concurrent use.
type Service struct {
	db     *store.DB
	clock  clock.Clock
	random io.Reader
	hasher Hasher
	keys   secret.Keys
	mail   Mailer
	brand  message.Brand
	audit  *audit.Log
	log    *slog.Logger
	cfg    Config
	// passwordTurns makes the password checks of one account take turns (see keyLocks).
	passwordTurns keyLocks
}

// Deps are the Service's collaborators.
type Deps struct {
	DB     *store.DB
	Clock  clock.Clock
	Random io.Reader // crypto/rand.Reader in production
	Hasher Hasher
	Keys   secret.Keys
	Mail   Mailer
	Brand  message.Brand
	Log    *slog.Logger
}

// New returns a Service.
func New(d Deps, cfg Config) *Service {
	return &Service{
		db: d.DB, clock: d.Clock, random: d.Random, hasher: d.Hasher, keys: d.Keys,
		mail: d.Mail, brand: d.Brand, audit: audit.New(d.Log), log: d.Log, cfg: cfg,
	}
}

// Config returns the service's lifetimes and limits.
func (s *Service) Config() Config { return s.cfg }

// Client describes who is asking: the device id they present, its name, and the network
// their request came from.
type Client struct {
	DeviceID   string
	DeviceName string
	Network    string
}

// Principal is a signed-in caller, established from a token.
type Principal struct {
	AccountID int64
	SessionID int64
	DeviceRow int64
	Email     string
	ExpiresAt time.Time
	// account is the account as read with the token, in the same query; nil when the
	// Principal was made some other way.
	account *api.Account
}

// now is the service's current time, truncated to seconds as stored.
func (s *Service) now() time.Time { return s.clock.Now().Truncate(time.Second) }

// internal wraps an unexpected failure: the cause goes to the log, the caller gets a
// generic error that leaks nothing.
func (s *Service) internal(ctx context.Context, op string, err error) error {
	s.log.ErrorContext(ctx, "internal error", slog.String("op", op), slog.String("error", err.Error()))
	return &api.Error{Code: api.CodeInternal, Message: "Something went wrong on our side. Please try again."}
}

// Events lists the audit log for one email ("" = all), newest first.
func (s *Service) Events(ctx context.Context, email string, limit int) ([]audit.Event, error) {
	if limit <= 0 || limit > 1000 {
		limit = 200
	}
	ev, err := audit.List(ctx, s.db.Read, email, limit)
	if err != nil {
		return nil, s.internal(ctx, "events", err)
	}
	return ev, nil
}

func unix(t int64) time.Time { return time.Unix(t, 0).UTC() }

func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", op, err)
}
