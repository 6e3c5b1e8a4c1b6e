// Package app is the desktop client: the methods the Wails window calls, the device
// identity and the saved token. It holds no business rules; it asks the account server.
package app

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"os"
	"sync"
	"time"

	"shoplogin/backend/api"
	"shoplogin/backend/apiclient"
	"shoplogin/backend/audit"
	"shoplogin/backend/inbox"
)

// Emitter pushes an event to the window. Wails' runtime.EventsEmit needs the context
// Wails made (any other calls log.Fatalf), so the App gets the emitter from outside.
type Emitter func(name string, data ...any)

// Events pushed to the window.
const (
	EventSessionExpired = "session:expired"
	EventMailReceived   = "mail:received"
)

// App is bound to the window (window.go.app.App). Its methods are safe for concurrent
// use: Wails runs every call on its own goroutine.
type App struct {
	log    *slog.Logger
	tokens TokenStore
	qa     bool
	server string
	// launched is when Run began, so ScreenShown's since_launch and "window ready" agree.
	launched time.Time

	// tokenMu orders token changes: memory and the token store are updated as one step,
	// so a sign-out racing a sign-in cannot leave them disagreeing. It is separate from
	// mu because a keyring write can take a while and calls in flight must not wait.
	tokenMu sync.Mutex

	mu       sync.Mutex
	client   *apiclient.Client
	deviceID string
	emit     Emitter
}

// Options configure an App.
type Options struct {
	ServerURL string     // the account server
	DeviceID  string     // this machine's id (DeviceID())
	Tokens    TokenStore // where the monthly token is kept
	QA        bool       // QA methods work only with this on
	Log       *slog.Logger
}

// New returns an App talking to the server at o.ServerURL.
func New(o Options) *App {
	if o.Log == nil {
		o.Log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	return &App{
		log: o.Log, tokens: o.Tokens, qa: o.QA, server: o.ServerURL,
		client: apiclient.New(o.ServerURL, o.DeviceID), deviceID: o.DeviceID,
		emit: func(string, ...any) {},
	}
}

// SetEmitter sets where events go; main wires it to Wails' runtime on startup.
func (a *App) SetEmitter(e Emitter) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.emit = e
}

func (a *App) emitEvent(name string, data ...any) {
	a.mu.Lock()
	e := a.emit
	a.mu.Unlock()
	e(name, data...)
}

// snapshot returns a copy of the client, so a call in flight is not disturbed by a
// sign-in or a simulated device changing the shared one.
func (a *App) snapshot() *apiclient.Client {
	a.mu.Lock()
	defer a.mu.Unlock()
	c := *a.client
	return &c
}

func (a *App) setToken(token string) {
	a.tokenMu.Lock()
	defer a.tokenMu.Unlock()
	a.mu.Lock()
	a.client.Token = token
	a.mu.Unlock()
	var err error
	if token == "" {
		err = a.tokens.Clear(a.server)
	} else {
		err = a.tokens.Save(a.server, token)
	}
	if err != nil {
		// Signed in for this run all the same; the next launch asks again.
		a.log.Warn("could not save the login token", slog.String("error", err.Error()))
	}
}

// signedOut reacts to a refused token: forget it and tell the window.
func (a *App) signedOut(err error) {
	switch api.CodeOf(err) {
	case api.CodeInvalidToken, api.CodeTokenExpired:
		a.setToken("")
		a.emitEvent(EventSessionExpired, string(api.CodeOf(err)))
	}
}

func ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 30*time.Second)
}

// SignUp creates an account.
func (a *App) SignUp(email, password string) (err error) {
	defer a.guard("signup", &err)
	c, cancel := ctx()
	defer cancel()
	return a.snapshot().SignUp(c, email, password)
}

// SignIn signs in with email and password; the answer says whether a code is needed.
func (a *App) SignIn(email, password string) (res api.SignInResult, err error) {
	defer a.guard("signin", &err)
	c, cancel := ctx()
	defer cancel()
	res, err = a.snapshot().SignIn(c, email, password, deviceName())
	if err == nil && res.Status == api.StatusSignedIn {
		a.setToken(res.Token)
	}
	return withoutToken(res), err
}

