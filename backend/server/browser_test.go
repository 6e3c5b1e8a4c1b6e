package server_test

import (
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"shoplogin/backend/api"
	"shoplogin/backend/server"
)

// browser is a cookie-keeping HTTP client that behaves like the website's pages.
type browser struct {
	t    *testing.T
	base string
	http *http.Client
}

func newBrowser(t *testing.T, base string) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: base, http: &http.Client{Jar: jar, Timeout: 10 * time.Second}}
}

// do sends a JSON request with the pages' headers (plus extra ones) and returns the answer.
func (b *browser) do(method, path, body string, extra ...string) (*http.Response, map[string]any) {
	b.t.Helper()
	req, _ := http.NewRequest(method, b.base+path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("X-Requested-With", "shoplogin")
	req.Header.Set("Origin", b.base)
	for i := 0; i+1 < len(extra); i += 2 {
		if extra[i+1] == "" {
			req.Header.Del(extra[i])
		} else {
			req.Header.Set(extra[i], extra[i+1])
		}
	}
	resp, err := b.http.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp, out
}

func cookie(resp *http.Response, name string) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func TestABrowserSignsInWithHttpOnlyCookiesAndNeverSeesTheToken(t *testing.T) {
	w := startWorld(t)
	w.account(email, pw, false)
	b := newBrowser(t, w.srv.URL())
	resp, body := b.do("POST", "/api/v1/signin", `{"email":"`+email+`","password":"`+pw+`","device_name":"Chrome on Linux"}`)
	if resp.StatusCode != 200 || body["status"] != api.StatusSignedIn {
		t.Fatalf("browser sign-in: %d %v", resp.StatusCode, body)
	}
	if _, ok := body["token"]; ok {
		t.Error("the token is in the body a page script can read")
	}
	device, session := cookie(resp, "shoplogin_device"), cookie(resp, "shoplogin_session")
	if device == nil || !device.HttpOnly || device.SameSite != http.SameSiteLaxMode || device.MaxAge < 300*24*3600 {
		t.Errorf("device cookie %+v, want HttpOnly, SameSite=Lax, long-lived", device)
	}
	if session == nil || !session.HttpOnly || session.SameSite != http.SameSiteLaxMode ||
		!session.Expires.Truncate(time.Second).Equal(epoch.Add(30*24*time.Hour)) {
		t.Errorf("session cookie %+v, want HttpOnly, SameSite=Lax, expiring with the token", session)
	}
	if resp, body := b.do("GET", "/api/v1/session", ""); resp.StatusCode != 200 {
		t.Fatalf("session from cookies: %d %v", resp.StatusCode, body)
	}
	// Sign-out clears the cookie and ends the token.
	if resp, _ := b.do("POST", "/api/v1/signout", `{}`); resp.StatusCode != 204 {
		t.Fatalf("sign-out: %d", resp.StatusCode)
	}
	if resp, _ := b.do("GET", "/api/v1/session", ""); resp.StatusCode != 401 {
		t.Fatalf("session after sign-out: %d", resp.StatusCode)
	}
}

func TestCrossSiteRequestsAreRefused(t *testing.T) {
	w := startWorld(t)
	w.account(email, pw, false)
	b := newBrowser(t, w.srv.URL())
	b.do("POST", "/api/v1/signin", `{"email":"`+email+`","password":"`+pw+`"}`)
	cases := []struct {
		name  string
		extra []string
	}{
		{"foreign Origin", []string{"Origin", "https://evil.example"}},
		{"cross-site fetch metadata", []string{"Sec-Fetch-Site", "cross-site"}},
		{"cookies without the pages' header", []string{"X-Requested-With", ""}},
	}
	for _, c := range cases {
		resp, body := b.do("POST", "/api/v1/account/signout-all", `{}`, c.extra...)
		if resp.StatusCode != http.StatusForbidden || body["error"].(map[string]any)["code"] != "forbidden" {
			t.Errorf("%s: %d %v, want 403 forbidden", c.name, resp.StatusCode, body)
		}
	}
	if resp, _ := b.do("GET", "/api/v1/session", ""); resp.StatusCode != 200 {
		t.Fatalf("a refused request signed the browser out: %d", resp.StatusCode)
	}
}

func TestEveryAnswerCarriesTheSecurityHeaders(t *testing.T) {
	web := fstest.MapFS{
		"index.html":       {Data: []byte("<!doctype html><title>Shop</title>")},
		"assets/app-1.js":  {Data: []byte("console.log(1)")},
		"assets/app-1.css": {Data: []byte("body{}")},
	}
	w := startWorld(t, func(c *server.Config) { c.Web = web })
	for _, path := range []string{"/", "/profile", "/assets/app-1.js", "/api/v1/session", "/api/nope"} {
		resp, err := http.Get(w.srv.URL() + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		h := resp.Header
		csp := h.Get("Content-Security-Policy")
		if !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "unsafe-inline") {
			t.Errorf("%s: CSP %q", path, csp)
		}
		if h.Get("Referrer-Policy") == "" || h.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: headers %v", path, h)
		}
	}
	resp, _ := http.Get(w.srv.URL() + "/profile")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Errorf("an app path does not serve the page: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}

func TestQASimulatesANewNetworkForABrowser(t *testing.T) {
	w := startWorld(t)
	w.account(email, pw, true)
	b := newBrowser(t, w.srv.URL())
	_, body := b.do("POST", "/api/v1/signin", `{"email":"`+email+`","password":"`+pw+`"}`)
	code, _ := w.code(email)
	_, signed := b.do("POST", "/api/v1/signin/verify", `{"challenge_id":"`+body["challenge_id"].(string)+`","code":"`+code+`"}`)
	if signed["status"] != api.StatusSignedIn {
		t.Fatalf("verify from the browser: %v", signed)
	}
	if _, again := b.do("POST", "/api/v1/signin", `{"email":"`+email+`","password":"`+pw+`"}`); again["status"] != api.StatusSignedIn {
		t.Fatalf("same browser and network: %v", again)
	}
	b.do("POST", "/api/qa/simulate/network", `{}`)
	if _, moved := b.do("POST", "/api/v1/signin", `{"email":"`+email+`","password":"`+pw+`"}`); moved["reason"] != api.ReasonNewNetwork {
		t.Fatalf("after simulating a new network: %v", moved)
	}
	b.do("POST", "/api/qa/simulate/device", `{}`)
	if _, moved := b.do("POST", "/api/v1/signin", `{"email":"`+email+`","password":"`+pw+`"}`); moved["reason"] != api.ReasonNewDeviceAndNetwork {
		t.Fatalf("after simulating a new device too: %v", moved)
	}

}

// Behind a TLS-terminating proxy (trusted with --trusted-proxy), the browser's https
// Origin is its own, and the cookies are Secure.
func TestBehindAnHTTPSProxyTheSiteWorksWithSecureCookies(t *testing.T) {
	w := startWorld(t)
	w.account(email, pw, false)
	b := newBrowser(t, w.srv.URL())
	fwd := []string{"Origin", "https://shop.example", "X-Forwarded-Proto", "https", "X-Forwarded-Host", "shop.example"}
	resp, body := b.do("POST", "/api/v1/signin", `{"email":"`+email+`","password":"`+pw+`"}`, fwd...)
	if resp.StatusCode != 200 {
		t.Fatalf("sign-in through the https proxy: %d %v", resp.StatusCode, body)
	}
	if c := cookie(resp, "shoplogin_session"); c == nil || !c.Secure {
		t.Errorf("session cookie %+v, want Secure", c)
	}
	// The same headers from a peer that is not a trusted proxy prove nothing.
	w2 := startWorld(t, func(c *server.Config) { c.TrustedProxies = nil })
	w2.account(email, pw, false)
	resp, _ = newBrowser(t, w2.srv.URL()).do("POST", "/api/v1/signin", `{"email":"`+email+`","password":"`+pw+`"}`, fwd...)
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("forged X-Forwarded-Proto from an untrusted peer: %d, want 403", resp.StatusCode)
	}
}

// A page that rebinds its own domain to 127.0.0.1 reaches the port, but not the API.
func TestALoopbackServerAnswersOnlyToLoopbackNames(t *testing.T) {
	w := startWorld(t, func(c *server.Config) { c.TrustedProxies = nil })
	for host, want := range map[string]int{"evil.example": 403, "127.0.0.1": 200, "localhost": 200} {
		req, _ := http.NewRequest("GET", w.srv.URL()+"/api/qa/clock", nil)
		req.Host = host
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("Host %s: %d, want %d", host, resp.StatusCode, want)
		}
	}
}
