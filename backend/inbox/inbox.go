// Package inbox is the embedded QA inbox: an SMTP server on loopback that keeps every message it receives in its own SQLite file.
package inbox

import (
	"context"
	"crypto/tls"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-smtp"
	"golang.org/x/net/netutil"

	"shoplogin/backend/clock"
	"shoplogin/backend/store"
)

// ErrNotFound is returned by Get for an id the inbox does not hold.
var ErrNotFound = errors.New("inbox: message not found")

// ErrClosed is returned by an Inbox that has been closed.
var ErrClosed = errors.New("inbox: closed")

// Limits bound what one client can make the server hold. Zero fields take the defaults.
type Limits struct {
	MaxMessageBytes int64         // default 1 MiB; larger messages get 552
	MaxRecipients   int           // default 50; extra RCPTs get 452
	MaxConns        int           // default 32 concurrent connections; more wait in the backlog
	ReadTimeout     time.Duration // default 30s per command, and for a whole DATA body
	WriteTimeout    time.Duration // default 30s per reply
	MaxAuthFailures int           // default 3 per connection; then the connection is closed
}

func (l Limits) withDefaults() Limits {
	if l.MaxMessageBytes <= 0 {
		l.MaxMessageBytes = 1 << 20
	}
	if l.MaxRecipients <= 0 {
		l.MaxRecipients = 50
	}
	if l.MaxConns <= 0 {
		l.MaxConns = 32
	}
	if l.ReadTimeout <= 0 {
		l.ReadTimeout = 30 * time.Second
	}
	if l.WriteTimeout <= 0 {
		l.WriteTimeout = 30 * time.Second
	}
	if l.MaxAuthFailures <= 0 {
		l.MaxAuthFailures = 3
	}
	return l
}

// Options configure an Inbox.
type Options struct {
	Limits Limits
	// TLS, if set, is offered with STARTTLS; AUTH is then accepted only after it.
	TLS *tls.Config
	// Username and Password, if set, make the server require AUTH PLAIN before MAIL, as a
	// relay would. Without TLS, AUTH is accepted in plain text: the server is on loopback.
	Username, Password string
	// Domain is the name the server greets with; default "localhost".
	Domain string
}

// Inbox stores received mail and serves SMTP.
type Inbox struct {
	db     *store.DB
	clk    clock.Clock
	log    *slog.Logger
	opts   Options
	srv    *smtp.Server
	ctx    context.Context // lives until Close; bounds the stores of in-flight messages
	cancel context.CancelFunc

	mu        sync.Mutex
	arrived   chan struct{} // closed and replaced on each stored message: wakes Code waiters
	closed    bool
	done      chan struct{} // closed by Close
	listeners []net.Listener
	inflight  sync.WaitGroup
}

//go:embed migrations/*.sql
var migrations embed.FS

// Open opens (creating if needed) the inbox database at path. The SMTP server starts with
// Serve.
func Open(ctx context.Context, path string, clk clock.Clock, log *slog.Logger, opts Options) (*Inbox, error) {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, err
	}
	db, err := store.Open(ctx, path, sub)
	if err != nil {
		return nil, fmt.Errorf("open inbox: %w", err)
	}
	opts.Limits = opts.Limits.withDefaults()
	if opts.Domain == "" {
		opts.Domain = "localhost"
	}
	i := &Inbox{
		db:      db,
		clk:     clk,
		log:     log,
		opts:    opts,
		arrived: make(chan struct{}),
		done:    make(chan struct{}),
	}
	i.ctx, i.cancel = context.WithCancel(context.Background())

	s := smtp.NewServer(backend{i})
	s.Domain = opts.Domain
	s.MaxMessageBytes = opts.Limits.MaxMessageBytes
	s.MaxRecipients = opts.Limits.MaxRecipients
	s.ReadTimeout = opts.Limits.ReadTimeout
	s.WriteTimeout = opts.Limits.WriteTimeout
	s.TLSConfig = opts.TLS
	// The go-smtp client asks for SMTPUTF8 for any non-ASCII address; without it a code
	// email to "zoë@example.com" could never arrive.
	s.EnableSMTPUTF8 = true
	// With TLS configured, credentials travel only inside it; without, the server is a
	// loopback test relay and plain-text AUTH is what its tests need.
	s.AllowInsecureAuth = opts.TLS == nil
	s.ErrorLog = errorLog{log}
	i.srv = s
	return i, nil
}

