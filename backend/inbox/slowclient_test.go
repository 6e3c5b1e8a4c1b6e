package inbox_test

import (
	"bufio"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"shoplogin/backend/clock"
	"shoplogin/backend/inbox"
	"shoplogin/backend/inbox/inboxtest"
)

// The idle timeout is per command; a client that keeps sending, one header line at a time,
// must not hold a connection and a message buffer open forever either. The whole body is
// due within ReadTimeout of the DATA command: then the client gets a temporary failure,
// nothing is stored, and the connection is closed.
func TestAClientTricklingItsMessageIsCutOffAtTheReadTimeout(t *testing.T) {
	const readTimeout = 300 * time.Millisecond
	ib, addr := inboxtest.Start(t, clock.NewFixed(t0), inbox.Options{Limits: inbox.Limits{ReadTimeout: readTimeout}})
	c, r := dial(t, addr)
	c.SetDeadline(time.Now().Add(10 * time.Second))
	expect := func(prefix string) {
		t.Helper()
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("waiting for %q: %v", prefix, err)
			}
			if strings.HasPrefix(line, prefix+" ") {
				return
			}
			if !strings.HasPrefix(line, prefix+"-") {
				t.Fatalf("got %q, want %q", line, prefix)
			}
		}
	}
	expect("220")
	for _, cmd := range []struct{ line, reply string }{
		{"EHLO trickler", "250"}, {"MAIL FROM:<a@example.com>", "250"}, {"RCPT TO:<ann@example.com>", "250"}, {"DATA", "354"},
	} {
		fmt.Fprintf(c, "%s\r\n", cmd.line)
		expect(cmd.reply)
	}
	start := time.Now()
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		// One line every 50 ms, for far longer than the timeout.
		for i := 0; i < 200; i++ {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
			if _, err := fmt.Fprintf(c, "X-Line-%d: still coming\r\n", i); err != nil {
				return
			}
		}
	}()
	expect("451")
	if took := time.Since(start); took > readTimeout+2*time.Second {
		t.Fatalf("the trickling client was cut off after %v, want about %v", took, readTimeout)
	}
	// What it sends after is not a message; the server hangs up on it.
	sc := bufio.NewScanner(r)
	for sc.Scan() {
	}
	if time.Since(start) > 5*time.Second {
		t.Fatalf("the connection stayed open %v", time.Since(start))
	}
	if list, _ := ib.List(context.Background(), ""); len(list) != 0 {
		t.Fatalf("stored %d messages from the trickling client, want none", len(list))
	}
}
