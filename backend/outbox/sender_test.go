package outbox

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"shoplogin/backend/clock"
	"shoplogin/backend/inbox"
	"shoplogin/backend/inbox/inboxtest"
)

var testMessage = []byte("From: a@example.com\r\nTo: ann@example.com\r\nSubject: hello\r\n\r\nhello\r\n")

func TestSMTPSenderDeliversOverSTARTTLSWithAuthPlain(t *testing.T) {
	serverTLS, roots := inboxtest.Certificate(t)
	ib, addr := inboxtest.Start(t, clock.NewFixed(t0), inbox.Options{TLS: serverTLS, Username: "relay", Password: "s3cret-pass"})
	s := SMTPSender{Addr: addr, TLS: &tls.Config{RootCAs: roots}, Username: "relay", Password: "s3cret-pass", LocalName: "shoplogin.test"}
	if err := s.Send(context.Background(), "a@example.com", []string{"ann@example.com"}, testMessage); err != nil {
		t.Fatal(err)
	}
	if n := count(t, ib, "ann@example.com"); n != 1 {
		t.Fatalf("inbox holds %d messages, want 1", n)
	}
}

func TestSMTPSenderRefusesWhatTLSDoesNotProtect(t *testing.T) {
	serverTLS, _ := inboxtest.Certificate(t)
	_, strangersRoots := inboxtest.Certificate(t)
	_, pinnedRoots := inboxtest.Certificate(t)
	cases := []struct {
		name    string
		server  inbox.Options
		roots   func() *tls.Config
		wantErr string
	}{
		{
			"an untrusted certificate",
			inbox.Options{TLS: serverTLS, Username: "relay", Password: "s3cret-pass"},
			func() *tls.Config { return &tls.Config{RootCAs: pinnedRoots} },
			"certificate",
		},
		{
			"a server without STARTTLS",
			inbox.Options{Username: "relay", Password: "s3cret-pass"},
			func() *tls.Config { return &tls.Config{RootCAs: strangersRoots} },
			"STARTTLS",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ib, addr := inboxtest.Start(t, clock.NewFixed(t0), c.server)
			s := SMTPSender{Addr: addr, TLS: c.roots(), Username: "relay", Password: "s3cret-pass"}
			err := s.Send(context.Background(), "a@example.com", []string{"ann@example.com"}, testMessage)
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Fatalf("err = %v, want one mentioning %q", err, c.wantErr)
			}
			if strings.Contains(err.Error(), "s3cret-pass") {
				t.Fatal("the password is in the error")
			}
			if _, permanent := describe(err); permanent {
				t.Fatal("a TLS failure was taken as permanent; the contract says try later")
			}
			if n := count(t, ib, ""); n != 0 {
				t.Fatalf("the message was delivered anyway")
			}
		})
	}
}

func TestSMTPSenderNeverSendsCredentialsInClearToARemoteRelay(t *testing.T) {
	// 192.0.2.1 is TEST-NET-1: nothing answers there, and Send must not even try.
	s := SMTPSender{Addr: "192.0.2.1:587", Username: "relay", Password: "s3cret-pass", Timeout: time.Second}
	err := s.Send(context.Background(), "a@example.com", []string{"ann@example.com"}, testMessage)
	if err == nil || !strings.Contains(err.Error(), "without TLS") {
		t.Fatalf("err = %v", err)
	}
}

func TestSMTPSenderWrongPasswordIsAPermanentFailure(t *testing.T) {
	_, addr := inboxtest.Start(t, clock.NewFixed(t0), inbox.Options{Username: "relay", Password: "s3cret-pass"})
	s := SMTPSender{Addr: addr, Username: "relay", Password: "wrong"}
	err := s.Send(context.Background(), "a@example.com", []string{"ann@example.com"}, testMessage)
	if reply, permanent := describe(err); !permanent || !strings.HasPrefix(reply, "535 5.7.8") {
		t.Fatalf("describe(%v) = %q, %v; want a permanent 535", err, reply, permanent)
	}
}

func TestSMTPSenderStopsWhenTheContextEnds(t *testing.T) {
	// A server that accepts the connection and never greets.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err = SMTPSender{Addr: l.Addr().String()}.Send(ctx, "a@example.com", []string{"ann@example.com"}, testMessage)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want context.DeadlineExceeded", err)
	}
}

func TestDescribeFollowsTheSenderContract(t *testing.T) {
	cases := []struct {
		err       error
		reply     string
		permanent bool
	}{
		{&smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such user"}, "550 5.1.1 No such user", true},
		{fmt.Errorf("smtp x: %w", &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 4, 5}, Message: "Too busy"}), "421 4.4.5 Too busy", false},
		{&smtp.SMTPError{Code: 554, EnhancedCode: smtp.NoEnhancedCode, Message: "line one\nline two"}, "554 line one line two", true},
		{errors.New("dial tcp 127.0.0.1:25: connect: connection refused"), "dial tcp 127.0.0.1:25: connect: connection refused", false},
		{errors.New(strings.Repeat("x", 500)), strings.Repeat("x", 300) + "…", false},
	}
	for _, c := range cases {
		reply, permanent := describe(c.err)
		if reply != c.reply || permanent != c.permanent {
			t.Errorf("describe(%v) = %q, %v; want %q, %v", c.err, reply, permanent, c.reply, c.permanent)
		}
	}
}

func TestARelayReplyQuotingTheCodeIsStoredWithoutIt(t *testing.T) {
	reply, permanent := describe(&smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1},
		Message: "Rejected: Subject 'Image Line Account | Two Factor Authentication code ( 042917 ) [Action Required]'"})
	if strings.Contains(reply, "042917") || !strings.Contains(reply, "550 5.7.1") || !permanent {
		t.Fatalf("stored reply %q (permanent %v)", reply, permanent)
	}
}
