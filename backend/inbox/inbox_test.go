package inbox_test

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"shoplogin/backend/clock"
	"shoplogin/backend/inbox"
	"shoplogin/backend/inbox/inboxtest"
	"shoplogin/backend/message"
)

var t0 = time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)

// send delivers msg over SMTP with the go-smtp client, as the outbox does.
func send(addr, from string, to []string, msg []byte) error {
	c, err := smtp.Dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.SendMail(from, to, bytes.NewReader(msg)); err != nil {
		return err
	}
	return c.Quit()
}

func codeEmail(t testing.TB, to, code string) []byte {
	t.Helper()
	msg, err := message.DefaultBrand().Code(message.CodeEmail{
		To: to, Code: code, DeviceName: "Studio PC", Network: "203.0.113.0/24", ValidFor: 10 * time.Minute, Sent: t0,
	})
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

func simple(subject string) []byte {
	return []byte("From: a@example.com\r\nSubject: " + subject + "\r\n\r\nhello\r\n")
}

func smtpCode(err error) int {
	var e *smtp.SMTPError
	if errors.As(err, &e) {
		return e.Code
	}
	return 0
}

func TestMessageRoundTripsWithItsParts(t *testing.T) {
	clk := clock.NewFixed(t0)
	ib, addr := inboxtest.Start(t, clk, inbox.Options{})
	msg := codeEmail(t, "ann@example.com", "004217")
	if err := send(addr, "no-reply@shoplogin.localhost", []string{"ann@example.com"}, msg); err != nil {
		t.Fatal(err)
	}

	list, err := ib.List(context.Background(), "")
	if err != nil || len(list) != 1 {
		t.Fatalf("list = %v, %v; want one message", list, err)
	}
	m, err := ib.Get(context.Background(), list[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	want := inbox.Summary{
		ID: list[0].ID, From: "no-reply@shoplogin.localhost", To: []string{"ann@example.com"},
		Subject: "Image Line Account | Two Factor Authentication code ( 004217 ) [Action Required]", ReceivedAt: t0,
	}
	if !equalSummary(m.Summary, want) || !equalSummary(list[0], want) {
		t.Errorf("summary = %+v\nlist    = %+v\nwant      %+v", m.Summary, list[0], want)
	}
	if !strings.Contains(m.Text, "004217") || !strings.Contains(m.HTML, "004217") {
		t.Errorf("code missing from a part:\ntext %q\nhtml %q", m.Text, m.HTML)
	}
	if got := m.Headers["X-Shoplogin-Kind"]; !slices.Equal(got, []string{"signin-code"}) {
		t.Errorf("kind header = %q", got)
	}
	if m.Raw != string(msg) {
		t.Errorf("raw message changed in transit:\n%q\nwant\n%q", m.Raw, msg)
	}
}

func equalSummary(a, b inbox.Summary) bool {
	return a.ID == b.ID && a.From == b.From && slices.Equal(a.To, b.To) && a.Subject == b.Subject && a.ReceivedAt.Equal(b.ReceivedAt)
}

func TestListFiltersByRecipientCaseInsensitivelyNewestFirst(t *testing.T) {
	clk := clock.NewFixed(t0)
	ib, addr := inboxtest.Start(t, clk, inbox.Options{})
	for _, m := range []struct {
		to      []string
		subject string
	}{
		{[]string{"ann@example.com"}, "first"},
		{[]string{"bob@example.com"}, "second"},
		{[]string{"carol@example.com", "Ann@Example.COM"}, "third"},
	} {
		if err := send(addr, "a@example.com", m.to, simple(m.subject)); err != nil {
			t.Fatal(err)
		}
		clk.Advance(time.Second)
	}
	cases := []struct {
		to   string
		want []string
	}{
		{"ANN@example.com", []string{"third", "first"}},
		{"bob@example.com", []string{"second"}},
		{"", []string{"third", "second", "first"}},
		{"nobody@example.com", []string{}},
	}
	for _, c := range cases {
		t.Run(cmp.Or(c.to, "everyone"), func(t *testing.T) {
			list, err := ib.List(context.Background(), c.to)
			if err != nil {
				t.Fatal(err)
			}
			got := []string{}
			for _, s := range list {
				got = append(got, s.Subject)
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("subjects = %q, want %q", got, c.want)
			}
		})
	}
	list, _ := ib.List(context.Background(), "carol@example.com")
	if len(list) != 1 || !slices.Equal(list[0].To, []string{"carol@example.com", "Ann@Example.COM"}) {
		t.Errorf("recipients as given = %v", list)
	}
}

func TestInternationalizedAddressesArrive(t *testing.T) {
	ib, addr := inboxtest.Start(t, clock.NewFixed(t0), inbox.Options{})
	if err := send(addr, "no-reply@shoplogin.localhost", []string{"zoë@example.com"}, codeEmail(t, "zoë@example.com", "246810")); err != nil {
		t.Fatal(err)
	}
	if code, _, found, err := ib.Code(context.Background(), "ZOË@example.com", 0); code != "246810" || !found || err != nil {
		t.Fatalf("Code = %q, %v, %v", code, found, err)
	}
}

func TestCodeWaitsForAnEmailSentLater(t *testing.T) {
	ib, addr := inboxtest.Start(t, clock.NewFixed(t0), inbox.Options{})
	sent := make(chan error, 1)
	time.AfterFunc(50*time.Millisecond, func() {
		sent <- send(addr, "no-reply@shoplogin.localhost", []string{"ann@example.com"}, codeEmail(t, "ann@example.com", "318807"))
	})
	code, id, found, err := ib.Code(context.Background(), "Ann@example.com", 5*time.Second)
	if err != nil || !found || code != "318807" || id == 0 {
		t.Fatalf("Code = %q, %d, %v, %v; want 318807", code, id, found, err)
	}
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
}

func TestCodeGivesUpAfterTheWait(t *testing.T) {
	ib, addr := inboxtest.Start(t, clock.NewFixed(t0), inbox.Options{})
	// Mail that is not a code email to this address must not satisfy the wait.
	if err := send(addr, "a@example.com", []string{"ann@example.com"}, simple("Your code 123456")); err != nil {
		t.Fatal(err)
	}
	if err := send(addr, "a@example.com", []string{"bob@example.com"}, codeEmail(t, "bob@example.com", "111111")); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	code, _, found, err := ib.Code(context.Background(), "ann@example.com", 50*time.Millisecond)
	if err != nil || found || code != "" {
		t.Fatalf("Code = %q, %v, %v; want not found", code, found, err)
	}
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Fatalf("returned after %v, before the wait was over", d)
	}
}

func TestCodeReturnsTheNewestCode(t *testing.T) {
	clk := clock.NewFixed(t0)
	ib, addr := inboxtest.Start(t, clk, inbox.Options{})
	for _, code := range []string{"111111", "222222"} {
		if err := send(addr, "a@example.com", []string{"ann@example.com"}, codeEmail(t, "ann@example.com", code)); err != nil {
			t.Fatal(err)
		}
	}
	if code, _, found, err := ib.Code(context.Background(), "ann@example.com", 0); code != "222222" || !found || err != nil {
		t.Fatalf("Code = %q, %v, %v; want 222222", code, found, err)
	}
}

func TestCodeSinceIgnoresOlderCodes(t *testing.T) {
	clk := clock.NewFixed(t0)
	ib, addr := inboxtest.Start(t, clk, inbox.Options{})
	if err := send(addr, "a@example.com", []string{"ann@example.com"}, codeEmail(t, "ann@example.com", "111111")); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Minute)
	since := clk.Now()
	if _, _, found, _ := ib.CodeSince(context.Background(), "ann@example.com", since, 0); found {
		t.Fatal("an older code was returned")
	}
	if err := send(addr, "a@example.com", []string{"ann@example.com"}, codeEmail(t, "ann@example.com", "222222")); err != nil {
		t.Fatal(err)
	}
	if code, _, found, err := ib.CodeSince(context.Background(), "ann@example.com", since, 0); code != "222222" || !found || err != nil {
		t.Fatalf("Code = %q, %v, %v; want 222222", code, found, err)
	}
}

func TestCodeStopsWhenTheContextEnds(t *testing.T) {
	ib, _ := inboxtest.Start(t, clock.NewFixed(t0), inbox.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, found, err := ib.Code(ctx, "ann@example.com", time.Minute); found || !errors.Is(err, context.Canceled) {
		t.Fatalf("found=%v err=%v, want context.Canceled", found, err)
	}
}

func TestGetOfAnUnknownIDIsNotFound(t *testing.T) {
	ib, _ := inboxtest.Start(t, clock.NewFixed(t0), inbox.Options{})
	if _, err := ib.Get(context.Background(), 42); !errors.Is(err, inbox.ErrNotFound) {
		t.Fatalf("err = %v, want ErrNotFound", err)
	}
}

func TestDeleteAllEmptiesTheInbox(t *testing.T) {
	ib, addr := inboxtest.Start(t, clock.NewFixed(t0), inbox.Options{})
	if err := send(addr, "a@example.com", []string{"ann@example.com"}, codeEmail(t, "ann@example.com", "111111")); err != nil {
		t.Fatal(err)
	}
	if err := ib.DeleteAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	list, err := ib.List(context.Background(), "")
	if err != nil || len(list) != 0 {
		t.Fatalf("list = %v, %v; want empty", list, err)
	}
	if _, _, found, _ := ib.Code(context.Background(), "ann@example.com", 0); found {
		t.Fatal("a deleted code is still found")
	}
}

func TestMalformedMailIsKeptRaw(t *testing.T) {
	ib, addr := inboxtest.Start(t, clock.NewFixed(t0), inbox.Options{})
	raw, err := os.ReadFile(filepath.Join("testdata", "malformed_header.eml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := send(addr, "a@example.com", []string{"ann@example.com"}, raw); err != nil {
		t.Fatal(err)
	}
	list, _ := ib.List(context.Background(), "ann@example.com")
	if len(list) != 1 {
		t.Fatalf("list = %v", list)
	}
	m, err := ib.Get(context.Background(), list[0].ID)
	if err != nil || m.Raw != string(raw) || m.Subject != "before the broken line" {
		t.Fatalf("message = %+v, %v", m, err)
	}
}

func TestOversizedMessageIsRefusedWith552(t *testing.T) {
	ib, addr := inboxtest.Start(t, clock.NewFixed(t0), inbox.Options{Limits: inbox.Limits{MaxMessageBytes: 1024}})
	big := append(simple("big"), bytes.Repeat([]byte("0123456789abcdef\r\n"), 100)...)
	if err := send(addr, "a@example.com", []string{"ann@example.com"}, big); smtpCode(err) != 552 {
		t.Fatalf("err = %v, want 552", err)
	}
	if err := send(addr, "a@example.com", []string{"ann@example.com"}, simple("small")); err != nil {
		t.Fatalf("a small message after a refused one: %v", err)
	}
	if list, _ := ib.List(context.Background(), ""); len(list) != 1 || list[0].Subject != "small" {
		t.Fatalf("stored = %v, want only the small one", list)
	}
}

func TestTooManyRecipientsAreRefused(t *testing.T) {
	_, addr := inboxtest.Start(t, clock.NewFixed(t0), inbox.Options{Limits: inbox.Limits{MaxRecipients: 2}})
	err := send(addr, "a@example.com", []string{"a@example.com", "b@example.com", "c@example.com"}, simple("x"))
	if smtpCode(err) != 452 {
		t.Fatalf("err = %v, want 452", err)
	}
}

// dial opens a raw connection to addr, closed when the test ends.
func dial(t *testing.T, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, bufio.NewReader(c)
}

func TestConnectionCapHolds(t *testing.T) {
	_, addr := inboxtest.Start(t, clock.NewFixed(t0), inbox.Options{Limits: inbox.Limits{MaxConns: 2}})
	var open []net.Conn
	for range 2 {
		c, r := dial(t, addr)
		if line, err := r.ReadString('\n'); err != nil || !strings.HasPrefix(line, "220 ") {
			t.Fatalf("greeting = %q, %v", line, err)
		}
		open = append(open, c)
	}
	third, r := dial(t, addr)
	// The third connection waits in the listen backlog: no greeting while two are open.
	third.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	if line, err := r.ReadString('\n'); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("third connection was served beyond the cap: %q, %v", line, err)
	}
	open[0].Close()
	third.SetReadDeadline(time.Now().Add(5 * time.Second))
	if line, err := r.ReadString('\n'); err != nil || !strings.HasPrefix(line, "220 ") {
		t.Fatalf("after a slot freed: %q, %v", line, err)
	}
}

func TestIdleClientTimesOut(t *testing.T) {
	_, addr := inboxtest.Start(t, clock.NewFixed(t0), inbox.Options{Limits: inbox.Limits{ReadTimeout: 100 * time.Millisecond}})
	c, r := dial(t, addr)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := r.ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	line, err := r.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "421 4.4.2") {
		t.Fatalf("after idling: %q, %v; want 421 idle timeout", line, err)
	}
	if _, err := r.ReadString('\n'); err == nil {
		t.Fatal("connection still open after the idle timeout")
	}
}

func TestAuthIsRequiredWhenConfigured(t *testing.T) {
	ib, addr := inboxtest.Start(t, clock.NewFixed(t0), inbox.Options{Username: "relay", Password: "s3cret-pass"})

	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Mail("a@example.com", nil); smtpCode(err) != 502 {
		t.Fatalf("MAIL before AUTH: %v, want 502 (auth required)", err)
	}
	if err := c.Auth(sasl.NewPlainClient("", "relay", "wrong")); smtpCode(err) != 535 {
		t.Fatalf("wrong password: %v, want 535", err)
	}
	if err := c.Auth(sasl.NewPlainClient("admin", "relay", "s3cret-pass")); smtpCode(err) != 535 {
		t.Fatalf("other authorization identity: %v, want 535", err)
	}
	if err := c.Auth(sasl.NewPlainClient("", "relay", "s3cret-pass")); err != nil {
		t.Fatalf("right password: %v", err)
	}
	if err := c.SendMail("a@example.com", []string{"ann@example.com"}, bytes.NewReader(simple("authed"))); err != nil {
		t.Fatal(err)
	}
	if list, _ := ib.List(context.Background(), ""); len(list) != 1 {
		t.Fatalf("stored %d messages, want 1", len(list))
	}
}

func TestRepeatedAuthFailuresCloseTheConnection(t *testing.T) {
	_, addr := inboxtest.Start(t, clock.NewFixed(t0), inbox.Options{
		Username: "relay", Password: "s3cret-pass", Limits: inbox.Limits{MaxAuthFailures: 2},
	})
	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Auth(sasl.NewPlainClient("", "relay", "guess1")); smtpCode(err) != 535 {
		t.Fatalf("first failure: %v, want 535", err)
	}
	if err := c.Auth(sasl.NewPlainClient("", "relay", "guess2")); err == nil {
		t.Fatal("second failure accepted")
	}
	if err := c.Auth(sasl.NewPlainClient("", "relay", "s3cret-pass")); err == nil {
		t.Fatal("a third attempt was answered on the same connection")
	}
}

func TestAuthWaitsForSTARTTLSWhenTLSIsConfigured(t *testing.T) {
	serverTLS, roots := inboxtest.Certificate(t)
	ib, addr := inboxtest.Start(t, clock.NewFixed(t0), inbox.Options{TLS: serverTLS, Username: "relay", Password: "s3cret-pass"})

	plain, err := smtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	if err := plain.Auth(sasl.NewPlainClient("", "relay", "s3cret-pass")); err == nil {
		t.Fatal("AUTH accepted in plain text although TLS is offered")
	}

	c, err := smtp.DialStartTLS(addr, &tls.Config{RootCAs: roots, ServerName: "localhost"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Auth(sasl.NewPlainClient("", "relay", "s3cret-pass")); err != nil {
		t.Fatal(err)
	}
	if err := c.SendMail("a@example.com", []string{"ann@example.com"}, bytes.NewReader(simple("over tls"))); err != nil {
		t.Fatal(err)
	}
	if list, _ := ib.List(context.Background(), ""); len(list) != 1 {
		t.Fatalf("stored %d messages, want 1", len(list))
	}
}

func TestMessagesSurviveAReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "inbox.db")
	log := inboxtest.Logger(t)
	ib, err := inbox.Open(context.Background(), path, clock.NewFixed(t0), log, inbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- ib.Serve(l) }()
	if err := send(l.Addr().String(), "a@example.com", []string{"ann@example.com"}, codeEmail(t, "ann@example.com", "654321")); err != nil {
		t.Fatal(err)
	}
	if err := ib.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-served; err != nil {
		t.Fatalf("Serve after Close = %v, want nil", err)
	}

	again, err := inbox.Open(context.Background(), path, clock.NewFixed(t0), log, inbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if code, _, found, err := again.Code(context.Background(), "ann@example.com", 0); code != "654321" || !found || err != nil {
		t.Fatalf("Code after reopen = %q, %v, %v", code, found, err)
	}
}
