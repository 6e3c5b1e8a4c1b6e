package httpapi_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"shoplogin/backend/api"
	"shoplogin/backend/auth"
	"shoplogin/backend/clock"
	"shoplogin/backend/codes"
	"shoplogin/backend/httpapi"
	"shoplogin/backend/message"
	"shoplogin/backend/network"
	"shoplogin/backend/outbox"
	"shoplogin/backend/password"
	"shoplogin/backend/secret"
	"shoplogin/backend/store"
)

// endpoint is one route that reads a JSON body, and how its success answer looks.
type endpoint struct {
	method, path string
	authed       bool
	// success decodes a 2xx body strictly and checks what every success must say.
	success func(t *testing.T, body []byte)
}

// endpoints lists every route of the API and the QA API that takes a JSON body. A route
// added to httpapi.New with a body must be added here: TestEveryJSONEndpointAcceptsAValidBody
// shows the harness reaches each one's success answer.
var endpoints = []endpoint{
	{method: "POST", path: "/api/v1/signin", success: signInShape},
	{method: "POST", path: "/api/v1/signin/verify", success: signedInShape},
	{method: "POST", path: "/api/v1/signin/resend", success: func(t *testing.T, b []byte) {
		var r api.ResendResult
		strict(t, b, &r)
		if r.ExpiresAt.IsZero() || r.ResendAfter.IsZero() {
			t.Fatalf("resend answer without times: %s", b)
		}
	}},
	{method: "POST", path: "/api/v1/accounts", success: createdShape(true)},
	{method: "PUT", path: "/api/v1/account/security", authed: true, success: func(t *testing.T, b []byte) {
		var s api.Security
		strict(t, b, &s)
		if s.TwoFactor != api.TwoFactorEmail && s.TwoFactor != api.TwoFactorOff {
			t.Fatalf("security answer with two_factor %q: %s", s.TwoFactor, b)
		}
	}},
	{method: "PUT", path: "/api/v1/account/password", authed: true, success: signedInShape},
	{method: "POST", path: "/api/qa/clock", success: func(t *testing.T, b []byte) {
		var c struct {
			Now           time.Time `json:"now"`
			OffsetSeconds int64     `json:"offset_seconds"`
		}
		strict(t, b, &c)
		if c.Now.IsZero() {
			t.Fatalf("clock answer without now: %s", b)
		}
	}},
	{method: "POST", path: "/api/qa/accounts", success: createdShape(false)},
}

// strict decodes b into v, refusing unknown fields and trailing data: a success answer
// must be exactly the documented shape.
func strict(t *testing.T, b []byte, v any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("success answer is not the documented shape (%v): %s", err, b)
	}
	if dec.More() {
		t.Fatalf("data after the answer: %s", b)
	}
}

func signInShape(t *testing.T, b []byte) {
	t.Helper()
	var r api.SignInResult
	strict(t, b, &r)
	switch r.Status {
	case api.StatusSignedIn:
		checkSignedIn(t, r, b)
	case api.StatusCodeRequired:
		if r.ChallengeID == "" || r.Token != "" || r.Reason == "" || r.EmailHint == "" {
			t.Fatalf("code_required answer malformed: %s", b)
		}
	default:
		t.Fatalf("sign-in answer with status %q: %s", r.Status, b)
	}
}

func signedInShape(t *testing.T, b []byte) {
	t.Helper()
	var r api.SignInResult
	strict(t, b, &r)
	checkSignedIn(t, r, b)
}

func checkSignedIn(t *testing.T, r api.SignInResult, b []byte) {
	t.Helper()
	if r.Status != api.StatusSignedIn || r.Account == nil || r.ExpiresAt.IsZero() {
		t.Fatalf("signed_in answer malformed: %s", b)
	}
}

func createdShape(withMessage bool) func(t *testing.T, b []byte) {
	return func(t *testing.T, b []byte) {
		t.Helper()
		var r struct {
			Status  string `json:"status"`
			Message string `json:"message"`
		}
		strict(t, b, &r)
		if r.Status != "created" || (r.Message != "") != withMessage {
			t.Fatalf("created answer malformed: %s", b)
		}
	}
}

