// Package outbox queues email in the database, in the caller's transaction, and delivers it over SMTP with retries.
package outbox

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"
	"unicode"

	"shoplogin/backend/api"
	"shoplogin/backend/clock"
	"shoplogin/backend/message"
	"shoplogin/backend/store"
)

// Kinds of mail, stored in the kind column. The kind is also bound to the sealed message.
const (
	KindCode   = "signin_code" // a sign-in code email; give it a DiscardAfter
	KindNotice = "notice"      // a security notice
)

// ErrNotFound is returned by Status for an id the outbox does not hold.
var ErrNotFound = errors.New("outbox: no such mail")

// ErrInvalidMail is returned by Enqueue for a mail that could never be sent.
var ErrInvalidMail = errors.New("outbox: invalid mail")

// Options tune delivery. Zero fields take the defaults.
type Options struct {
	// From is the envelope sender (MAIL FROM). Default: the default brand's address.
	From string
	// RetryBase and RetryMax bound the backoff after a temporary failure: RetryBase doubled
	// per attempt, at most RetryMax, with jitter. Defaults 2s and 5m.
	RetryBase, RetryMax time.Duration
	// GiveUpAfter is how long mail is retried before it is marked failed. Default 24h.
	// (A code email is dropped well before, when its code expires: see Mail.DiscardAfter.)
	GiveUpAfter time.Duration
	// Poll is the longest the worker sleeps without looking at the queue, which catches a
	// clock moved by QA and mail queued by another process. Default 5s.
	Poll time.Duration
	// Rand supplies the sealing nonces and the jitter. Nil means crypto/rand.
	Rand io.Reader
}

func (o Options) withDefaults() Options {
	if o.From == "" {
		o.From = message.DefaultBrand().FromAddress
	}
	if o.RetryBase <= 0 {
		o.RetryBase = 2 * time.Second
	}
	if o.RetryMax <= 0 {
		o.RetryMax = 5 * time.Minute
	}
	o.RetryMax = max(o.RetryMax, o.RetryBase)
	if o.GiveUpAfter <= 0 {
		o.GiveUpAfter = 24 * time.Hour
	}
	if o.Poll <= 0 {
		o.Poll = 5 * time.Second
	}
	if o.Rand == nil {
		o.Rand = rand.Reader
	}
	return o
}

// sendTimeout bounds one delivery attempt, whatever the Sender does with its context.
// lease is how long a claimed mail is hidden from other workers: longer than an attempt,
// so that only a crashed worker's mail comes back.
const (
	sendTimeout = 2 * time.Minute
	lease       = sendTimeout + time.Minute
)

// Outbox is the mail queue and its delivery worker.
type Outbox struct {
	db      *store.DB
	clk     clock.Clock
	aead    cipher.AEAD
	sender  Sender
	log     *slog.Logger
	opts    Options
	wake    chan struct{}
	running atomic.Bool
}

// New returns an outbox storing mail in db's outbox table and delivering it with sender.
// sealKey (32 bytes, kept outside the database) encrypts stored messages: a code email holds
// its code, and the database must never hold a code in clear. sender may be nil for an
// Outbox that only enqueues (Run then must not be called). New panics if sealKey is not
// 32 bytes long, a programming error.
func New(db *store.DB, clk clock.Clock, sealKey []byte, sender Sender, log *slog.Logger, opts Options) *Outbox {
	if len(sealKey) != 32 {
		panic("outbox: the seal key must be 32 bytes (AES-256)")
	}
	block, err := aes.NewCipher(sealKey)
	if err != nil {
		panic("outbox: " + err.Error())
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic("outbox: " + err.Error())
	}
	return &Outbox{
		db:     db,
		clk:    clk,
		aead:   aead,
		sender: sender,
		log:    log,
		opts:   opts.withDefaults(),
		wake:   make(chan struct{}, 1),
	}
}

// Mail is one email to queue.
type Mail struct {
	Kind    string // what it is: KindCode, KindNotice, ...; stored, and bound to the sealed message
	To      string // the one envelope recipient
	Message []byte // the whole RFC 5322 message, CRLF line endings
	// DiscardAfter, if set, is when the mail stops being worth sending: a code email is
	// dropped, not sent, once its code has expired.
	DiscardAfter time.Time
}

