package outbox

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"shoplogin/backend/api"
	"shoplogin/backend/clock"
	"shoplogin/backend/inbox"
	"shoplogin/backend/inbox/inboxtest"
	"shoplogin/backend/message"
	"shoplogin/backend/store"
)

var (
	t0      = time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)
	sealKey = bytes.Repeat([]byte{0x5e}, 32)
)

func openDB(t *testing.T, path string) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), path, store.AccountMigrations())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func newDB(t *testing.T) *store.DB {
	t.Helper()
	return openDB(t, filepath.Join(t.TempDir(), "shoplogin.db"))
}

func newOutbox(t *testing.T, db *store.DB, clk clock.Clock, s Sender, opts Options) *Outbox {
	t.Helper()
	return New(db, clk, sealKey, s, inboxtest.Logger(t), opts)
}

// codeMail is a sign-in code email to to, discarded when the code expires ten minutes after
// clk's now, as the sign-in flow queues it.
func codeMail(t *testing.T, clk clock.Clock, to, code string) Mail {
	t.Helper()
	msg, err := message.DefaultBrand().Code(message.CodeEmail{
		To: to, Code: code, DeviceName: "Studio PC", Network: "203.0.113.0/24", ValidFor: 10 * time.Minute, Sent: clk.Now(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return Mail{Kind: KindCode, To: to, Message: msg, DiscardAfter: clk.Now().Add(10 * time.Minute)}
}

func noticeMail(t *testing.T, clk clock.Clock, to string) Mail {
	t.Helper()
	msg, err := message.DefaultBrand().Notice(message.Notice{To: to, Subject: "Your password was changed", Text: "Your password was changed.", Sent: clk.Now()})
	if err != nil {
		t.Fatal(err)
	}
	return Mail{Kind: KindNotice, To: to, Message: msg}
}

func enqueue(t *testing.T, o *Outbox, m Mail) int64 {
	t.Helper()
	var id int64
	err := o.db.Tx(context.Background(), func(tx *sql.Tx) error {
		var err error
		id, err = o.Enqueue(context.Background(), tx, m)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// step runs one pass of the worker, as Run does on each wake-up.
func step(t *testing.T, o *Outbox) {
	t.Helper()
	if _, err := o.step(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// stored is an outbox row as the tests look at it.
type stored struct {
	status      string
	attempts    int
	nextAttempt int64
	lastError   string
	sealed      []byte
	sentAt      sql.NullInt64
}

// String leaves out the sealed bytes, which say nothing to a reader.
func (r stored) String() string {
	return fmt.Sprintf("{status:%s attempts:%d next_attempt_at:%d last_error:%q sealed:%d bytes sent_at:%v}",
		r.status, r.attempts, r.nextAttempt, r.lastError, len(r.sealed), r.sentAt)
}

func rowOf(t *testing.T, db *store.DB, id int64) stored {
	t.Helper()
	var r stored
	var lastError sql.NullString
	err := db.Read.QueryRow(`SELECT status, attempts, next_attempt_at, last_error, sealed_message, sent_at FROM outbox WHERE id = ?`, id).
		Scan(&r.status, &r.attempts, &r.nextAttempt, &lastError, &r.sealed, &r.sentAt)
	if err != nil {
		t.Fatal(err)
	}
	r.lastError = lastError.String
	return r
}

// downAddr is a loopback address where nothing listens: the relay is down.
func downAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func count(t *testing.T, ib *inbox.Inbox, to string) int {
	t.Helper()
	list, err := ib.List(context.Background(), to)
	if err != nil {
		t.Fatal(err)
	}
	return len(list)
}

func TestMailIsDeliveredOnceAndItsSealedCopyWiped(t *testing.T) {
	clk := clock.NewFixed(t0)
	ib, addr := inboxtest.Start(t, clk, inbox.Options{})
	o := newOutbox(t, newDB(t), clk, SMTPSender{Addr: addr}, Options{})
	id := enqueue(t, o, codeMail(t, clk, "ann@example.com", "004217"))
	if s, _ := o.Status(context.Background(), id); s != api.DeliveryQueued {
		t.Fatalf("status before the worker ran = %q", s)
	}

	step(t, o)
	step(t, o)

	r := rowOf(t, o.db, id)
	if r.status != api.DeliverySent || r.attempts != 1 || r.sealed != nil || r.sentAt.Int64 != t0.Unix() {
		t.Fatalf("row = %v, want sent once at t0 with the message wiped", r)
	}
	if code, _, found, _ := ib.Code(context.Background(), "ann@example.com", 0); !found || code != "004217" {
		t.Fatalf("inbox code = %q, %v", code, found)
	}
	if n := count(t, ib, ""); n != 1 {
		t.Fatalf("inbox holds %d messages, want 1", n)
	}
}

func TestRelayDownMeansRetryingThenDeliveredOnceItIsUp(t *testing.T) {
	clk := clock.NewFixed(t0)
	addr := downAddr(t)
	o := newOutbox(t, newDB(t), clk, SMTPSender{Addr: addr}, Options{})
	id := enqueue(t, o, noticeMail(t, clk, "ann@example.com"))

	step(t, o)
	r := rowOf(t, o.db, id)
	if r.status != api.DeliveryRetrying || r.attempts != 1 || !strings.Contains(r.lastError, "refused") {
		t.Fatalf("row = %v, want retrying after a refused connection", r)
	}
	// Backoff after the first failure: RetryBase (2s) with equal jitter, in whole seconds.
	if wait := r.nextAttempt - t0.Unix(); wait < 1 || wait > 2 {
		t.Fatalf("next attempt in %ds, want 1-2s", wait)
	}
	if s, _ := o.Status(context.Background(), id); s != api.DeliveryRetrying {
		t.Fatalf("Status = %q", s)
	}
	step(t, o) // not due yet: no attempt
	if r := rowOf(t, o.db, id); r.attempts != 1 {
		t.Fatalf("attempted %d times before the retry was due", r.attempts)
	}

	ib, _ := inboxtest.StartAt(t, clk, inbox.Options{}, addr)
	clk.Advance(2 * time.Second)
	step(t, o)
	if r := rowOf(t, o.db, id); r.status != api.DeliverySent || r.attempts != 2 || r.lastError != "" {
		t.Fatalf("row = %v, want sent on the second attempt", r)
	}
	if n := count(t, ib, "ann@example.com"); n != 1 {
		t.Fatalf("inbox holds %d messages, want 1", n)
	}
}

// relay is an SMTP server that gives fixed replies, for what the inbox never says.
type relay struct {
	rcpt, data func() error // nil: accept
	accepted   chan []byte
}

func startRelay(t *testing.T, r *relay) string {
	t.Helper()
	r.accepted = make(chan []byte, 100)
	s := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &relaySession{r}, nil }))
	s.Domain = "relay.test"
	s.ReadTimeout, s.WriteTimeout = 5*time.Second, 5*time.Second
	s.ErrorLog = errorLogger{t}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(l)
	t.Cleanup(func() { s.Close() })
	return l.Addr().String()
}

type relaySession struct{ r *relay }

func (s *relaySession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *relaySession) Rcpt(string, *smtp.RcptOptions) error {
	if s.r.rcpt != nil {
		return s.r.rcpt()
	}
	return nil
}
func (s *relaySession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if s.r.data != nil {
		if err := s.r.data(); err != nil {
			return err
		}
	}
	s.r.accepted <- b
	return nil
}
func (s *relaySession) Reset()        {}
func (s *relaySession) Logout() error { return nil }

type errorLogger struct{ t *testing.T }

func (e errorLogger) Printf(format string, v ...any) { e.t.Logf(format, v...) }
func (e errorLogger) Println(v ...any)               { e.t.Log(v...) }

func reply(code int, enhanced smtp.EnhancedCode, text string) func() error {
	return func() error { return &smtp.SMTPError{Code: code, EnhancedCode: enhanced, Message: text} }
}

func TestRelayRepliesDecideBetweenRetryingAndFailed(t *testing.T) {
	cases := []struct {
		name      string
		relay     relay
		status    string
		lastError string
	}{
		{"550 at RCPT fails for good", relay{rcpt: reply(550, smtp.EnhancedCode{5, 1, 1}, "No such user")}, api.DeliveryFailed, "550 5.1.1 No such user"},
		{"554 at DATA fails for good", relay{data: reply(554, smtp.EnhancedCode{5, 7, 1}, "Rejected as spam")}, api.DeliveryFailed, "554 5.7.1 Rejected as spam"},
		{"451 at RCPT is retried", relay{rcpt: reply(451, smtp.EnhancedCode{4, 7, 1}, "Greylisted, try later")}, api.DeliveryRetrying, "451 4.7.1 Greylisted, try later"},
		{"452 at DATA is retried", relay{data: reply(452, smtp.EnhancedCode{4, 3, 1}, "Mailbox full")}, api.DeliveryRetrying, "452 4.3.1 Mailbox full"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			clk := clock.NewFixed(t0)
			addr := startRelay(t, &c.relay)
			o := newOutbox(t, newDB(t), clk, SMTPSender{Addr: addr}, Options{})
			id := enqueue(t, o, codeMail(t, clk, "ann@example.com", "004217"))
			step(t, o)
			r := rowOf(t, o.db, id)
			if r.status != c.status || r.lastError != c.lastError || r.attempts != 1 {
				t.Fatalf("row = %v\nwant status %q, last error %q", r, c.status, c.lastError)
			}
			if wiped := r.sealed == nil; wiped != (c.status == api.DeliveryFailed) {
				t.Fatalf("sealed message wiped = %v for status %s", wiped, c.status)
			}
		})
	}
}

// TestStoredMailHoldsNoCodeInClear reads the database files byte by byte: the code must not
// be anywhere in them, nor in the logs or the stored error of a failed attempt.
func TestStoredMailHoldsNoCodeInClear(t *testing.T) {
	clk := clock.NewFixed(t0)
	dir := t.TempDir()
	db := openDB(t, filepath.Join(dir, "shoplogin.db"))
	var logs bytes.Buffer
	addr := startRelay(t, &relay{rcpt: reply(451, smtp.EnhancedCode{4, 0, 0}, "later")})
	o := New(db, clk, sealKey, SMTPSender{Addr: addr}, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})), Options{})
	const code = "918273"
	m := codeMail(t, clk, "ann@example.com", code)
	id := enqueue(t, o, m)
	step(t, o)

	r := rowOf(t, db, id)
	if r.sealed == nil || bytes.Contains(r.sealed, []byte(code)) || bytes.Contains(r.sealed, []byte("Two Factor")) {
		t.Fatalf("sealed message missing or readable")
	}
	files, _ := filepath.Glob(filepath.Join(dir, "shoplogin.db*"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(code)) || bytes.Contains(b, []byte("Two Factor Authentication")) {
			t.Fatalf("%s holds the message in clear", filepath.Base(f))
		}
	}
	if strings.Contains(logs.String(), code) || strings.Contains(r.lastError, code) {
		t.Fatalf("the code reached the logs or last_error:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "mail delivery deferred") {
		t.Fatalf("the deferral was not logged:\n%s", logs.String())
	}
}

func TestASealedMessageOpensOnlyInItsOwnRowAndWithItsKey(t *testing.T) {
	clk := clock.NewFixed(t0)
	ib, addr := inboxtest.Start(t, clk, inbox.Options{})
	db := newDB(t)
	o := newOutbox(t, db, clk, SMTPSender{Addr: addr}, Options{})
	ann := enqueue(t, o, codeMail(t, clk, "ann@example.com", "111111"))
	eve := enqueue(t, o, noticeMail(t, clk, "eve@example.com"))
	// Someone with write access to the database moves Ann's sealed code email to Eve's row.
	if _, err := db.Write.Exec(`UPDATE outbox SET sealed_message = (SELECT sealed_message FROM outbox WHERE id = ?), kind = 'signin_code' WHERE id = ?`, ann, eve); err != nil {
		t.Fatal(err)
	}
	step(t, o)
	if r := rowOf(t, db, eve); r.status != api.DeliveryFailed || !strings.Contains(r.lastError, "unseal") || r.sealed != nil {
		t.Fatalf("moved row = %v, want failed and wiped", r)
	}
	if n := count(t, ib, "eve@example.com"); n != 0 {
		t.Fatal("Ann's code email reached Eve")
	}

	sealedElsewhere := New(db, clk, bytes.Repeat([]byte{1}, 32), SMTPSender{Addr: addr}, inboxtest.Logger(t), Options{})
	id := enqueue(t, sealedElsewhere, noticeMail(t, clk, "bob@example.com"))
	step(t, o)
	if r := rowOf(t, db, id); r.status != api.DeliveryFailed {
		t.Fatalf("mail sealed with another key: %v", r)
	}
}

// countingSender counts Send calls and passes them on.
type countingSender struct {
	next  Sender
	calls atomic.Int64
}

func (c *countingSender) Send(ctx context.Context, from string, to []string, msg []byte) error {
	c.calls.Add(1)
	return c.next.Send(ctx, from, to, msg)
}

// notifyingSender reports each Send's result after it returns. The worker records the result
// right after, in the same goroutine, and records it even if its context is then cancelled:
// so a test that stops Run after a successful Send sees the mail marked sent.
type notifyingSender struct {
	next    Sender
	results chan error
}

func notifying(next Sender) *notifyingSender {
	return &notifyingSender{next: next, results: make(chan error, 10)}
}

func (n *notifyingSender) Send(ctx context.Context, from string, to []string, msg []byte) error {
	err := n.next.Send(ctx, from, to, msg)
	n.results <- err
	return err
}

// waitSent waits for a successful Send.
func (n *notifyingSender) waitSent(t *testing.T) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case err := <-n.results:
			if err == nil {
				return
			}
		case <-timeout:
			t.Fatal("no successful delivery")
		}
	}
}

