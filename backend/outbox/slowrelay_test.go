package outbox

import (
	"bufio"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"shoplogin/backend/api"
	"shoplogin/backend/clock"
	"shoplogin/backend/inbox"
	"shoplogin/backend/inbox/inboxtest"
)

// stallingRelay answers its first connection slowly, at the stage given (before the
// greeting, or after the whole message instead of its 250), and hands later connections
// to a real QA inbox.
type stallingRelay struct {
	addr  string
	inbox *inbox.Inbox
}

func startStallingRelay(t *testing.T, afterData bool) *stallingRelay {
	t.Helper()
	ib, inboxAddr := inboxtest.Start(t, clock.NewFixed(t0), inbox.Options{})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var open []net.Conn
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		for _, c := range open {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Go(func() {
		for n := 0; ; n++ {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			open = append(open, c)
			mu.Unlock()
			if n == 0 {
				wg.Go(func() { stall(c, afterData) })
			} else {
				wg.Go(func() { relayTo(c, inboxAddr) })
			}
		}
	})
	return &stallingRelay{addr: l.Addr().String(), inbox: ib}
}

// stall plays a relay that takes forever: it says nothing at all, or it takes the whole
// message and then never answers. It returns when the client hangs up.
func stall(c net.Conn, afterData bool) {
	defer c.Close()
	r := bufio.NewReader(c)
	if afterData {
		c.Write([]byte("220 slow.test ESMTP\r\n"))
		inData := false
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			switch {
			case inData:
				if line == ".\r\n" {
					inData = false // and no reply: the relay "thinks" forever
				}
			case strings.HasPrefix(strings.ToUpper(line), "EHLO"):
				c.Write([]byte("250 slow.test\r\n"))
			case strings.HasPrefix(strings.ToUpper(line), "DATA"):
				c.Write([]byte("354 go ahead\r\n"))
				inData = true
			default:
				c.Write([]byte("250 OK\r\n"))
			}
		}
	}
	buf := make([]byte, 512)
	for {
		if _, err := r.Read(buf); err != nil {
			return
		}
	}
}

// timedOut reports whether a stored error says the attempt ran out of time: the sender's
// context deadline, or go-smtp's per-command timeout, which the sender sets to the same value.
func timedOut(lastError string) bool {
	return strings.Contains(lastError, "deadline exceeded") || strings.Contains(lastError, "i/o timeout")
}

// relayTo joins c to the server at addr until either side hangs up.
func relayTo(c net.Conn, addr string) {
	defer c.Close()
	up, err := net.Dial("tcp", addr)
	if err != nil {
		return
	}
	defer up.Close()
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		buf := make([]byte, 4096)
		for {
			n, err := src.Read(buf)
			if n > 0 {
				if _, err := dst.Write(buf[:n]); err != nil {
					break
				}
			}
			if err != nil {
				break
			}
		}
		done <- struct{}{}
	}
	go pipe(up, c)
	go pipe(c, up)
	<-done
}

// A relay that stalls costs the worker no more than the sender's Timeout: the attempt is
// abandoned at the timeout, recorded as a temporary failure ("retrying", what the code
// screen shows), and the next attempt delivers the mail once.
func TestASlowRelayIsGivenUpOnAtTheTimeoutAndRetried(t *testing.T) {
	const timeout = 300 * time.Millisecond
	for _, c := range []struct {
		name      string
		afterData bool
	}{{"silent after connecting", false}, {"silent after the message", true}} {
		t.Run(c.name, func(t *testing.T) {
			clk := clock.NewFixed(t0)
			relay := startStallingRelay(t, c.afterData)
			o := newOutbox(t, newDB(t), clk, SMTPSender{Addr: relay.addr, Timeout: timeout}, Options{})
			id := enqueue(t, o, codeMail(t, clk, "ann@example.com", "004217"))

			start := time.Now()
			step(t, o)
			took := time.Since(start)
			// Bounded on both sides: not given up early, and not held past the timeout
			// (the slack covers a slow CI machine, not a second timeout).
			if took < timeout || took > timeout+2*time.Second {
				t.Fatalf("the stalled attempt took %v, want about the %v timeout", took, timeout)
			}
			r := rowOf(t, o.db, id)
			if r.status != api.DeliveryRetrying || r.attempts != 1 || !timedOut(r.lastError) {
				t.Fatalf("after the stall: %v, want retrying after one attempt, timed out", r)
			}

			clk.Advance(time.Minute)
			step(t, o)
			if r := rowOf(t, o.db, id); r.status != api.DeliverySent || r.attempts != 2 {
				t.Fatalf("after the retry: %v, want sent on the second attempt", r)
			}
			if n := count(t, relay.inbox, "ann@example.com"); n != 1 {
				t.Fatalf("the inbox holds %d emails, want 1", n)
			}
		})
	}
}
