package httpapi

import (
	"crypto/rand"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"shoplogin/backend/api"
	"shoplogin/backend/tokens"
)

// Browsers sign in with cookies instead of headers: a long-lived random device cookie
// stands in for the desktop's machine id, and the token travels as an HttpOnly session
// cookie that page scripts cannot read.
const (
	deviceCookie  = "shoplogin_device"
	sessionCookie = "shoplogin_session"
	// networkCookie is read only with --qa: the QA panel's "simulate new network" in a
	// browser, which cannot set X-Forwarded-For.
	networkCookie = "shoplogin_qa_network"

	// deviceCookieAge is the longest lifetime browsers honour (Chrome caps at 400 days).
	deviceCookieAge = 400 * 24 * time.Hour

	// csrfHeader must accompany every cookie-authenticated change. A cross-site page
	// cannot add a custom header without a CORS preflight, which this server never grants.
	csrfHeader = "X-Requested-With"
	csrfValue  = "shoplogin"
)

// usesCookies reports whether r is a browser request: it carries neither of the desktop
// client's headers (Authorization, X-Device-ID), and it says it comes from the shop's
// pages or carries the shop's cookies. A script with neither gets the header API.
func usesCookies(r *http.Request) bool {
	if r.Header.Get("Authorization") != "" || r.Header.Get("X-Device-ID") != "" {
		return false
	}
	return r.Header.Get(csrfHeader) == csrfValue || hasCookies(r)
}

func hasCookies(r *http.Request) bool {
	for _, name := range []string{sessionCookie, deviceCookie} {
		if _, err := r.Cookie(name); err == nil {
			return true
		}
	}
	return false
}

// publicOrigin is how the browser reached the server: behind a TLS-terminating proxy the
// request arrives over plain HTTP, and only a trusted proxy's X-Forwarded-Proto and
// X-Forwarded-Host tell the truth. ServeHTTP puts it in the request's context.
type publicOrigin struct {
	https bool
	host  string
}

type originKey struct{}

func (h *Handler) publicOrigin(r *http.Request) publicOrigin {
	o := publicOrigin{https: r.TLS != nil, host: r.Host}
	if h.resolver.FromTrustedProxy(r) {
		if proto := r.Header.Get("X-Forwarded-Proto"); proto != "" {
			o.https = strings.EqualFold(strings.TrimSpace(strings.Split(proto, ",")[0]), "https")
		}
		if host := r.Header.Get("X-Forwarded-Host"); host != "" {
			o.host = strings.TrimSpace(strings.Split(host, ",")[0])
		}
	}
	return o
}

func originOf(r *http.Request) publicOrigin {
	if o, ok := r.Context().Value(originKey{}).(publicOrigin); ok {
		return o
	}
	return publicOrigin{https: r.TLS != nil, host: r.Host}
}

// secureCookies: cookies are Secure whenever the browser is on https.
func secureCookies(r *http.Request) bool { return originOf(r).https }

// browserDevice returns the device id in the browser's device cookie, giving it one if it
// has none yet.
func browserDevice(w http.ResponseWriter, r *http.Request) (string, error) {
	if c, err := r.Cookie(deviceCookie); err == nil && len(c.Value) >= 32 && len(c.Value) <= 64 {
		return c.Value, nil
	}
	return newBrowserDevice(w, r)
}

func newBrowserDevice(w http.ResponseWriter, r *http.Request) (string, error) {
	id, err := tokens.Random(rand.Reader, 32)
	if err != nil {
		return "", err
	}
	http.SetCookie(w, &http.Cookie{
		Name: deviceCookie, Value: id, Path: "/", MaxAge: int(deviceCookieAge / time.Second),
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: secureCookies(r),
	})
	return id, nil
}

// setSession gives the browser its token, expiring with it.
func setSession(w http.ResponseWriter, r *http.Request, token string, expires time.Time) {
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: token, Path: "/", Expires: expires,
		MaxAge:   max(1, int(time.Until(expires)/time.Second)),
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: secureCookies(r),
	})
}

func clearSession(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: secureCookies(r)})
}

// credentials returns the token and device of r: headers for the desktop client and
// scripts, cookies for a browser.
func credentials(r *http.Request) (token, device string) {
	if !usesCookies(r) {
		token, _ = strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		return strings.TrimSpace(token), r.Header.Get("X-Device-ID")
	}
	if c, err := r.Cookie(sessionCookie); err == nil {
		token = c.Value
	}
	if c, err := r.Cookie(deviceCookie); err == nil {
		device = c.Value
	}
	return token, device
}

// checkCSRF refuses a state-changing request that a page on another site could have
// made: a foreign Origin or Sec-Fetch-Site, or a request carrying the shop's cookies
// without the custom header. (SameSite=Lax already keeps the cookies off cross-site
// POSTs in current browsers; this does not rely on it.)
func checkCSRF(r *http.Request) error {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return nil
	}
	forbidden := func(msg string) error { return api.Errorf(api.CodeForbidden, "%s", msg) }
	if origin := r.Header.Get("Origin"); origin != "" && !sameOrigin(origin, r) {
		return forbidden("Cross-site requests are not allowed.")
	}
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		return forbidden("Cross-site requests are not allowed.")
	}
	if hasCookies(r) && r.Header.Get(csrfHeader) != csrfValue {
		return forbidden("Browser requests must come from the shop's own pages (missing X-Requested-With: shoplogin).")
	}
	return nil
}

func sameOrigin(origin string, r *http.Request) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	public := originOf(r)
	scheme := "http"
	if public.https {
		scheme = "https"
	}
	return u.Scheme == scheme && strings.EqualFold(u.Host, public.host)
}

// qaNetwork returns the simulated network address of a QA browser, if it has one.
func qaNetwork(r *http.Request) (net.IP, bool) {
	c, err := r.Cookie(networkCookie)
	if err != nil {
		return nil, false
	}
	ip := net.ParseIP(c.Value)
	return ip, ip != nil
}