const (
	harnessPassword = "fuzzing harness passphrase 1"
	harnessDevice   = "fuzz-device"
	twoFactorEmail  = "two-factor@example.org"
)

// harness is a real handler over a real auth service and SQLite file, with QA on. It keeps
// a signed-in session for the authenticated routes and a pending challenge for the code
// routes, and puts the world back (clock, throttles, code caps) after each request so that
// one input does not change what the next one meets.
type harness struct {
	handler  http.Handler
	db       *store.DB
	svc      *auth.Service
	keys     secret.Keys
	qaClock  *clock.Adjustable
	token    string
	accounts int
	// challenge is pending, asked from challengeDevice: "$CHALLENGE" and "$DEVICE" in a
	// body stand for them.
	challenge, challengeDevice string
	devices                    int
}

func newHarness(tb testing.TB) *harness {
	ctx := context.Background()
	dir := tb.TempDir()
	db, err := store.Open(ctx, filepath.Join(dir, "shoplogin.db"), store.AccountMigrations())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	keys, err := secret.LoadOrCreate(dir)
	if err != nil {
		tb.Fatal(err)
	}
	qaClock := clock.NewAdjustable(clock.NewFixed(time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)))
	// Quiet: a fuzzer makes thousands of requests; failures say what they saw.
	log := slog.New(slog.DiscardHandler)
	svc := auth.New(auth.Deps{
		DB: db, Clock: qaClock, Random: rand.Reader, Hasher: password.NewHasher(password.TestParams(), nil),
		Keys: keys, Brand: message.DefaultBrand(), Log: log,
		// Mail is queued only; nothing delivers it, which is all these routes need.
		Mail: outbox.New(db, qaClock, keys.Outbox, nil, log, outbox.Options{}),
	}, auth.DefaultConfig())
	resolver, err := network.NewResolver(nil)
	if err != nil {
		tb.Fatal(err)
	}
	h := &harness{
		handler: httpapi.New(httpapi.Options{Auth: svc, Resolver: resolver, Log: log,
			QA: &httpapi.QA{Clock: qaClock}}),
		db: db, svc: svc, keys: keys, qaClock: qaClock,
	}
	h.newSession(tb)
	if err := svc.CreateAccount(ctx, twoFactorEmail, harnessPassword, true); err != nil {
		tb.Fatal(err)
	}
	h.newChallenge(tb)
	return h
}

// newSession makes a fresh account with 2FA off and signs it in, for the routes that need
// a token. A fuzzed body may legitimately end the old session (a password change).
func (h *harness) newSession(tb testing.TB) {
	tb.Helper()
	ctx := context.Background()
	h.accounts++
	email := "harness-" + strconv.Itoa(h.accounts) + "@example.org"
	if err := h.svc.CreateAccount(ctx, email, harnessPassword, false); err != nil {
		tb.Fatal(err)
	}
	res, err := h.svc.SignIn(ctx, api.SignInRequest{Email: email, Password: harnessPassword, DeviceID: harnessDevice}, "192.0.2.0/24")
	if err != nil || res.Token == "" {
		tb.Fatalf("harness sign-in: %+v, %v", res, err)
	}
	h.token = res.Token
}

// newChallenge starts a code sign-in of the 2FA account from a device never seen.
func (h *harness) newChallenge(tb testing.TB) {
	tb.Helper()
	h.devices++
	h.challengeDevice = "fuzz-2fa-device-" + strconv.Itoa(h.devices)
	res, err := h.svc.SignIn(context.Background(), api.SignInRequest{Email: twoFactorEmail, Password: harnessPassword,
		DeviceID: h.challengeDevice}, "192.0.2.0/24")
	if err != nil || res.Status != api.StatusCodeRequired {
		tb.Fatalf("pending challenge: %+v, %v", res, err)
	}
	h.challenge = res.ChallengeID
}

// body fills in the placeholders.
func (h *harness) body(b []byte) []byte {
	b = bytes.ReplaceAll(b, []byte("$CHALLENGE"), []byte(h.challenge))
	return bytes.ReplaceAll(b, []byte("$DEVICE"), []byte(h.challengeDevice))
}

