package server_test

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"shoplogin/backend/api"
	"shoplogin/backend/clock"
	"shoplogin/backend/inbox"
	"shoplogin/backend/inbox/inboxtest"
	"shoplogin/backend/server"
)

// fault is how a relay mistreats one connection.
type fault int

const (
	greet421    fault = iota // "421 Try again later" instead of the greeting, then hang up
	rcpt451                  // a normal dialogue until RCPT, which gets "451 Greylisted"
	dropMidData              // a normal dialogue until DATA, then hang up halfway through the message
	data451                  // the whole message read, then "451 Local error" instead of 250
)

// replyOf is how the outbox records each fault: the relay's reply, or (for a dropped
// connection) the network error, whatever its wording.
var replyOf = map[fault]string{
	greet421:    "421 4.3.2 Try again later",
	rcpt451:     "451 4.7.1 Greylisted",
	data451:     "451 4.3.0 Local error",
	dropMidData: "",
}

// faultyRelay is a relay on loopback whose first connections each get a fault from plan;
// later connections go to a real QA inbox, which keeps what it is given.
type faultyRelay struct {
	addr  string
	inbox *inbox.Inbox

	mu    sync.Mutex
	plan  []fault
	conns int
	held  []net.Conn
}

func startFaultyRelay(t *testing.T, plan ...fault) *faultyRelay {
	t.Helper()
	// The real inbox is served on a listener of its own; good connections are spliced to it.
	ib, inboxAddr := inboxtest.Start(t, clock.System{}, inbox.Options{})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &faultyRelay{addr: l.Addr().String(), inbox: ib, plan: plan}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		l.Close()
		r.mu.Lock()
		for _, c := range r.held {
			c.Close()
		}
		r.mu.Unlock()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			r.mu.Lock()
			r.conns++
			var f fault = -1
			if len(r.plan) > 0 {
				f, r.plan = r.plan[0], r.plan[1:]
			}
			r.held = append(r.held, c)
			r.mu.Unlock()
			wg.Go(func() { r.serve(c, f, inboxAddr) })
		}
	})
	return r
}

// connections is how many connections the relay has accepted.
func (r *faultyRelay) connections() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.conns
}

func (r *faultyRelay) serve(c net.Conn, f fault, inboxAddr string) {
	if f < 0 {
		splice(c, inboxAddr)
		return
	}
	defer c.Close()
	rd := bufio.NewReader(c)
	say := func(line string) { c.Write([]byte(line + "\r\n")) }
	if f == greet421 {
		say("421 4.3.2 Try again later")
		return
	}
	say("220 relay.test ESMTP")
	for {
		line, err := rd.ReadString('\n')
		if err != nil {
			return
		}
		verb := strings.ToUpper(strings.Fields(line + " x")[0])
		switch verb {
		case "EHLO", "HELO":
			say("250-relay.test")
			say("250 8BITMIME")
		case "RCPT":
			if f == rcpt451 {
				say("451 4.7.1 Greylisted, try again later")
			} else {
				say("250 2.1.5 OK")
			}
		case "DATA":
			say("354 Go ahead")
			for n := 0; ; n++ {
				data, err := rd.ReadString('\n')
				if err != nil {
					return
				}
				if f == dropMidData && n == 5 {
					return // hang up with the message half sent
				}
				if data == ".\r\n" {
					break
				}
			}
			say("451 4.3.0 Local error in processing")
		case "QUIT":
			say("221 2.0.0 Bye")
			return
		default: // MAIL, RSET, NOOP
			say("250 2.0.0 OK")
		}
	}
}

// splice connects c to the real inbox at addr, both ways, until either side closes.
func splice(c net.Conn, addr string) {
	defer c.Close()
	up, err := net.Dial("tcp", addr)
	if err != nil {
		return
	}
	defer up.Close()
	done := make(chan struct{}, 2)
	go func() { copyConn(up, c); done <- struct{}{} }()
	go func() { copyConn(c, up); done <- struct{}{} }()
	<-done
}

func copyConn(dst, src net.Conn) {
	buf := make([]byte, 4096)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			if tcp, ok := dst.(*net.TCPConn); ok && !errors.Is(err, net.ErrClosed) {
				tcp.CloseWrite()
			}
			return
		}
	}
}

// A relay that is busy (421 at the greeting), greylists (451 at RCPT), fails after the
// message (451 after DATA) or hangs up halfway through DATA costs one attempt: the user
// sees "retrying" on the code screen, the worker tries again once the backoff has passed
// on the server's clock, and the code arrives exactly once and signs in.
func TestTemporaryRelayFaultsAreRetriedAndTheCodeArrivesOnce(t *testing.T) {
	cases := []struct {
		name string
		plan []fault
	}{
		{"421 at the greeting", []fault{greet421}},
		{"451 at RCPT", []fault{rcpt451}},
		{"451 after the message", []fault{data451}},
		{"connection dropped mid-DATA", []fault{dropMidData}},
		{"every fault in a row", []fault{greet421, rcpt451, dropMidData, data451}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			relay := startFaultyRelay(t, c.plan...)
			w := startWorld(t, fastRetry, func(cfg *server.Config) {
				cfg.SMTPRelay = relay.addr
				cfg.SMTPInsecure = true
			})
			w.account(email, pw, true)
			d := w.client("dev", networkN)
			res := must(d.SignIn(ctx, email, pw, "dev"))(t)
			// Each fault costs one attempt. The worker comes back only once the server's
			// clock has passed the backoff, so the clock is moved until it does.
			advanceUntil := func(what string, done func() bool) {
				t.Helper()
				waitFor(t, what, func() bool {
					if done() {
						return true
					}
					w.clock.Advance(time.Second)
					return false
				})
			}
			outbox := openSQLite(t, filepath.Join(w.cfg.DataDir, "shoplogin.db"))
			for i, f := range c.plan {
				advanceUntil("the faulty attempt", func() bool { return relay.connections() > i })
				waitDelivery(t, d, res.ChallengeID, api.DeliveryRetrying)
				// The attempt is recorded with the relay's reply, and the next one is put off
				// by the backoff: due later on the server's clock, not at once.
				waitFor(t, "the failed attempt to be recorded", func() bool {
					var attempts int
					var next int64
					var lastError sql.NullString
					err := outbox.QueryRow(`SELECT o.attempts, o.next_attempt_at, o.last_error FROM outbox o
						JOIN challenges c ON c.outbox_id = o.id WHERE c.id = ?`, res.ChallengeID).Scan(&attempts, &next, &lastError)
					now := w.clock.Now().Unix()
					// While an attempt runs, next_attempt_at is its lease (minutes ahead).
					return err == nil && attempts == i+1 && next > now && next <= now+60 &&
						lastError.String != "" && strings.HasPrefix(lastError.String, replyOf[f])
				})
			}
			advanceUntil("delivery", func() bool {
				ch, err := d.Challenge(ctx, res.ChallengeID)
				return err == nil && ch.Delivery == api.DeliverySent
			})
			code, _, found, err := relay.inbox.Code(ctx, email, 0)
			if err != nil || !found {
				t.Fatalf("no code at the relay after the faults: %v", err)
			}
			if got := must(relay.inbox.List(ctx, email))(t); len(got) != 1 {
				t.Fatalf("the relay kept %d emails, want exactly 1", len(got))
			}
			if _, err := d.Verify(ctx, res.ChallengeID, code); err != nil {
				t.Fatalf("the delivered code did not sign in: %v", err)
			}
		})
	}
}

// waitFor polls cond until it holds, for at most 10 s of real time (a worker on real timers
// has to act); what names the awaited event in the failure.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