// Verify submits the emailed code.
func (a *App) Verify(challengeID, code string) (res api.SignInResult, err error) {
	defer a.guard("verify", &err)
	c, cancel := ctx()
	defer cancel()
	res, err = a.snapshot().Verify(c, challengeID, code)
	if err == nil && res.Status == api.StatusSignedIn {
		a.setToken(res.Token)
	}
	return withoutToken(res), err
}

// withoutToken keeps the token on the Go side: the page has no use for it, and a script
// in the webview should not be able to read it.
func withoutToken(res api.SignInResult) api.SignInResult {
	res.Token = ""
	return res
}

// Resend asks for a new code.
func (a *App) Resend(challengeID string) (res api.ResendResult, err error) {
	defer a.guard("resend", &err)
	c, cancel := ctx()
	defer cancel()
	return a.snapshot().Resend(c, challengeID)
}

// Challenge reads a pending sign-in's state (delivery, attempts left).
func (a *App) Challenge(challengeID string) (res api.Challenge, err error) {
	defer a.guard("challenge", &err)
	c, cancel := ctx()
	defer cancel()
	return a.snapshot().Challenge(c, challengeID)
}

// RestoreSession signs in with the saved token, if it is still good. nil means "show
// the sign-in screen" (no token, or it expired or was revoked).
func (a *App) RestoreSession() (s *api.Session, err error) {
	defer a.guard("restore", &err)
	saved, lerr := a.tokens.Load(a.server)
	if lerr != nil {
		a.log.Warn("could not read the saved token", slog.String("error", lerr.Error()))
	}
	if saved == "" {
		return nil, nil
	}
	a.mu.Lock()
	a.client.Token = saved
	a.mu.Unlock()
	c, cancel := ctx()
	defer cancel()
	sess, err := a.snapshot().Session(c)
	if err == nil {
		return &sess, nil
	}
	// api.CodeOf(nil) is CodeInternal, not "": success must be tested on err itself.
	switch api.CodeOf(err) {
	case api.CodeInvalidToken, api.CodeTokenExpired:
		a.setToken("")
		return nil, nil
	}
	return nil, err
}

// SignOut ends this device's session.
func (a *App) SignOut() (err error) {
	defer a.guard("signout", &err)
	c, cancel := ctx()
	defer cancel()
	err = a.snapshot().SignOut(c)
	a.setToken("")
	if api.CodeOf(err) == api.CodeInvalidToken || api.CodeOf(err) == api.CodeTokenExpired {
		return nil
	}
	return err
}

// Security reads Account Security.
func (a *App) Security() (s api.Security, err error) {
	defer a.guard("security", &err)
	c, cancel := ctx()
	defer cancel()
	s, err = a.snapshot().Security(c)
	a.signedOut(err)
	return s, err
}

// SetTwoFactor turns email codes on or off; the password confirms it is the owner.
func (a *App) SetTwoFactor(on bool, password string) (err error) {
	defer a.guard("two-factor", &err)
	c, cancel := ctx()
	defer cancel()
	_, err = a.snapshot().SetTwoFactor(c, on, password)
	a.signedOut(err)
	return err
}

// ForgetDevice removes a device from the account.
func (a *App) ForgetDevice(id int64) (err error) {
	defer a.guard("forget-device", &err)
	c, cancel := ctx()
	defer cancel()
	err = a.snapshot().ForgetDevice(c, id)
	a.signedOut(err)
	return err
}

// ForgetNetwork removes a network from the account.
func (a *App) ForgetNetwork(id int64) (err error) {
	defer a.guard("forget-network", &err)
	c, cancel := ctx()
	defer cancel()
	err = a.snapshot().ForgetNetwork(c, id)
	a.signedOut(err)
	return err
}

// SignOutEverywhere ends every session of the account, this one included.
func (a *App) SignOutEverywhere() (err error) {
	defer a.guard("signout-all", &err)
	c, cancel := ctx()
	defer cancel()
	err = a.snapshot().SignOutEverywhere(c)
	if err == nil {
		a.setToken("")
	}
	a.signedOut(err)
	return err
}

// ChangePassword changes the password. Every other session ends; this one continues
// with a fresh token.
func (a *App) ChangePassword(current, next string) (err error) {
	defer a.guard("change-password", &err)
	c, cancel := ctx()
	defer cancel()
	cl := a.snapshot()
	if err = cl.ChangePassword(c, current, next); err == nil {
		a.setToken(cl.Token)
	}
	a.signedOut(err)
	return err
}

func deviceName() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		return "Desktop app"
	}
	return "Desktop app on " + host
}