func TestExpiredCodeMailIsDroppedNotSent(t *testing.T) {
	clk := clock.NewFixed(t0)
	ib, addr := inboxtest.Start(t, clk, inbox.Options{})
	sender := &countingSender{next: SMTPSender{Addr: addr}}
	o := newOutbox(t, newDB(t), clk, sender, Options{})
	id := enqueue(t, o, codeMail(t, clk, "ann@example.com", "004217"))

	clk.Advance(10 * time.Minute) // the code has expired before the worker got to it
	step(t, o)

	if r := rowOf(t, o.db, id); r.status != api.DeliveryDropped || r.sealed != nil || r.attempts != 0 {
		t.Fatalf("row = %v, want dropped, wiped, never attempted", r)
	}
	if sender.calls.Load() != 0 || count(t, ib, "") != 0 {
		t.Fatal("an expired code email was sent")
	}
}

func TestCodeMailWaitingForRetryIsDroppedWhenItExpires(t *testing.T) {
	clk := clock.NewFixed(t0)
	o := newOutbox(t, newDB(t), clk, SMTPSender{Addr: downAddr(t)}, Options{RetryBase: time.Hour, RetryMax: time.Hour})
	id := enqueue(t, o, codeMail(t, clk, "ann@example.com", "004217"))
	step(t, o)
	if r := rowOf(t, o.db, id); r.status != api.DeliveryRetrying {
		t.Fatalf("row = %v", r)
	}
	if wait, _ := o.nextWait(context.Background()); wait > 10*time.Minute {
		t.Fatalf("worker would sleep %v, past the code's expiry", wait)
	}
	clk.Advance(10 * time.Minute)
	step(t, o)
	if r := rowOf(t, o.db, id); r.status != api.DeliveryDropped || r.sealed != nil {
		t.Fatalf("row = %v, want dropped", r)
	}
}