// Serve accepts SMTP connections on l, at most Limits.MaxConns at a time, until Close.
func (i *Inbox) Serve(l net.Listener) error {
	// go-smtp has no connection cap by design; its maintainer points to the listener.
	l = netutil.LimitListener(l, i.opts.Limits.MaxConns)
	i.mu.Lock()
	if i.closed {
		i.mu.Unlock()
		l.Close()
		return ErrClosed
	}
	// Kept so that Close can close it even if Close runs before go-smtp has registered it.
	i.listeners = append(i.listeners, l)
	i.mu.Unlock()
	err := i.srv.Serve(l)
	if errors.Is(err, smtp.ErrServerClosed) {
		return nil
	}
	return err
}

// Close stops the server, drops open connections, waits for messages being stored, and
// closes the database. Code waiters return ErrClosed.
func (i *Inbox) Close() error {
	i.mu.Lock()
	if i.closed {
		i.mu.Unlock()
		return nil
	}
	i.closed = true
	close(i.done)
	listeners := i.listeners
	i.mu.Unlock()

	err := i.srv.Close()
	for _, l := range listeners {
		l.Close() // most were closed by srv.Close already
	}
	i.inflight.Wait()
	i.cancel()
	return errors.Join(err, i.db.Close())
}

// beginStore registers a message being stored so that Close waits for it; false once closed.
func (i *Inbox) beginStore() bool {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.closed {
		return false
	}
	i.inflight.Add(1)
	return true
}

func (i *Inbox) endStore() { i.inflight.Done() }

// Summary is one line of the message list. From is the From header as a mail client shows
// it, or the envelope sender if the header is missing; To are the envelope recipients.
type Summary struct {
	ID         int64     `json:"id"`
	From       string    `json:"from"`
	To         []string  `json:"to"`
	Subject    string    `json:"subject"`
	ReceivedAt time.Time `json:"received_at"`
}

// Message is a whole stored message.
type Message struct {
	Summary
	Text    string              `json:"text"`
	HTML    string              `json:"html"`
	Headers map[string][]string `json:"headers"`
	Raw     string              `json:"raw"`
}

// listLimit bounds List so that a QA panel stays responsive after a long test run.
const listLimit = 1000

// List returns the newest messages first (at most 1000), only those sent to the address to
// (case-insensitively) unless to is "".
func (i *Inbox) List(ctx context.Context, to string) ([]Summary, error) {
	q := `SELECT m.id, m.sender, m.subject, m.received_ns,
	        (SELECT json_group_array(address) FROM (SELECT address FROM recipients WHERE message_id = m.id ORDER BY position))
	      FROM messages m`
	var args []any
	if to != "" {
		q += ` WHERE EXISTS (SELECT 1 FROM recipients r WHERE r.message_id = m.id AND r.address_key = ?)`
		args = append(args, addressKey(to))
	}
	q += ` ORDER BY m.id DESC LIMIT ?`
	args = append(args, listLimit)
	rows, err := i.db.Read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list messages: %w", err)
	}
	defer rows.Close()
	list := []Summary{}
	for rows.Next() {
		var s Summary
		var ns int64
		var to string
		if err := rows.Scan(&s.ID, &s.From, &s.Subject, &ns, &to); err != nil {
			return nil, fmt.Errorf("list messages: %w", err)
		}
		s.ReceivedAt = time.Unix(0, ns).UTC()
		if err := json.Unmarshal([]byte(to), &s.To); err != nil {
			return nil, fmt.Errorf("list messages: recipients of %d: %w", s.ID, err)
		}
		list = append(list, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list messages: %w", err)
	}
	return list, nil
}

// Get returns message id; an unknown id gives an error matching ErrNotFound.
func (i *Inbox) Get(ctx context.Context, id int64) (Message, error) {
	var m Message
	var ns int64
	var to, headers string
	var raw []byte
	err := i.db.Read.QueryRowContext(ctx, `
		SELECT id, sender, subject, received_ns, text_body, html_body, headers, raw,
		       (SELECT json_group_array(address) FROM (SELECT address FROM recipients WHERE message_id = m.id ORDER BY position))
		FROM messages m WHERE id = ?`, id).
		Scan(&m.ID, &m.From, &m.Subject, &ns, &m.Text, &m.HTML, &headers, &raw, &to)
	if errors.Is(err, sql.ErrNoRows) {
		return Message{}, fmt.Errorf("get message %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return Message{}, fmt.Errorf("get message %d: %w", id, err)
	}
	m.ReceivedAt = time.Unix(0, ns).UTC()
	m.Raw = string(raw)
	if err := json.Unmarshal([]byte(to), &m.To); err != nil {
		return Message{}, fmt.Errorf("get message %d: recipients: %w", id, err)
	}
	if err := json.Unmarshal([]byte(headers), &m.Headers); err != nil {
		return Message{}, fmt.Errorf("get message %d: headers: %w", id, err)
	}
	return m, nil
}

// DeleteAll empties the inbox.
func (i *Inbox) DeleteAll(ctx context.Context) error {
	return i.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM recipients`); err != nil {
			return fmt.Errorf("delete messages: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM messages`); err != nil {
			return fmt.Errorf("delete messages: %w", err)
		}
		return nil
	})
}

