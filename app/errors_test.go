package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"testing"

	"shoplogin/backend/api"
)

// leaks are fragments of internals a user must never read in an error.
var leaks = []string{"127.0.0.1", "http", "dial", "refused", "/api/", "sql", "panic", "nil pointer", "runtime", ".go"}

func wantNoLeak(t *testing.T, ui *UIError) {
	t.Helper()
	for _, l := range leaks {
		if strings.Contains(strings.ToLower(ui.Message), l) {
			t.Errorf("error message %q shows %q", ui.Message, l)
		}
	}
}

func TestAServerThatIsDownIsUnavailableAndTheTokenIsKept(t *testing.T) {
	w := startWorld(t)
	d := w.appOn(closedURL(t), "device-A", FileTokens{Dir: t.TempDir()}, true)
	if err := d.tokens.Save(d.server, "a-good-token"); err != nil {
		t.Fatal(err)
	}

	calls := map[string]func() error{
		"SignUp":            func() error { return d.SignUp(email, pw) },
		"SignIn":            func() error { _, err := d.SignIn(email, pw); return err },
		"Verify":            func() error { _, err := d.Verify("c", "123456"); return err },
		"Resend":            func() error { _, err := d.Resend("c"); return err },
		"Challenge":         func() error { _, err := d.Challenge("c"); return err },
		"RestoreSession":    func() error { _, err := d.RestoreSession(); return err },
		"Security":          func() error { _, err := d.Security(); return err },
		"SetTwoFactor":      func() error { return d.SetTwoFactor(true, pw) },
		"ForgetDevice":      func() error { return d.ForgetDevice(1) },
		"ForgetNetwork":     func() error { return d.ForgetNetwork(1) },
		"SignOutEverywhere": func() error { return d.SignOutEverywhere() },
		"ChangePassword":    func() error { return d.ChangePassword(pw, "a brand new passphrase") },
		"QAMessages":        func() error { _, err := d.QAMessages(); return err },
		"QAMessage":         func() error { _, err := d.QAMessage(1); return err },
		"QAClearInbox":      d.QAClearInbox,
		"QAClock":           func() error { _, err := d.QAClock(); return err },
		"QAAdvanceClock":    func() error { _, err := d.QAAdvanceClock("10m"); return err },
		"QAResetClock":      func() error { _, err := d.QAResetClock(); return err },
		"QAEvents":          func() error { _, err := d.QAEvents(email); return err },
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			wantNoLeak(t, wantCode(t, call(), api.CodeUnavailable))
		})
	}
	// An unreachable server says nothing about the token: the next launch tries it again.
	if d.saved(t) != "a-good-token" {
		t.Error("the token was dropped because the server was down")
	}
	if len(d.events.named(EventSessionExpired)) != 0 {
		t.Error("a down server was reported as an expired session")
	}
	// The detail goes to the log, for whoever reads it.
	if !strings.Contains(d.log.String(), "account server unreachable") {
		t.Errorf("log = %q, want the unreachable server recorded", d.log.String())
	}
}

func TestSignOutWithTheServerDownStillForgetsTheTokenHere(t *testing.T) {
	w := startWorld(t)
	d := w.appOn(closedURL(t), "device-A", FileTokens{Dir: t.TempDir()}, true)
	if err := d.tokens.Save(d.server, "a-good-token"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, d.SignOut(), api.CodeUnavailable)
	if d.saved(t) != "" {
		t.Error("the user asked to sign out, yet the token is still saved")
	}
}

func TestErrorsFromTheServerAreUIErrorsWithSafeMessages(t *testing.T) {
	w := startWorld(t)
	w.account(email, pw, true)
	d := w.device("device-A")
	res := must(d.SignIn(email, pw))(t)

	errs := map[string]error{}
	_, errs["wrong password"] = d.SignIn(email, "not the password")
	_, errs["bad email"] = d.SignIn("@", pw)
	_, errs["empty password"] = d.SignIn(email, "")
	_, errs["wrong code"] = d.Verify(res.ChallengeID, "999999x")
	_, errs["resend too soon"] = d.Resend(res.ChallengeID)
	_, errs["not signed in"] = d.Security()
	errs["forget while signed out"] = d.ForgetDevice(1)
	_, errs["no such message"] = d.QAMessage(424242)
	for name, err := range errs {
		t.Run(name, func(t *testing.T) {
			if err == nil {
				t.Fatal("no error")
			}
			ui := uiErr(t, err)
			if ui.Code == "" || ui.Message == "" || ui.Code == string(api.CodeInternal) {
				t.Fatalf("error = %+v, want a specific code and a message", ui)
			}
			if ui.Error() != ui.Code+": "+ui.Message {
				t.Errorf("Error() = %q", ui.Error())
			}
			wantNoLeak(t, ui)
		})
	}
}