func TestMailIsMarkedFailedAfterGiveUpAfter(t *testing.T) {
	clk := clock.NewFixed(t0)
	o := newOutbox(t, newDB(t), clk, SMTPSender{Addr: downAddr(t)}, Options{})
	id := enqueue(t, o, noticeMail(t, clk, "ann@example.com"))
	step(t, o)
	clk.Advance(24 * time.Hour)
	step(t, o)
	r := rowOf(t, o.db, id)
	if r.status != api.DeliveryFailed || !strings.HasPrefix(r.lastError, "gave up after 24h0m0s: ") || r.sealed != nil {
		t.Fatalf("row = %v, want failed after a day", r)
	}
}

func TestRestartDeliversWhatWasQueuedAndNothingTwice(t *testing.T) {
	clk := clock.NewFixed(t0)
	ib, addr := inboxtest.Start(t, clk, inbox.Options{})
	path := filepath.Join(t.TempDir(), "shoplogin.db")

	db := openDB(t, path)
	first := newOutbox(t, db, clk, SMTPSender{Addr: addr}, Options{})
	sent := enqueue(t, first, noticeMail(t, clk, "sent@example.com"))
	step(t, first)
	crashed := enqueue(t, first, noticeMail(t, clk, "crashed@example.com"))
	// The first process claims a mail and dies before sending it...
	if r, ok, err := first.claim(context.Background()); !ok || err != nil || r.id != crashed {
		t.Fatalf("claim: %d, %v, %v", r.id, ok, err)
	}
	// ...having committed another mail that it never got to.
	queued := enqueue(t, first, noticeMail(t, clk, "queued@example.com"))
	db.Close()

	db = openDB(t, path)
	second := newOutbox(t, db, clk, SMTPSender{Addr: addr}, Options{})
	step(t, second)
	if r := rowOf(t, db, queued); r.status != api.DeliverySent {
		t.Fatalf("queued mail after restart: %v", r)
	}
	if r := rowOf(t, db, crashed); r.status != api.DeliveryQueued {
		t.Fatalf("mail claimed by the dead worker was retried before its lease ended: %v", r)
	}
	clk.Advance(lease)
	step(t, second)
	for _, id := range []int64{sent, queued, crashed} {
		if r := rowOf(t, db, id); r.status != api.DeliverySent {
			t.Fatalf("mail %d: %v", id, r)
		}
	}
	for _, to := range []string{"sent@example.com", "queued@example.com", "crashed@example.com"} {
		if n := count(t, ib, to); n != 1 {
			t.Errorf("%s received %d emails, want 1", to, n)
		}
	}
}

