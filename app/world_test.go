package app

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"shoplogin/backend/api"
	"shoplogin/backend/apiclient"
	"shoplogin/backend/clock"
	"shoplogin/backend/server"
	"shoplogin/backend/server/servertest"
)

const (
	email = "ann@example.org"
	pw    = "correct horse battery"
)

// epoch is where every test's server clock starts.
var epoch = time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)

// world is one real account server (SQLite files in a temp dir, the SMTP QA inbox on
// loopback) with QA on, a fixed base clock and loopback trusted as a proxy, so that the
// app's "new network" works as it does in the window.
type world struct {
	t   *testing.T
	srv *server.Server
	// qa is the test's own client of the QA API: it creates accounts and waits for mail,
	// which the app itself has no method for.
	qa *apiclient.Client
}

func startWorld(t *testing.T) *world {
	t.Helper()
	// Nothing here should read the user's config; if something does, it reads a temp dir.
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	srv := servertest.Start(t, servertest.Config(t, clock.NewFixed(epoch)))
	return &world{t: t, srv: srv, qa: apiclient.New(srv.URL(), "qa-script")}
}

// device is one desktop app: an App with its own device id, token folder, events and log.
type device struct {
	*App
	id     string
	tokens FileTokens
	events *recorder
	log    *syncBuffer
}

// device starts an app on a fresh device with an empty token store.
func (w *world) device(id string) *device {
	w.t.Helper()
	return w.appOn(w.srv.URL(), id, FileTokens{Dir: filepath.Join(w.t.TempDir(), "tokens")}, true)
}

// restart is the same machine launching the app again: same device id, same token store.
func (w *world) restart(d *device) *device {
	w.t.Helper()
	return w.appOn(w.srv.URL(), d.id, d.tokens, true)
}

func (w *world) appOn(serverURL, id string, tokens FileTokens, qa bool) *device {
	d := &device{id: id, tokens: tokens, events: newRecorder(), log: &syncBuffer{}}
	d.App = New(Options{ServerURL: serverURL, DeviceID: id, Tokens: tokens, QA: qa,
		Log: slog.New(slog.NewTextHandler(d.log, nil))})
	d.SetEmitter(d.events.emit)
	return d
}

// saved is the token the app kept for the next launch, "" if none.
func (d *device) saved(t *testing.T) string {
	t.Helper()
	tok, err := d.tokens.Load(d.server)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// account creates an account through the QA API.
func (w *world) account(addr, password string, twoFactor bool) {
	w.t.Helper()
	if err := w.qa.CreateAccount(context.Background(), addr, password, twoFactor); err != nil {
		w.t.Fatal(err)
	}
}

var subjectCode = regexp.MustCompile(`\( (\d{6}) \)`)

// code waits for the code emailed to addr (the QA code endpoint waits on the server, so
// the test never sleeps), reads that email through the app's QA inbox, and empties the
// inbox so the next code cannot be confused with this one.
func (w *world) code(d *device, addr string) string {
	w.t.Helper()
	code, id, err := w.qa.Code(context.Background(), addr, 10*time.Second)
	if err != nil {
		w.t.Fatalf("no code emailed to %s: %v", addr, err)
	}
	list := must(d.QAMessages())(w.t)
	if len(list) == 0 || list[0].ID != id {
		w.t.Fatalf("QAMessages = %+v, want message %d first", list, id)
	}
	msg := must(d.QAMessage(id))(w.t)
	want := "Image Line Account | Two Factor Authentication code ( " + code + " ) [Action Required]"
	if msg.Subject != want || !strings.Contains(msg.Text, code) {
		w.t.Fatalf("code email: subject %q, want %q, with the code in its text", msg.Subject, want)
	}
	if m := subjectCode.FindStringSubmatch(list[0].Subject); m == nil || m[1] != code {
		w.t.Fatalf("listed subject %q does not carry code %s", list[0].Subject, code)
	}
	if err := d.QAClearInbox(); err != nil {
		w.t.Fatal(err)
	}
	return code
}

// signIn signs d in with the account's password, entering the emailed code if asked.
func (w *world) signIn(d *device, addr, password string) api.SignInResult {
	w.t.Helper()
	res := must(d.SignIn(addr, password))(w.t)
	if res.Status == api.StatusCodeRequired {
		res = must(d.Verify(res.ChallengeID, w.code(d, addr)))(w.t)
	}
	if res.Status != api.StatusSignedIn || d.saved(w.t) == "" {
		w.t.Fatalf("sign-in = %+v, want signed_in with a saved token", res)
	}
	return res
}

// closedURL is the address of a server that is not running.
func closedURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

// recorder is an Emitter that keeps what it was given.
type recorder struct {
	mu     sync.Mutex
	events []event
	ch     chan event
}

type event struct {
	name string
	data []any
}

func newRecorder() *recorder { return &recorder{ch: make(chan event, 100)} }

func (r *recorder) emit(name string, data ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := event{name, data}
	r.events = append(r.events, e)
	select {
	case r.ch <- e:
	default:
	}
}

// named returns the events called name, in order.
func (r *recorder) named(name string) []event {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []event
	for _, e := range r.events {
		if e.name == name {
			out = append(out, e)
		}
	}
	return out
}

// syncBuffer is a log destination safe for the concurrent bound calls.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

var _ io.Writer = (*syncBuffer)(nil)

// uiErr returns err as a *UIError, failing the test if it is anything else.
func uiErr(t *testing.T, err error) *UIError {
	t.Helper()
	var ui *UIError
	if !errors.As(err, &ui) {
		t.Fatalf("error %v (%T) is not a *UIError", err, err)
	}
	if _, isPtr := err.(*UIError); !isPtr {
		t.Fatalf("error %T wraps a UIError instead of being one", err)
	}
	return ui
}

// wantCode fails the test unless err is a *UIError with that code.
func wantCode(t *testing.T, err error, code api.Code) *UIError {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %s", code)
	}
	ui := uiErr(t, err)
	if ui.Code != string(code) {
		t.Fatalf("error %v, want code %s", ui, code)
	}
	if ui.Message == "" {
		t.Fatalf("error %s has no message", ui.Code)
	}
	return ui
}

// must returns v, or fails the test with err: must(a.SignIn(...))(t).
func must[T any](v T, err error) func(*testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// notifyingTransport tells ch each time a request has been answered.
type notifyingTransport struct{ ch chan<- struct{} }

func (n notifyingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	select {
	case n.ch <- struct{}{}:
	default:
	}
	return resp, err
}

// waitFor waits for a signal on ch, failing the test after ten seconds.
func waitFor(t *testing.T, ch <-chan struct{}) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatal("timed out")
	}
}
