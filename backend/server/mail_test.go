package server_test

import (
	"context"
	"io"
	"net"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"shoplogin/backend/api"
	"shoplogin/backend/apiclient"
	"shoplogin/backend/inbox"
	"shoplogin/backend/inbox/inboxtest"
	"shoplogin/backend/outbox"
	"shoplogin/backend/server"
)

// fastRetry makes the worker retry within milliseconds instead of seconds.
func fastRetry(c *server.Config) {
	c.Outbox = outbox.Options{RetryBase: 10 * time.Millisecond, RetryMax: 50 * time.Millisecond, Poll: 20 * time.Millisecond}
}

// freeAddr returns a loopback address where nothing listens (yet).
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// waitDelivery polls the challenge until its delivery state is want. The worker runs on
// real timers, so this waits for it, bounded.
func waitDelivery(t *testing.T, c *apiclient.Client, challengeID, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	var got string
	for time.Now().Before(deadline) {
		ch, err := c.Challenge(context.Background(), challengeID)
		if err != nil {
			t.Fatal(err)
		}
		if got = ch.Delivery; got == want {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("delivery is %q, want %q", got, want)
}

// With the relay down, sign-in still asks for the code and the challenge reports
// "retrying"; after a server restart and the relay's return, the email is delivered once.
func TestMailWaitsOutARelayThatIsDownAcrossARestart(t *testing.T) {
	ctx := context.Background()
	relayAddr := freeAddr(t)
	w := startWorld(t, fastRetry, func(c *server.Config) {
		c.SMTPRelay = relayAddr
		c.SMTPInsecure = true
	})
	w.account(email, pw, true)
	d := w.client("dev", networkN)
	res := must(d.SignIn(ctx, email, pw, "dev"))(t)
	if res.Status != api.StatusCodeRequired {
		t.Fatalf("sign-in with the relay down = %+v, want code_required", res)
	}
	waitDelivery(t, d, res.ChallengeID, api.DeliveryRetrying)

	w.restart()
	relay, _ := inboxtest.StartAt(t, w.clock, inbox.Options{}, relayAddr)
	// The retry is due on the server's clock; move it past the backoff.
	w.clock.Advance(time.Minute)
	d = w.client("dev", networkN)
	waitDelivery(t, d, res.ChallengeID, api.DeliverySent)

	code, _, found, err := relay.Code(ctx, email, 5*time.Second)
	if err != nil || !found {
		t.Fatalf("no code at the relay: %v", err)
	}
	if _, err := d.Verify(ctx, res.ChallengeID, code); err != nil {
		t.Fatalf("the delivered code did not sign in: %v", err)
	}
	// A few more worker rounds must not send it again.
	w.clock.Advance(time.Minute)
	time.Sleep(100 * time.Millisecond)
	if list := must(relay.List(ctx, email))(t); len(list) != 1 {
		t.Fatalf("the relay got %d emails, want exactly 1", len(list))
	}
}

// refusingRelay answers every recipient with 550.
type refusingRelay struct{}

func (refusingRelay) NewSession(*smtp.Conn) (smtp.Session, error) { return refusingSession{}, nil }

type refusingSession struct{}

func (refusingSession) Reset()                               { /* nothing kept */ }
func (refusingSession) Logout() error                        { return nil }
func (refusingSession) Mail(string, *smtp.MailOptions) error { return nil }
func (refusingSession) Data(r io.Reader) error               { _, err := io.Copy(io.Discard, r); return err }
func (refusingSession) Rcpt(string, *smtp.RcptOptions) error {
	return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such mailbox"}
}

func TestAPermanentRelayRefusalMarksTheEmailFailed(t *testing.T) {
	ctx := context.Background()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	relay := smtp.NewServer(refusingRelay{})
	relay.Domain = "localhost"
	go relay.Serve(l)
	t.Cleanup(func() { relay.Close() })

	w := startWorld(t, fastRetry, func(c *server.Config) {
		c.SMTPRelay = l.Addr().String()
		c.SMTPInsecure = true
	})
	w.account(email, pw, true)
	d := w.client("dev", networkN)
	res := must(d.SignIn(ctx, email, pw, "dev"))(t)
	waitDelivery(t, d, res.ChallengeID, api.DeliveryFailed)
}