func TestAPanicInABoundMethodBecomesAnInternalError(t *testing.T) {
	w := startWorld(t)
	// No token store: every use of it panics on a nil interface.
	logs := &syncBuffer{}
	a := New(Options{ServerURL: w.srv.URL(), DeviceID: "device-A", QA: true, Log: slog.New(slog.NewTextHandler(logs, nil))})

	_, err := a.RestoreSession()
	wantNoLeak(t, wantCode(t, err, api.CodeInternal))
	wantNoLeak(t, wantCode(t, a.SignOut(), api.CodeInternal))
	wantNoLeak(t, wantCode(t, a.QASimulateNewDevice(), api.CodeInternal))
	if !strings.Contains(logs.String(), "panic in bound method") {
		t.Errorf("log = %q, want the panic recorded", logs.String())
	}

	// The app keeps working after a panic.
	if err := a.SignUp(email, pw); err != nil {
		t.Fatalf("a call after the panics: %v", err)
	}
}

func TestErrorFormatterGivesTheWindowAUIErrorObject(t *testing.T) {
	left := 2
	ui := &UIError{Code: string(api.CodeInvalidCode), Message: "That code is not right.", AttemptsLeft: &left}
	if got := ErrorFormatter(ui); got != ui {
		t.Errorf("ErrorFormatter(UIError) = %#v, want the same object", got)
	}
	if got := ErrorFormatter(fmt.Errorf("verify: %w", ui)); got != ui {
		t.Errorf("ErrorFormatter(wrapped UIError) = %#v, want the UIError", got)
	}

	got, ok := ErrorFormatter(errors.New("sql: database is locked at 127.0.0.1")).(*UIError)
	if !ok || got.Code != string(api.CodeInternal) {
		t.Fatalf("ErrorFormatter(other) = %#v, want an internal UIError", got)
	}
	wantNoLeak(t, got)
	if strings.Contains(got.Message, "locked") {
		t.Errorf("the internal error shows its cause: %q", got.Message)
	}

	// The window reads the same JSON shape as the HTTP API's error object.
	b, err := json.Marshal(ErrorFormatter(ui))
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"code":"invalid_code","message":"That code is not right.","attempts_left":2}` {
		t.Errorf("JSON = %s", b)
	}
}

func TestToUIMapsEachKindOfFailureOnce(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	left := 3
	apiErr := &api.Error{Code: api.CodeRateLimited, Message: "Wait.", RetryAfter: 42, AttemptsLeft: &left, Field: "code"}
	already := &UIError{Code: "x", Message: "y"}
	cases := []struct {
		name string
		err  error
		want UIError
	}{
		{"an API error keeps its code and fields", fmt.Errorf("resend: %w", apiErr),
			UIError{Code: "rate_limited", Message: "Wait.", RetryAfter: 42, AttemptsLeft: &left, Field: "code"}},
		{"a UIError passes through", already, *already},
		{"a network failure is unavailable", &url.Error{Op: "Post", URL: "http://127.0.0.1:1/api/v1/signin", Err: errors.New("connection refused")},
			UIError{Code: "unavailable"}},
		{"a timeout is unavailable", fmt.Errorf("signin: %w", context.DeadlineExceeded), UIError{Code: "unavailable"}},
		{"anything else is internal", errors.New("decode answer: unexpected EOF"), UIError{Code: "internal"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := toUI(log, "op", c.err)
			if got.Code != c.want.Code || got.RetryAfter != c.want.RetryAfter || got.AttemptsLeft != c.want.AttemptsLeft || got.Field != c.want.Field {
				t.Errorf("toUI = %+v, want %+v", got, c.want)
			}
			if c.want.Message != "" && got.Message != c.want.Message {
				t.Errorf("message = %q, want %q", got.Message, c.want.Message)
			}
			wantNoLeak(t, got)
		})
	}
}