// Enqueue adds m to the queue inside the caller's transaction, so that the email exists if
// and only if what it announces (a code, a changed setting) was committed. Call Wake after
// the commit.
func (o *Outbox) Enqueue(ctx context.Context, tx *sql.Tx, m Mail) (int64, error) {
	if m.Kind == "" || len(m.Message) == 0 || !validRecipient(m.To) {
		return 0, fmt.Errorf("enqueue mail: %w", ErrInvalidMail)
	}
	sealed, err := o.seal(m.Kind, m.To, m.Message)
	if err != nil {
		return 0, fmt.Errorf("enqueue mail: %w", err)
	}
	now := o.clk.Now().Unix()
	var discard sql.NullInt64
	if !m.DiscardAfter.IsZero() {
		discard = sql.NullInt64{Int64: m.DiscardAfter.Unix(), Valid: true}
	}
	res, err := tx.ExecContext(ctx, `
		INSERT INTO outbox (kind, recipient, sealed_message, status, attempts, next_attempt_at, discard_after, created_at)
		VALUES (?, ?, ?, ?, 0, ?, ?, ?)`,
		m.Kind, m.To, sealed, api.DeliveryQueued, now, discard, now)
	if err != nil {
		return 0, fmt.Errorf("enqueue mail: %w", err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return 0, fmt.Errorf("enqueue mail: %w", err)
	}
	return id, nil
}

// validRecipient refuses what SMTP would refuse anyway, before it is queued for a day.
func validRecipient(to string) bool {
	return to != "" && len(to) <= 254 && strings.Contains(to, "@") &&
		!strings.ContainsFunc(to, func(r rune) bool { return unicode.IsControl(r) || unicode.IsSpace(r) })
}

// Cancel drops mail id if it is still waiting, inside the caller's transaction: a resend
// made its code useless. Mail already sent, failed or dropped, or unknown, is left as it is.
// Mail being handed to the relay at that moment may still go out; it is then marked sent.
func (o *Outbox) Cancel(ctx context.Context, tx *sql.Tx, id int64) error {
	if _, err := tx.ExecContext(ctx, `
		UPDATE outbox SET status = ?, sealed_message = NULL, last_error = 'cancelled before delivery'
		WHERE id = ? AND status IN (?, ?)`,
		api.DeliveryDropped, id, api.DeliveryQueued, api.DeliveryRetrying); err != nil {
		return fmt.Errorf("cancel mail %d: %w", id, err)
	}
	return nil
}

// Wake tells the worker to look at the queue now. It never blocks; call it after committing
// the transaction that enqueued mail.
func (o *Outbox) Wake() {
	select {
	case o.wake <- struct{}{}:
	default: // a wake-up is already pending; one is enough
	}
}

// Status returns the delivery state of mail id: one of the api.Delivery* constants.
func (o *Outbox) Status(ctx context.Context, id int64) (string, error) {
	var status string
	err := o.db.Read.QueryRowContext(ctx, `SELECT status FROM outbox WHERE id = ?`, id).Scan(&status)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("mail %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("mail %d status: %w", id, err)
	}
	return status, nil
}

// Run delivers mail until ctx is done, then returns nil. It wakes on Wake, when the next
// retry or discard falls due, and at least every Options.Poll. After a restart it picks up
// what is queued or retrying, including mail a crashed worker had claimed (once its lease
// ends). Only one Run per Outbox may be active; several processes may share a database.
func (o *Outbox) Run(ctx context.Context) error {
	if !o.running.CompareAndSwap(false, true) {
		return errors.New("outbox: Run is already running")
	}
	defer o.running.Store(false)
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		wait, err := o.step(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			o.log.Error("outbox worker", "error", err)
			wait = o.opts.Poll
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return nil
		case <-o.wake:
		case <-timer.C:
		}
	}
}

// step drops expired mail, delivers everything due, and says how long to wait before the
// next mail falls due (at most Poll).
func (o *Outbox) step(ctx context.Context) (time.Duration, error) {
	for ctx.Err() == nil {
		if err := o.dropExpired(ctx); err != nil {
			return 0, err
		}
		r, ok, err := o.claim(ctx)
		if err != nil {
			return 0, err
		}
		if !ok {
			break
		}
		o.deliver(ctx, r)
	}
	return o.nextWait(ctx)
}