// Code returns the code in the newest sign-in code email to addr, waiting up to wait for one
// to arrive if there is none yet. found is false if none came within the wait.
func (i *Inbox) Code(ctx context.Context, to string, wait time.Duration) (code string, messageID int64, found bool, err error) {
	return i.CodeSince(ctx, to, time.Time{}, wait)
}

// CodeSince is Code counting only emails received at or after since by the inbox's clock
// (zero since = any), so that a script can ask for the code of the sign-in it just started
// without being handed an older one.
func (i *Inbox) CodeSince(ctx context.Context, to string, since time.Time, wait time.Duration) (code string, messageID int64, found bool, err error) {
	timer := time.NewTimer(max(wait, 0))
	defer timer.Stop()
	var sinceNS int64
	if !since.IsZero() {
		sinceNS = since.UnixNano()
	}
	for {
		// Take the broadcast channel before querying: a message stored between the query
		// and the wait closes this channel, so it cannot be missed.
		i.mu.Lock()
		arrived, closed := i.arrived, i.closed
		i.mu.Unlock()
		if closed {
			return "", 0, false, ErrClosed
		}
		// Driven by the recipient index, newest first: the whole inbox is never scanned,
		// however many messages other addresses have (every waiter re-asks on each arrival).
		err := i.db.Read.QueryRowContext(ctx, `
			SELECT m.id, m.code FROM recipients r JOIN messages m ON m.id = r.message_id
			WHERE r.address_key = ? AND m.code != '' AND m.received_ns >= ?
			ORDER BY r.message_id DESC LIMIT 1`, addressKey(to), sinceNS).Scan(&messageID, &code)
		if err == nil {
			return code, messageID, true, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return "", 0, false, fmt.Errorf("find code: %w", err)
		}
		select {
		case <-arrived:
		case <-timer.C:
			return "", 0, false, nil
		case <-ctx.Done():
			return "", 0, false, ctx.Err()
		case <-i.done:
			return "", 0, false, ErrClosed
		}
	}
}

// store saves one received message and wakes Code waiters.
func (i *Inbox) store(from string, rcpts []string, raw []byte) error {
	p := parse(raw)
	sender := p.from
	if sender == "" {
		sender = from
	}
	headers, err := json.Marshal(p.headers)
	if err != nil {
		return err
	}
	now := i.clk.Now()
	ctx, cancel := context.WithTimeout(i.ctx, 30*time.Second)
	defer cancel()
	err = i.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `
			INSERT INTO messages (received_ns, mail_from, sender, subject, kind, code, text_body, html_body, headers, raw)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			now.UnixNano(), from, sender, p.subject, p.kind, p.code, p.text, p.html, string(headers), raw)
		if err != nil {
			return err
		}
		id, err := res.LastInsertId()
		if err != nil {
			return err
		}
		for n, r := range rcpts {
			if _, err := tx.ExecContext(ctx, `INSERT INTO recipients (message_id, position, address, address_key) VALUES (?, ?, ?, ?)`,
				id, n, r, addressKey(r)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store message: %w", err)
	}
	i.mu.Lock()
	close(i.arrived)
	i.arrived = make(chan struct{})
	i.mu.Unlock()
	return nil
}

// addressKey is how recipients are matched: case-insensitively, without surrounding spaces
// or angle brackets.
func addressKey(a string) string {
	return strings.ToLower(strings.Trim(strings.TrimSpace(a), "<>"))
}

// errorLog routes go-smtp's internal error reports into slog.
type errorLog struct{ log *slog.Logger }

func (e errorLog) Printf(format string, v ...any) {
	e.log.Warn("smtp server", "error", fmt.Sprintf(format, v...))
}

func (e errorLog) Println(v ...any) {
	e.log.Warn("smtp server", "error", strings.TrimSuffix(fmt.Sprintln(v...), "\n"))
}