// do sends one request straight to the handler.
func (h *harness) do(method, path string, body []byte, browser, authed bool) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if browser {
		// The website: the custom CSRF header, cookies instead of headers.
		req.Header.Set("X-Requested-With", "shoplogin")
		req.AddCookie(&http.Cookie{Name: "shoplogin_device", Value: strings.Repeat("b", 43)})
		if authed {
			req.AddCookie(&http.Cookie{Name: "shoplogin_session", Value: h.token})
		}
	} else {
		req.Header.Set("X-Device-ID", harnessDevice)
		if authed {
			req.Header.Set("Authorization", "Bearer "+h.token)
		}
	}
	rec := httptest.NewRecorder()
	h.handler.ServeHTTP(rec, req)
	return rec
}

// check asserts the contract every JSON answer keeps: no 5xx; JSON; either the error
// shape with a known code whose status is the one sent, or the route's success shape.
func check(t *testing.T, e endpoint, rec *httptest.ResponseRecorder) {
	t.Helper()
	body := rec.Body.Bytes()
	if rec.Code >= 500 {
		t.Fatalf("%s %s answered %d: %s", e.method, e.path, rec.Code, body)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("%s %s answered %d with Content-Type %q: %s", e.method, e.path, rec.Code, ct, body)
	}
	if rec.Code >= 300 {
		var eb struct {
			Error *api.Error `json:"error"`
		}
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&eb); err != nil || eb.Error == nil {
			t.Fatalf("%s %s answered %d without the error shape (%v): %s", e.method, e.path, rec.Code, err, body)
		}
		if eb.Error.Code == "" || eb.Error.Message == "" || eb.Error.Code.Status() != rec.Code {
			t.Fatalf("%s %s answered %d with error %+v", e.method, e.path, rec.Code, eb.Error)
		}
		if eb.Error.RetryAfter > 0 && rec.Header().Get("Retry-After") != strconv.Itoa(eb.Error.RetryAfter) {
			t.Fatalf("retry_after %d without the same Retry-After header", eb.Error.RetryAfter)
		}
		return
	}
	e.success(t, body)
}