// dropExpired drops, and wipes, waiting mail whose DiscardAfter has passed: an expired code
// is useless to the user and must not linger in the database, even sealed.
func (o *Outbox) dropExpired(ctx context.Context) error {
	now := o.clk.Now().Unix()
	res, err := o.db.Write.ExecContext(ctx, `
		UPDATE outbox SET status = ?, sealed_message = NULL, last_error = 'expired before delivery'
		WHERE status IN (?, ?) AND discard_after IS NOT NULL AND discard_after <= ?`,
		api.DeliveryDropped, api.DeliveryQueued, api.DeliveryRetrying, now)
	if err != nil {
		return fmt.Errorf("drop expired mail: %w", err)
	}
	if n, _ := res.RowsAffected(); n > 0 {
		o.log.Info("outbox dropped expired mail", "count", n)
	}
	return nil
}

// row is a claimed mail.
type row struct {
	id        int64
	kind, to  string
	sealed    []byte
	attempts  int
	createdAt int64
}

// claim takes the mail that is due first and hides it from other workers for the lease, in
// one write transaction (BEGIN IMMEDIATE), so that two workers never send the same mail.
// A worker that crashes mid-send leaves the mail to come back when the lease ends.
func (o *Outbox) claim(ctx context.Context) (row, bool, error) {
	var r row
	found := false
	err := o.db.Tx(ctx, func(tx *sql.Tx) error {
		now := o.clk.Now().Unix()
		err := tx.QueryRowContext(ctx, `
			SELECT id, kind, recipient, sealed_message, attempts, created_at FROM outbox
			WHERE status IN (?, ?) AND next_attempt_at <= ?
			ORDER BY next_attempt_at, id LIMIT 1`,
			api.DeliveryQueued, api.DeliveryRetrying, now).
			Scan(&r.id, &r.kind, &r.to, &r.sealed, &r.attempts, &r.createdAt)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		r.attempts++
		if _, err := tx.ExecContext(ctx, `UPDATE outbox SET attempts = ?, next_attempt_at = ? WHERE id = ?`,
			r.attempts, now+int64(lease/time.Second), r.id); err != nil {
			return err
		}
		found = true
		return nil
	})
	if err != nil {
		return row{}, false, fmt.Errorf("claim mail: %w", err)
	}
	return r, found, nil
}

// deliver makes one attempt and records its outcome.
func (o *Outbox) deliver(ctx context.Context, r row) {
	msg, err := o.open(r.kind, r.to, r.sealed)
	if err != nil {
		// Wrong key or a damaged row: no retry can fix it.
		o.finish(ctx, r, api.DeliveryFailed, "cannot unseal the stored message (wrong seal key?)", 0)
		return
	}
	sendCtx, cancel := context.WithTimeout(ctx, sendTimeout)
	err = o.sender.Send(sendCtx, o.opts.From, []string{r.to}, msg)
	cancel()
	clear(msg)
	switch {
	case err == nil:
		// Recorded straight away, before anything else can fail: this is what keeps the
		// mail from being sent twice.
		o.finish(ctx, r, api.DeliverySent, "", 0)
	case ctx.Err() != nil:
		// Shutting down mid-send: give the claim back so the next start retries at once.
		// The relay may have taken the mail; resending is the lesser harm than losing it.
		o.release(ctx, r)
	default:
		reply, permanent := describe(err)
		now := o.clk.Now()
		switch {
		case permanent:
			o.finish(ctx, r, api.DeliveryFailed, reply, 0)
		case now.Unix() >= r.createdAt+int64(o.opts.GiveUpAfter/time.Second):
			o.finish(ctx, r, api.DeliveryFailed, "gave up after "+o.opts.GiveUpAfter.String()+": "+reply, 0)
		default:
			o.finish(ctx, r, api.DeliveryRetrying, reply, o.backoff(r.attempts))
		}
	}
}