func TestTwoWorkersOnOneDatabaseDeliverEachMailOnce(t *testing.T) {
	clk := clock.NewFixed(t0)
	ib, addr := inboxtest.Start(t, clk, inbox.Options{})
	path := filepath.Join(t.TempDir(), "shoplogin.db")
	a := newOutbox(t, openDB(t, path), clk, SMTPSender{Addr: addr}, Options{})
	b := newOutbox(t, openDB(t, path), clk, SMTPSender{Addr: addr}, Options{})
	const n = 20
	var ids []int64
	for i := range n {
		ids = append(ids, enqueue(t, a, noticeMail(t, clk, "user"+string(rune('a'+i))+"@example.com")))
	}
	var wg sync.WaitGroup
	for _, o := range []*Outbox{a, b, a, b} {
		wg.Go(func() {
			if _, err := o.step(context.Background()); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	for _, id := range ids {
		if s, _ := a.Status(context.Background(), id); s != api.DeliverySent {
			t.Fatalf("mail %d is %s", id, s)
		}
	}
	if got := count(t, ib, ""); got != n {
		t.Fatalf("inbox holds %d emails for %d mails", got, n)
	}
}

func TestRunDeliversOnWakeAndStopsWithItsContext(t *testing.T) {
	clk := clock.NewFixed(t0)
	ib, addr := inboxtest.Start(t, clk, inbox.Options{})
	sender := notifying(SMTPSender{Addr: addr})
	o := newOutbox(t, newDB(t), clk, sender, Options{Poll: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- o.Run(ctx) }()

	id := enqueue(t, o, codeMail(t, clk, "ann@example.com", "271828"))
	o.Wake()
	o.Wake() // never blocks
	sender.waitSent(t)
	// Run is running, as the delivery shows: a second one must refuse to start.
	if err := o.Run(ctx); err == nil {
		t.Error("a second Run on the same Outbox started")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run = %v, want nil after cancel", err)
	}
	if s, _ := o.Status(context.Background(), id); s != api.DeliverySent {
		t.Fatalf("Status = %q", s)
	}
	if code, _, found, err := ib.Code(context.Background(), "ann@example.com", 0); err != nil || !found || code != "271828" {
		t.Fatalf("Code = %q, %v, %v", code, found, err)
	}
}

func TestRunRetriesByItselfWhenTheRetryFallsDue(t *testing.T) {
	// Real time: this is the one test of the worker's own timer. RetryBase 1s keeps it short.
	var refused atomic.Bool
	addr := startRelay(t, &relay{rcpt: func() error {
		if refused.CompareAndSwap(false, true) {
			return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 7, 1}, Message: "Greylisted"}
		}
		return nil
	}})
	sender := notifying(SMTPSender{Addr: addr})
	o := newOutbox(t, newDB(t), clock.System{}, sender, Options{RetryBase: time.Second, Poll: time.Hour})
	id := enqueue(t, o, noticeMail(t, clock.System{}, "ann@example.com"))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- o.Run(ctx) }()
	sender.waitSent(t)
	cancel()
	<-done
	if row := rowOf(t, o.db, id); row.status != api.DeliverySent || row.attempts != 2 {
		t.Fatalf("row = %v, want sent on the second attempt", row)
	}
}

func TestEnqueueBelongsToTheCallersTransaction(t *testing.T) {
	clk := clock.NewFixed(t0)
	o := newOutbox(t, newDB(t), clk, SMTPSender{Addr: downAddr(t)}, Options{})
	var id int64
	failed := errors.New("the code could not be stored")
	err := o.db.Tx(context.Background(), func(tx *sql.Tx) error {
		var err error
		if id, err = o.Enqueue(context.Background(), tx, codeMail(t, clk, "ann@example.com", "004217")); err != nil {
			return err
		}
		return failed
	})
	if !errors.Is(err, failed) {
		t.Fatal(err)
	}
	if _, err := o.Status(context.Background(), id); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Status after rollback: %v, want ErrNotFound", err)
	}
}