// reset puts the world back after a request: the QA clock at its base, no throttles, no
// hourly code cap, and a pending challenge.
func (h *harness) reset(t *testing.T) {
	t.Helper()
	h.qaClock.Reset()
	for _, q := range []string{`DELETE FROM throttles`, `DELETE FROM code_issues`} {
		if _, err := h.db.Write.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	if ch, err := h.svc.Challenge(context.Background(), h.challenge); err != nil || ch.AttemptsLeft == 0 {
		h.newChallenge(t)
	}
}

// alive shows the handler still serves: the harness's session is answered (re-made if the
// request just ended it, as a password change does).
func (h *harness) alive(t *testing.T) {
	t.Helper()
	rec := h.do("GET", "/api/v1/session", nil, false, true)
	if rec.Code == http.StatusUnauthorized {
		h.newSession(t)
		rec = h.do("GET", "/api/v1/session", nil, false, true)
	}
	if rec.Code != http.StatusOK {
		t.Fatalf("the handler stopped serving sessions: %d %s", rec.Code, rec.Body)
	}
}

// FuzzJSONBodies posts arbitrary bodies to every route that reads JSON, as a desktop client
// or as a browser. Whatever the body, the answer is never a 5xx, it is the JSON error shape
// with a consistent status or the route's documented success shape, and the handler keeps
// serving. "$CHALLENGE" and "$DEVICE" in a body stand for a live challenge and the device
// that asked for it. Seeds are in testdata/fuzz/FuzzJSONBodies.
func FuzzJSONBodies(f *testing.F) {
	h := newHarness(f)
	f.Fuzz(func(t *testing.T, route uint8, browser bool, body []byte) {
		e := endpoints[int(route)%len(endpoints)]
		check(t, e, h.do(e.method, e.path, h.body(body), browser, e.authed))
		h.reset(t)
		h.alive(t)
	})
}

func TestEveryJSONEndpointAcceptsAValidBody(t *testing.T) {
	h := newHarness(t)
	cases := map[string]struct {
		body    string
		prepare func()
	}{
		"/api/v1/signin": {body: `{"email":"harness-1@example.org","password":"` + harnessPassword + `","device_id":"d","device_name":"n"}`},
		"/api/v1/signin/verify": {body: `{"challenge_id":"$CHALLENGE","code":"246810","device_id":"$DEVICE"}`, prepare: func() {
			// The code is random and emailed: give the challenge one the test knows, as if
			// read from the email.
			if _, err := h.db.Write.Exec(`UPDATE challenges SET code_mac = ? WHERE id = ?`,
				codes.MAC(h.keys.Code, h.challenge, "246810"), h.challenge); err != nil {
				t.Fatal(err)
			}
		}},
		"/api/v1/signin/resend": {body: `{"challenge_id":"$CHALLENGE"}`, prepare: func() {
			h.qaClock.Advance(2 * time.Minute) // past the cooldown
		}},
		"/api/v1/accounts":         {body: `{"email":"new@example.org","password":"a long enough passphrase"}`},
		"/api/v1/account/security": {body: `{"two_factor":"email","password":"` + harnessPassword + `"}`},
		"/api/v1/account/password": {body: `{"current_password":"` + harnessPassword + `","new_password":"another long passphrase"}`},
		"/api/qa/clock":            {body: `{"advance":"10m"}`},
		"/api/qa/accounts":         {body: `{"email":"qa@example.org","password":"a long enough passphrase","two_factor":true}`},
	}
	for _, e := range endpoints {
		t.Run(e.method+" "+e.path, func(t *testing.T) {
			c, ok := cases[e.path]
			if !ok {
				t.Fatal("no valid body for this route")
			}
			if c.prepare != nil {
				c.prepare()
			}
			rec := h.do(e.method, e.path, h.body([]byte(c.body)), false, e.authed)
			if rec.Code < 200 || rec.Code > 299 {
				t.Fatalf("valid body answered %d: %s", rec.Code, rec.Body)
			}
			check(t, e, rec)
			h.reset(t)
			h.alive(t)
		})
	}
}

// TestEveryJSONRouteIsFuzzed reads the handler's source: every route whose handler decodes
// a JSON body must be in endpoints, so a new route cannot escape FuzzJSONBodies.
func TestEveryJSONRouteIsFuzzed(t *testing.T) {
	fset := token.NewFileSet()
	pkgFiles, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	methods := map[string]*ast.FuncDecl{}
	var files []*ast.File
	for _, name := range pkgFiles {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
		for _, d := range f.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok {
				methods[fd.Name.Name] = fd
			}
		}
	}
	decodes := func(n ast.Node) bool {
		found := false
		ast.Inspect(n, func(n ast.Node) bool {
			if call, ok := n.(*ast.CallExpr); ok {
				if id, ok := call.Fun.(*ast.Ident); ok && id.Name == "decode" {
					found = true
				}
			}
			return !found
		})
		return found
	}
	// handlerDecodes follows a handler expression to its body: a literal, a method value
	// (h.signIn), or a wrapper call (h.authed(h.session), withInbox(func...)).
	var handlerDecodes func(e ast.Expr) bool
	handlerDecodes = func(e ast.Expr) bool {
		switch e := e.(type) {
		case *ast.FuncLit:
			return decodes(e.Body)
		case *ast.SelectorExpr:
			if fd, ok := methods[e.Sel.Name]; ok && fd.Body != nil {
				return decodes(fd.Body)
			}
		case *ast.CallExpr:
			for _, arg := range e.Args {
				if handlerDecodes(arg) {
					return true
				}
			}
		}
		return false
	}
	fuzzed := map[string]bool{}
	for _, e := range endpoints {
		fuzzed[e.method+" "+e.path] = true
	}
	routes := 0
	for _, f := range files {
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) != 2 {
				return true
			}
			if sel, ok := call.Fun.(*ast.SelectorExpr); !ok || sel.Sel.Name != "HandleFunc" {
				return true
			}
			lit, ok := call.Args[0].(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			pattern, _ := strconv.Unquote(lit.Value)
			routes++
			if handlerDecodes(call.Args[1]) && !fuzzed[pattern] {
				t.Errorf("route %q decodes a JSON body but is not in endpoints: FuzzJSONBodies does not cover it", pattern)
			}
			return true
		})
	}
	if routes < 20 {
		t.Fatalf("found only %d routes: the check no longer recognises them", routes)
	}
}
