package server_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"shoplogin/backend/api"
	"shoplogin/backend/inbox"
	"shoplogin/backend/server"
)

// relayCode waits until the relay holds n emails to addr and returns the newest code.
func relayCode(t *testing.T, relay *inbox.Inbox, addr string, n int) string {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(10 * time.Second)
	for {
		list, err := relay.List(ctx, addr)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) >= n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the relay holds %d emails to %s, want %d", len(list), addr, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	code, _, found, err := relay.Code(ctx, addr, 0)
	if err != nil || !found {
		t.Fatalf("no code to %s at the relay: %v", addr, err)
	}
	return code
}

// Every component logs into one handler at debug level: the HTTP request log, the auth
// events, the outbox (sent, deferred, failed, with the relay's replies) and an SMTP server
// that counts AUTH failures. Over a flow that touches each of them, with a browser and a
// desktop client, a resend, a wrong relay password and a right one, no line holds a
// password, a code, a token, a device id, the relay's password or the server's keys.
func TestNoLogLineAtDebugLevelHoldsASecret(t *testing.T) {
	ctx := context.Background()
	var logs lockedBuffer
	log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	const (
		relayPassword = "relay-pass-7c1d9e"
		wrongRelayPw  = "relay-guess-4b2a80"
		newPassword   = "a brand new passphrase"
		wrongPassword = "wrong password 1"
		desktopDevice = "desktop-device-5e8f31"
	)

	// The relay is a QA inbox that wants AUTH, logging into the same handler.
	relayLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	w := startWorld(t, fastRetry, func(c *server.Config) {
		c.Log = log
		c.SMTPRelay = relayLn.Addr().String()
		c.SMTPInsecure = true
		c.SMTPUser = "shoplogin"
		c.SMTPPassword = wrongRelayPw
	})
	relay, err := inbox.Open(ctx, filepath.Join(t.TempDir(), "relay.db"), w.clock, log.With("component", "relay"),
		inbox.Options{Username: "shoplogin", Password: relayPassword})
	if err != nil {
		t.Fatal(err)
	}
	go relay.Serve(relayLn)
	t.Cleanup(func() { relay.Close() })
	w.account(email, pw, true)

	// A wrong password at sign-in; then the relay refuses the server's wrong password.
	d := w.client(desktopDevice, networkN)
	d.SignIn(ctx, email, wrongPassword, "laptop")
	first := must(d.SignIn(ctx, email, pw, "laptop"))(t)
	waitDelivery(t, d, first.ChallengeID, api.DeliveryFailed)

	// Fixed, the relay takes the mail; a resend sends a second code.
	w.cfg.SMTPPassword = relayPassword
	w.restart()
	// The clients share the default transport: drop its connections to the old server.
	http.DefaultTransport.(*http.Transport).CloseIdleConnections()
	d = w.client(desktopDevice, networkN)
	w.clock.Advance(time.Minute)
	res := must(d.SignIn(ctx, email, pw, "laptop"))(t)
	code1 := relayCode(t, relay, email, 1)
	w.clock.Advance(time.Minute)
	must(d.Resend(ctx, res.ChallengeID))(t)
	code2 := relayCode(t, relay, email, 2)
	d.Verify(ctx, res.ChallengeID, code1) // the resend killed it
	signed := must(d.Verify(ctx, res.ChallengeID, code2))(t)
	must(d.Session(ctx))(t)

	// A browser: its device id and token live in cookies.
	b := newBrowser(t, w.srv.URL())
	resp, body := b.do("POST", "/api/v1/signin", `{"email":"`+email+`","password":"`+pw+`","device_name":"Firefox"}`,
		"X-Forwarded-For", networkN)
	if resp.StatusCode != 200 || body["status"] != api.StatusCodeRequired {
		t.Fatalf("browser sign-in: %d %v", resp.StatusCode, body)
	}
	browserDevice := cookie(resp, "shoplogin_device").Value
	code3 := relayCode(t, relay, email, 3)
	resp, body = b.do("POST", "/api/v1/signin/verify", `{"challenge_id":"`+body["challenge_id"].(string)+`","code":"`+code3+`"}`,
		"X-Forwarded-For", networkN)
	if resp.StatusCode != 200 {
		t.Fatalf("browser verify: %d %v", resp.StatusCode, body)
	}
	browserToken := cookie(resp, "shoplogin_session").Value
	b.do("GET", "/api/v1/account/security", "")

	// Settings changes with the desktop client, then sign-out.
	must(d.SetTwoFactor(ctx, false, pw))(t)
	if err := d.ChangePassword(ctx, pw, newPassword); err != nil {
		t.Fatal(err)
	}
	newToken := d.Token
	if err := d.SignOut(ctx); err != nil {
		t.Fatal(err)
	}

	master, err := os.ReadFile(filepath.Join(w.cfg.DataDir, "secret.key"))
	if err != nil {
		t.Fatal(err)
	}
	secrets := map[string]string{
		"password": pw, "wrong password": wrongPassword, "new password": newPassword,
		"first code": code1, "second code": code2, "browser code": code3,
		"token": signed.Token, "new token": newToken, "browser token": browserToken,
		"desktop device id": desktopDevice, "browser device id": browserDevice,
		"relay password": relayPassword, "wrong relay password": wrongRelayPw,
		"secret key (hex)":    hex.EncodeToString(master),
		"secret key (base64)": base64.StdEncoding.EncodeToString(master),
	}
	// Each line is one JSON record: decoded, so an escaped secret is found too.
	seen := map[string]bool{}
	lines := 0
	sc := bufio.NewScanner(strings.NewReader(logs.String()))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		lines++
		var rec map[string]any
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("log line is not one JSON record: %s", sc.Bytes())
		}
		flat := sc.Text()
		for _, v := range rec {
			if s, ok := v.(string); ok {
				flat += "\n" + s
			}
		}
		for what, secret := range secrets {
			if strings.Contains(flat, secret) {
				t.Errorf("a log line holds the %s: %s", what, sc.Bytes())
			}
		}
		msg, _ := rec["msg"].(string)
		seen[msg] = true
		if rec["level"] == "DEBUG" && msg == "http" {
			seen["debug http"] = true
		}
	}
	// The flow reached every kind of line this test is about.
	for _, want := range []string{"debug http", "auth event", "mail sent", "mail delivery failed", "smtp auth failed", "server started"} {
		if !seen[want] {
			t.Errorf("no %q line among %d: the test no longer covers it", want, lines)
		}
	}
}
