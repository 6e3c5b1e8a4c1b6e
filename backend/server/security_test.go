package server_test

import (
	"bytes"
	"context"
	"database/sql"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"shoplogin/backend/api"
	"shoplogin/backend/password"
	"shoplogin/backend/server"
	"shoplogin/backend/store"
)

// After a full flow, neither the database nor its WAL holds a code, a token, a device id
// or a password in clear, nor the secret key; password hashes are strong argon2id.
func TestTheDatabaseHoldsNoSecrets(t *testing.T) {
	ctx := context.Background()
	w := startWorld(t, func(c *server.Config) { c.Password = password.DefaultParams() })
	w.account(email, pw, true)
	const device = "device-id-3f9c2e77"
	d := w.client(device, networkN)
	res := must(d.SignIn(ctx, email, pw, "laptop"))(t)
	code, _ := w.code(email)
	signed := must(d.Verify(ctx, res.ChallengeID, code))(t)
	// A second code, still pending, must not be readable either.
	must(w.client("device-2", networkN2).SignIn(ctx, email, pw, "other"))(t)
	pending, _ := w.code(email)

	dataDir := w.cfg.DataDir
	key, err := os.ReadFile(filepath.Join(dataDir, "secret.key"))
	if err != nil {
		t.Fatal(err)
	}
	secrets := map[string][]byte{
		"code": []byte(code), "pending code": []byte(pending), "token": []byte(signed.Token),
		"device id": []byte(device), "password": []byte(pw), "secret key": key,
	}
	for _, name := range []string{"shoplogin.db", "shoplogin.db-wal"} {
		raw, err := os.ReadFile(filepath.Join(dataDir, name))
		if err != nil {
			continue
		}
		for what, s := range secrets {
			if bytes.Contains(raw, s) {
				t.Errorf("%s holds the %s in clear", name, what)
			}
		}
	}

	db, err := store.Open(ctx, filepath.Join(dataDir, "shoplogin.db"), store.AccountMigrations())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var phc string
	if err := db.Read.QueryRow(`SELECT password_hash FROM accounts`).Scan(&phc); err != nil {
		t.Fatal(err)
	}
	params, salt, sum, err := password.ParsePHC(phc)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(phc, "$argon2id$v=19$") || params.Memory < 19456 || params.Time < 2 || len(salt) < 16 || len(sum) < 32 {
		t.Errorf("weak password hash %s", phc)
	}
	assertNoTextColumnHolds(t, db.Read, secrets)
}

// assertNoTextColumnHolds decodes every column of every table and looks for the secrets,
// so a value stored hex- or otherwise re-encoded in a text column is caught too.
func assertNoTextColumnHolds(t *testing.T, db *sql.DB, secrets map[string][]byte) {
	t.Helper()
	rows, err := db.Query(`SELECT name FROM sqlite_schema WHERE type = 'table'`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		rows.Scan(&n)
		tables = append(tables, n)
	}
	rows.Close()
	for _, table := range tables {
		rows, err := db.Query(`SELECT * FROM "` + table + `"`)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			rows.Scan(ptrs...)
			for i, v := range vals {
				var b []byte
				switch v := v.(type) {
				case string:
					b = []byte(v)
				case []byte:
					b = v
				}
				for what, s := range secrets {
					if bytes.Contains(bytes.ToLower(b), bytes.ToLower(s)) {
						t.Errorf("%s.%s holds the %s", table, cols[i], what)
					}
				}
			}
		}
		rows.Close()
	}
}

// post sends a raw body and returns status and body.
func post(t *testing.T, url, contentType, body string, header ...string) (int, []byte, http.Header) {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b, resp.Header
}

