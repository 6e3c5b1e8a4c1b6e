package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"shoplogin/backend/api"
	"shoplogin/backend/apiclient"
	"shoplogin/backend/clock"
	"shoplogin/backend/server"
	"shoplogin/backend/server/servertest"
)

// Networks the tests sign in from, through the trusted loopback proxy.
const (
	networkN  = "198.51.100.7"
	networkN2 = "203.0.113.9"
)

// epoch is where every test's clock starts.
var epoch = time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)

// world is one running server with a clock the test moves.
type world struct {
	t     *testing.T
	srv   *server.Server
	clock *clock.Fixed
	cfg   server.Config
}

// startWorld runs a real server (real SQLite files in a temp dir, real SMTP inbox on
// loopback) with QA on, a fixed clock, cheap password hashing and loopback as a trusted
// proxy so clients can choose their network.
func startWorld(t *testing.T, edit ...func(*server.Config)) *world {
	t.Helper()
	clk := clock.NewFixed(epoch)
	cfg := servertest.Config(t, clk)
	for _, e := range edit {
		e(&cfg)
	}
	w := &world{t: t, clock: clk, cfg: cfg}
	w.start()
	return w
}

func (w *world) start() {
	w.t.Helper()
	w.srv = servertest.Start(w.t, w.cfg)
}

// restart stops the server and starts it again on the same data folder and port.
func (w *world) restart() {
	w.t.Helper()
	addr := w.srv.URL()[len("http://"):]
	if err := w.srv.Close(); err != nil {
		w.t.Fatal(err)
	}
	w.cfg.Addr = addr
	w.start()
}

// client is a device on a network.
func (w *world) client(deviceID, network string) *apiclient.Client {
	c := apiclient.New(w.srv.URL(), deviceID)
	c.ForwardedFor = network
	return c
}

// account creates an account through the QA API.
func (w *world) account(email, pw string, twoFactor bool) {
	w.t.Helper()
	if err := w.client("setup", networkN).CreateAccount(context.Background(), email, pw, twoFactor); err != nil {
		w.t.Fatal(err)
	}
}

// code reads the newest code emailed to addr from the QA inbox.
func (w *world) code(to string) (string, int64) {
	w.t.Helper()
	code, id, err := w.client("qa", networkN).Code(context.Background(), to, 10*time.Second)
	if err != nil {
		w.t.Fatalf("no code for %s: %v", to, err)
	}
	return code, id
}

// apiCode returns the API error code of err, or "" when err is nil.
func apiCode(err error) api.Code {
	if err == nil {
		return ""
	}
	var e *api.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return "not an API error: " + api.Code(err.Error())
}

// must returns v, or fails the test with err: must(c.SignIn(...))(t).
func must[T any](v T, err error) func(*testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
