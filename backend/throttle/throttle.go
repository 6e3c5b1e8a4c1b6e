// Package throttle slows down repeated failures (wrong passwords, wrong codes) per key,
// with counters kept in the database so a restart does not forgive anything.
package throttle

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Policy says how failures turn into waits. The first Free failures cost nothing; each
// one after doubles the wait from Base up to Max (NIST 800-63B: "30 seconds up to an
// hour"). After Limit consecutive failures the key is locked for Max on every further
// failure, which keeps an account under NIST's ceiling of 100 consecutive failures per
// window. Failures older than Window are forgotten.
type Policy struct {
	Free   int
	Base   time.Duration
	Max    time.Duration
	Limit  int
	Window time.Duration
}

// Wait returns the wait after the n-th consecutive failure.
func (p Policy) Wait(n int) time.Duration {
	if n <= p.Free {
		return 0
	}
	if p.Limit > 0 && n >= p.Limit {
		return p.Max
	}
	wait := p.Base
	for i := p.Free + 1; i < n && wait < p.Max; i++ {
		wait *= 2
	}
	return min(wait, p.Max)
}

// Querier is what Blocked needs: a *sql.DB or a *sql.Tx.
type Querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Execer is what Fail and Reset need: a *sql.Tx, normally the one doing the work that failed.
type Execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Blocked returns how long key must still wait, zero if it may try now.
func Blocked(ctx context.Context, q Querier, key string, now time.Time) (time.Duration, error) {
	var until int64
	err := q.QueryRowContext(ctx, `SELECT blocked_until FROM throttles WHERE key = ?`, key).Scan(&until)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read throttle: %w", err)
	}
	wait := time.Unix(until, 0).Sub(now)
	if wait <= 0 {
		return 0, nil
	}
	return wait, nil
}

// Fail records one failure for key and returns the wait it now imposes.
func Fail(ctx context.Context, x Execer, p Policy, key string, now time.Time) (time.Duration, error) {
	var failures int
	err := x.QueryRowContext(ctx, `
		INSERT INTO throttles (key, failures, last_failure_at, blocked_until) VALUES (?, 1, ?, 0)
		ON CONFLICT (key) DO UPDATE SET
			failures = CASE WHEN last_failure_at <= ? THEN 1 ELSE failures + 1 END,
			last_failure_at = excluded.last_failure_at
		RETURNING failures`,
		key, now.Unix(), now.Add(-p.Window).Unix()).Scan(&failures)
	if err != nil {
		return 0, fmt.Errorf("record failure: %w", err)
	}
	wait := p.Wait(failures)
	if wait > 0 {
		if _, err := x.ExecContext(ctx, `UPDATE throttles SET blocked_until = ? WHERE key = ?`,
			now.Add(wait).Unix(), key); err != nil {
			return 0, fmt.Errorf("record failure: %w", err)
		}
	}
	return wait, nil
}

// Reset forgets key's failures, after a success.
func Reset(ctx context.Context, x Execer, key string) error {
	if _, err := x.ExecContext(ctx, `DELETE FROM throttles WHERE key = ?`, key); err != nil {
		return fmt.Errorf("reset throttle: %w", err)
	}
	return nil
}