func TestAnUnknownEmailLooksExactlyLikeAWrongPassword(t *testing.T) {
	w := startWorld(t)
	w.account(email, pw, true)
	url := w.srv.URL() + "/api/v1/signin"
	s1, b1, _ := post(t, url, "application/json", `{"email":"nobody@example.org","password":"wrong password","device_id":"d"}`)
	s2, b2, _ := post(t, url, "application/json", `{"email":"`+email+`","password":"wrong password","device_id":"d"}`)
	if s1 != http.StatusUnauthorized || s1 != s2 || !bytes.Equal(b1, b2) {
		t.Fatalf("unknown email: %d %s\nwrong password: %d %s", s1, b1, s2, b2)
	}
}

func TestFailedSignInsAreThrottledWithRetryAfter(t *testing.T) {
	w := startWorld(t)
	w.account(email, pw, false)
	url := w.srv.URL() + "/api/v1/signin"
	body := `{"email":"` + email + `","password":"wrong password","device_id":"d"}`
	var status int
	var b []byte
	var hdr http.Header
	for range 7 {
		status, b, hdr = post(t, url, "application/json", body, "X-Forwarded-For", networkN)
	}
	if status != http.StatusTooManyRequests || hdr.Get("Retry-After") == "" || !bytes.Contains(b, []byte(`"retry_after":`)) {
		t.Fatalf("7th failure: %d %s (Retry-After %q), want 429 with retry_after", status, b, hdr.Get("Retry-After"))
	}
	// Even the right password waits: the throttle is checked before the password.
	if _, err := w.client("d", networkN).SignIn(context.Background(), email, pw, "d"); apiCode(err) != api.CodeRateLimited {
		t.Fatalf("right password while throttled: %v, want rate_limited", err)
	}
	// An unknown address is throttled the same way, so throttling reveals nothing.
	other := `{"email":"nobody@example.org","password":"wrong password","device_id":"d"}`
	for range 7 {
		status, _, _ = post(t, url, "application/json", other, "X-Forwarded-For", "192.0.2.1")
	}
	if status != http.StatusTooManyRequests {
		t.Fatalf("unknown address after 7 failures: %d, want 429", status)
	}
}

func TestBadInputGetsAClearErrorAndTheServerKeepsServing(t *testing.T) {
	w := startWorld(t)
	w.account(email, pw, true)
	url := w.srv.URL() + "/api/v1/signin"
	cases := []struct {
		name, contentType, body string
		status                  int
		code                    api.Code
	}{
		{"not JSON", "application/json", `email=ann`, 400, api.CodeInvalidJSON},
		{"not declared JSON", "text/plain", `{}`, 415, api.CodeUnsupportedMedia},
		{"empty body", "application/json", ``, 400, api.CodeInvalidJSON},
		{"array", "application/json", `[]`, 400, api.CodeInvalidRequest},
		{"two objects", "application/json", `{"email":"a@b.c"} {}`, 400, api.CodeInvalidJSON},
		{"10 MB body", "application/json", `{"email":"` + strings.Repeat("a", 10<<20) + `"}`, 413, api.CodeBodyTooLarge},
		{"wrong type", "application/json", `{"email":42,"password":"x","device_id":"d"}`, 400, api.CodeInvalidRequest},
		{"unknown field", "application/json", `{"email":"` + email + `","password":"x","device_id":"d","admin":true}`, 400, api.CodeInvalidRequest},
		{"missing email", "application/json", `{"password":"x","device_id":"d"}`, 400, api.CodeInvalidRequest},
		{"missing password", "application/json", `{"email":"` + email + `","device_id":"d"}`, 400, api.CodeInvalidRequest},
		{"missing device", "application/json", `{"email":"` + email + `","password":"x"}`, 400, api.CodeInvalidRequest},
		{"5000-byte password", "application/json", `{"email":"` + email + `","password":"` + strings.Repeat("p", 5000) + `","device_id":"d"}`, 400, api.CodeInvalidRequest},
		{"CR/LF in email", "application/json", `{"email":"ann@example.org\r\nBcc: x@evil.example","password":"x","device_id":"d"}`, 400, api.CodeInvalidEmail},
		{"odd Unicode email", "application/json", `{"email":"ann\u202e@example.org","password":"x","device_id":"d"}`, 400, api.CodeInvalidEmail},
		{"invalid UTF-8", "application/json", "{\"email\":\"ann\xff@example.org\",\"password\":\"x\",\"device_id\":\"d\"}", 400, api.CodeInvalidEmail},
		{"control char in device id", "application/json", `{"email":"` + email + `","password":"x","device_id":"d\u0000"}`, 400, api.CodeInvalidRequest},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, body, _ := post(t, url, c.contentType, c.body)
			var got struct {
				Error api.Error `json:"error"`
			}
			if err := jsonUnmarshal(body, &got); err != nil {
				t.Fatalf("answer is not the JSON error shape: %s", body)
			}
			if status != c.status || got.Error.Code != c.code || got.Error.Message == "" {
				t.Fatalf("got %d %s, want %d %s with a message", status, body, c.status, c.code)
			}
		})
	}
	// Still serving, and nothing was lost: the account signs in.
	if _, err := w.client("d", networkN).SignIn(context.Background(), email, pw, "d"); err != nil {
		t.Fatalf("after bad input: %v", err)
	}
}