func TestEnqueueRefusesMailThatCouldNeverBeSent(t *testing.T) {
	clk := clock.NewFixed(t0)
	o := newOutbox(t, newDB(t), clk, SMTPSender{Addr: downAddr(t)}, Options{})
	good := noticeMail(t, clk, "ann@example.com")
	cases := map[string]func(*Mail){
		"no kind":             func(m *Mail) { m.Kind = "" },
		"no recipient":        func(m *Mail) { m.To = "" },
		"recipient with CRLF": func(m *Mail) { m.To = "ann@example.com\r\nRCPT TO:<eve@example.com>" },
		"not an address":      func(m *Mail) { m.To = "ann" },
		"no message":          func(m *Mail) { m.Message = nil },
	}
	for name, change := range cases {
		t.Run(name, func(t *testing.T) {
			m := good
			change(&m)
			err := o.db.Tx(context.Background(), func(tx *sql.Tx) error {
				_, err := o.Enqueue(context.Background(), tx, m)
				return err
			})
			if !errors.Is(err, ErrInvalidMail) {
				t.Fatalf("err = %v, want ErrInvalidMail", err)
			}
		})
	}
}

func TestCancelledMailIsDroppedAndWipedButSentMailStaysSent(t *testing.T) {
	clk := clock.NewFixed(t0)
	ib, addr := inboxtest.Start(t, clk, inbox.Options{})
	o := newOutbox(t, newDB(t), clk, SMTPSender{Addr: addr}, Options{})
	sent := enqueue(t, o, codeMail(t, clk, "ann@example.com", "111111"))
	step(t, o)
	waiting := enqueue(t, o, codeMail(t, clk, "ann@example.com", "222222"))

	err := o.db.Tx(context.Background(), func(tx *sql.Tx) error {
		for _, id := range []int64{sent, waiting, 999} {
			if err := o.Cancel(context.Background(), tx, id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	step(t, o)
	if r := rowOf(t, o.db, waiting); r.status != api.DeliveryDropped || r.sealed != nil || r.attempts != 0 {
		t.Fatalf("cancelled mail: %v", r)
	}
	if r := rowOf(t, o.db, sent); r.status != api.DeliverySent {
		t.Fatalf("cancelling sent mail changed it: %v", r)
	}
	if code, _, _, _ := ib.Code(context.Background(), "ann@example.com", 0); code != "111111" {
		t.Fatalf("newest code in the inbox = %q, want the first (the second was cancelled)", code)
	}
}

func TestMailCancelledDuringAFailedAttemptStaysDropped(t *testing.T) {
	clk := clock.NewFixed(t0)
	var o *Outbox
	var id int64
	// The relay answers 451, and while it does the sign-in flow cancels the mail.
	addr := startRelay(t, &relay{rcpt: func() error {
		err := o.db.Tx(context.Background(), func(tx *sql.Tx) error { return o.Cancel(context.Background(), tx, id) })
		if err != nil {
			t.Error(err)
		}
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 0, 0}, Message: "later"}
	}})
	o = newOutbox(t, newDB(t), clk, SMTPSender{Addr: addr}, Options{})
	id = enqueue(t, o, codeMail(t, clk, "ann@example.com", "111111"))
	step(t, o)
	if r := rowOf(t, o.db, id); r.status != api.DeliveryDropped || r.sealed != nil {
		t.Fatalf("row = %v, want it to stay dropped", r)
	}
}

func TestStatusOfUnknownMailIsNotFound(t *testing.T) {
	o := newOutbox(t, newDB(t), clock.NewFixed(t0), SMTPSender{Addr: downAddr(t)}, Options{})
	if _, err := o.Status(context.Background(), 99); !errors.Is(err, ErrNotFound) {
		t.Fatalf("err = %v", err)
	}
}

func TestBackoffDoublesUpToTheCapWithJitter(t *testing.T) {
	cases := []struct {
		attempts int
		lo, hi   time.Duration
	}{
		{1, time.Second, 2 * time.Second},
		{2, 2 * time.Second, 4 * time.Second},
		{3, 4 * time.Second, 8 * time.Second},
		{8, 128 * time.Second, 256 * time.Second},
		{9, 150 * time.Second, 300 * time.Second}, // capped at RetryMax (5m)
		{1000, 150 * time.Second, 300 * time.Second},
	}
	for _, rnd := range []byte{0x00, 0x7f, 0xff} {
		o := &Outbox{opts: Options{Rand: bytes.NewReader(bytes.Repeat([]byte{rnd}, 8*len(cases)))}.withDefaults()}
		for _, c := range cases {
			if d := o.backoff(c.attempts); d < c.lo || d > c.hi {
				t.Errorf("random %#x, attempt %d: backoff %v, want within [%v, %v]", rnd, c.attempts, d, c.lo, c.hi)
			}
		}
	}
}

func TestNewRefusesASealKeyThatIsNot32Bytes(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("New accepted a 16-byte key")
		}
	}()
	New(nil, clock.NewFixed(t0), make([]byte, 16), nil, slog.New(slog.DiscardHandler), Options{})
}