// errNoQA answers QA calls in a window started without --qa.
func errNoQA() error {
	return &UIError{Code: string(api.CodeNotFound), Message: "The QA panel is off. Start shoplogin with --qa."}
}

// QAEnabled tells the window whether to show the QA panel.
func (a *App) QAEnabled() bool { return a.qa }

// QAMessages lists the QA inbox, newest first.
func (a *App) QAMessages() (list []inbox.Summary, err error) {
	defer a.guard("qa-messages", &err)
	if !a.qa {
		return nil, errNoQA()
	}
	c, cancel := ctx()
	defer cancel()
	return a.snapshot().Messages(c, "")
}

// QAMessage reads one message of the QA inbox.
func (a *App) QAMessage(id int64) (m inbox.Message, err error) {
	defer a.guard("qa-message", &err)
	if !a.qa {
		return m, errNoQA()
	}
	c, cancel := ctx()
	defer cancel()
	return a.snapshot().Message(c, id)
}

// QAClearInbox deletes every message of the QA inbox.
func (a *App) QAClearInbox() (err error) {
	defer a.guard("qa-clear", &err)
	if !a.qa {
		return errNoQA()
	}
	c, cancel := ctx()
	defer cancel()
	return a.snapshot().ClearInbox(c)
}

// QAClock reads the server's clock.
func (a *App) QAClock() (s apiclient.ClockState, err error) {
	defer a.guard("qa-clock", &err)
	if !a.qa {
		return s, errNoQA()
	}
	c, cancel := ctx()
	defer cancel()
	return a.snapshot().Clock(c)
}

// QAAdvanceClock moves the server's clock forward ("10m", "720h").
func (a *App) QAAdvanceClock(duration string) (s apiclient.ClockState, err error) {
	defer a.guard("qa-advance", &err)
	if !a.qa {
		return s, errNoQA()
	}
	d, perr := time.ParseDuration(duration)
	if perr != nil || d <= 0 {
		return s, &UIError{Code: string(api.CodeInvalidRequest), Message: `Give a positive duration like "10m" or "720h".`}
	}
	c, cancel := ctx()
	defer cancel()
	return a.snapshot().AdvanceClock(c, d)
}

// QAResetClock brings the server's clock back to real time.
func (a *App) QAResetClock() (s apiclient.ClockState, err error) {
	defer a.guard("qa-reset", &err)
	if !a.qa {
		return s, errNoQA()
	}
	c, cancel := ctx()
	defer cancel()
	return a.snapshot().ResetClock(c)
}

// QASimulateNewDevice makes this app a device the server has never seen, until restart.
// The token belongs to the old device, so the app is signed out.
func (a *App) QASimulateNewDevice() (err error) {
	defer a.guard("qa-new-device", &err)
	if !a.qa {
		return errNoQA()
	}
	id, err := randomHex(16)
	if err != nil {
		return err
	}
	a.mu.Lock()
	a.client.DeviceID = "simulated-" + id
	a.mu.Unlock()
	a.setToken("")
	a.emitEvent(EventSessionExpired, "new_device")
	return nil
}

// QASimulateNewNetwork makes the app's requests come from a fresh network (a random
// /24 in 198.18.0.0/15, the benchmarking range), through the embedded server's trust in
// loopback as a proxy.
func (a *App) QASimulateNewNetwork() (err error) {
	defer a.guard("qa-new-network", &err)
	if !a.qa {
		return errNoQA()
	}
	n, err := rand.Int(rand.Reader, big.NewInt(512))
	if err != nil {
		return err
	}
	third, err := rand.Int(rand.Reader, big.NewInt(254))
	if err != nil {
		return err
	}
	addr := fmt.Sprintf("198.%d.%d.%d", 18+n.Int64()/256, n.Int64()%256, third.Int64()+1)
	a.mu.Lock()
	a.client.ForwardedFor = addr
	a.mu.Unlock()
	return nil
}

// QAEvents reads the audit log for an email, newest first.
func (a *App) QAEvents(email string) (ev []audit.Event, err error) {
	defer a.guard("qa-events", &err)
	if !a.qa {
		return nil, errNoQA()
	}
	c, cancel := ctx()
	defer cancel()
	return a.snapshot().Events(c, email)
}

func randomHex(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", errors.New("no randomness")
	}
	return fmt.Sprintf("%x", b), nil
}