func TestTheQAAPIIsNotThereWithoutQA(t *testing.T) {
	w := startWorld(t, func(c *server.Config) { c.QA = false })
	for _, path := range []string{"/api/qa/messages", "/api/qa/clock", "/api/qa/events", "/api/qa/code?to=a@b.c"} {
		resp, err := http.Get(w.srv.URL() + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s without --qa: %d, want 404", path, resp.StatusCode)
		}
	}
	status, _, _ := post(t, w.srv.URL()+"/api/qa/clock", "application/json", `{"advance":"720h"}`)
	if status != http.StatusNotFound {
		t.Errorf("POST /api/qa/clock without --qa: %d, want 404", status)
	}
}

func TestQARefusesANonLoopbackAddressUnlessTold(t *testing.T) {
	_, err := server.Start(context.Background(), server.Config{Addr: "0.0.0.0:0", DataDir: t.TempDir(), QA: true})
	if err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Fatalf("--qa on 0.0.0.0: %v, want a refusal naming loopback", err)
	}
}

// lockedBuffer collects log output from the server's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Every auth event is logged, and no log line holds a password, code or token.
func TestLogsRecordEveryAuthEventButNoSecret(t *testing.T) {
	ctx := context.Background()
	var logs lockedBuffer
	w := startWorld(t, func(c *server.Config) {
		c.Log = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	w.account(email, pw, true)
	d := w.client("device-secret-id", networkN)
	d.SignIn(ctx, email, "wrong password 1", "dev")
	res := must(d.SignIn(ctx, email, pw, "dev"))(t)
	code, _ := w.code(email)
	d.Verify(ctx, res.ChallengeID, wrong(code))
	signed := must(d.Verify(ctx, res.ChallengeID, code))(t)
	must(d.SetTwoFactor(ctx, false, pw))(t)
	if err := d.ChangePassword(ctx, pw, "a brand new passphrase"); err != nil {
		t.Fatal(err)
	}
	newToken := d.Token
	d.SignOut(ctx)

	out := logs.String()
	for _, event := range []string{"signin_failed", "code_sent", "code_refused", "code_verified", "signin_succeeded",
		"two_factor_off", "password_changed", "signed_out"} {
		if !strings.Contains(out, `"event":"`+event+`"`) {
			t.Errorf("no %s event in the log", event)
		}
	}
	for what, secret := range map[string]string{"password": pw, "wrong password": "wrong password 1", "new password": "a brand new passphrase",
		"code": code, "token": signed.Token, "new token": newToken, "device id": "device-secret-id"} {
		if strings.Contains(out, secret) {
			t.Errorf("the log holds the %s", what)
		}
	}
}