// finish records an attempt's outcome; retryIn is the wait before the next attempt when
// status is retrying. A final state wipes the sealed message. It runs even when ctx is
// cancelled: the attempt happened and must be recorded.
func (o *Outbox) finish(ctx context.Context, r row, status, lastError string, retryIn time.Duration) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	now := o.clk.Now().Unix()
	var err error
	switch status {
	case api.DeliverySent:
		_, err = o.db.Write.ExecContext(ctx, `
			UPDATE outbox SET status = ?, sent_at = ?, sealed_message = NULL, last_error = NULL WHERE id = ?`,
			status, now, r.id)
	case api.DeliveryRetrying:
		// Whole seconds, rounded up: a retry is never due at once. The status guard keeps
		// mail cancelled during the attempt dropped.
		next := now + int64((retryIn+time.Second-1)/time.Second)
		_, err = o.db.Write.ExecContext(ctx, `
			UPDATE outbox SET status = ?, next_attempt_at = ?, last_error = ? WHERE id = ? AND status IN (?, ?)`,
			status, next, lastError, r.id, api.DeliveryQueued, api.DeliveryRetrying)
	default:
		_, err = o.db.Write.ExecContext(ctx, `
			UPDATE outbox SET status = ?, sealed_message = NULL, last_error = ? WHERE id = ? AND status IN (?, ?)`,
			status, lastError, r.id, api.DeliveryQueued, api.DeliveryRetrying)
	}
	if err != nil {
		// The mail stays claimed; it is retried when the lease ends.
		o.log.Error("outbox could not record a delivery", "id", r.id, "kind", r.kind, "status", status, "error", err)
		return
	}
	switch status {
	case api.DeliverySent:
		o.log.Info("mail sent", "id", r.id, "kind", r.kind, "attempts", r.attempts)
	case api.DeliveryRetrying:
		o.log.Warn("mail delivery deferred", "id", r.id, "kind", r.kind, "attempts", r.attempts, "retry_in", retryIn, "reply", lastError)
	default:
		o.log.Error("mail delivery failed", "id", r.id, "kind", r.kind, "attempts", r.attempts, "reply", lastError)
	}
}

func (o *Outbox) release(ctx context.Context, r row) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if _, err := o.db.Write.ExecContext(ctx, `UPDATE outbox SET next_attempt_at = ? WHERE id = ? AND status IN (?, ?)`,
		o.clk.Now().Unix(), r.id, api.DeliveryQueued, api.DeliveryRetrying); err != nil {
		o.log.Error("outbox could not release a mail", "id", r.id, "error", err)
	}
}

// nextWait is how long until the next waiting mail falls due or expires, at most Poll.
func (o *Outbox) nextWait(ctx context.Context) (time.Duration, error) {
	var next sql.NullInt64
	err := o.db.Read.QueryRowContext(ctx, `
		SELECT min(min(next_attempt_at, coalesce(discard_after, next_attempt_at))) FROM outbox WHERE status IN (?, ?)`,
		api.DeliveryQueued, api.DeliveryRetrying).Scan(&next)
	if err != nil {
		return 0, fmt.Errorf("next due mail: %w", err)
	}
	if !next.Valid {
		return o.opts.Poll, nil
	}
	// Stored times are whole seconds by the injected clock; the wait itself is real time.
	wait := time.Unix(next.Int64, 0).Sub(o.clk.Now())
	return min(max(wait, 10*time.Millisecond), o.opts.Poll), nil
}

// backoff is the wait after the attempts-th failed attempt: RetryBase doubled per attempt up
// to RetryMax, then "equal jitter" (half fixed, half random) so that mail failing together
// does not retry together, yet never retries at once.
func (o *Outbox) backoff(attempts int) time.Duration {
	d := o.opts.RetryBase
	for i := 1; i < attempts && d < o.opts.RetryMax; i++ {
		d *= 2
	}
	d = min(d, o.opts.RetryMax)
	half := d / 2
	var b [8]byte
	if _, err := io.ReadFull(o.opts.Rand, b[:]); err != nil {
		return d
	}
	return half + time.Duration(binary.BigEndian.Uint64(b[:])%uint64(d-half+1))
}

// additionalData binds a sealed message to its row's kind and recipient, so that a sealed
// blob copied into another row (another recipient) does not open.
func additionalData(kind, to string) []byte {
	return []byte("shoplogin outbox v1\x00" + kind + "\x00" + to)
}

// seal encrypts msg with AES-256-GCM under a random nonce, stored before the ciphertext.
func (o *Outbox) seal(kind, to string, msg []byte) ([]byte, error) {
	nonce := make([]byte, o.aead.NonceSize(), o.aead.NonceSize()+len(msg)+o.aead.Overhead())
	if _, err := io.ReadFull(o.opts.Rand, nonce); err != nil {
		return nil, fmt.Errorf("seal message: %w", err)
	}
	return o.aead.Seal(nonce, nonce, msg, additionalData(kind, to)), nil
}

func (o *Outbox) open(kind, to string, sealed []byte) ([]byte, error) {
	n := o.aead.NonceSize()
	if len(sealed) < n {
		return nil, errors.New("sealed message too short")
	}
	return o.aead.Open(nil, sealed[:n], sealed[n:], additionalData(kind, to))
}
