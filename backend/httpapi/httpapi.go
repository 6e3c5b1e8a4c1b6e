// Package httpapi serves the account server's JSON API and, with QA on, the QA API.
package httpapi

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"shoplogin/backend/api"
	"shoplogin/backend/auth"
	"shoplogin/backend/network"
)

// Options configure the handler. QA is nil unless the server runs with --qa.
type Options struct {
	Auth     *auth.Service
	Resolver *network.Resolver
	QA       *QA
	Log      *slog.Logger
	// Web is the website (the built frontend), served at /; nil serves the API only.
	Web fs.FS
	// LoopbackOnly says the server listens on loopback only: then a request must name a
	// loopback host, so a web page that rebinds its own domain to 127.0.0.1 (DNS
	// rebinding) cannot reach the API, least of all the QA API.
	LoopbackOnly bool
}

// Handler serves /api/v1, /api/qa when QA is set, and the website at /.
type Handler struct {
	auth     *auth.Service
	resolver *network.Resolver
	qa       *QA
	log      *slog.Logger
	mux      *http.ServeMux
	loopback bool
}

// New builds the handler and its routes.
func New(o Options) *Handler {
	h := &Handler{auth: o.Auth, resolver: o.Resolver, qa: o.QA, log: o.Log, mux: http.NewServeMux(), loopback: o.LoopbackOnly}
	if o.Web != nil {
		h.mux.Handle("/", website(o.Web))
	}
	m := h.mux
	m.HandleFunc("POST /api/v1/signin", h.signIn)
	m.HandleFunc("POST /api/v1/signin/verify", h.verify)
	m.HandleFunc("POST /api/v1/signin/resend", h.resend)
	m.HandleFunc("GET /api/v1/signin/challenge/{id}", h.challenge)
	m.HandleFunc("POST /api/v1/accounts", h.signUp)
	m.HandleFunc("GET /api/v1/session", h.authed(h.session))
	m.HandleFunc("POST /api/v1/signout", h.authed(h.signOut))
	m.HandleFunc("GET /api/v1/account/security", h.authed(h.security))
	m.HandleFunc("PUT /api/v1/account/security", h.authed(h.setSecurity))
	m.HandleFunc("PUT /api/v1/account/password", h.authed(h.changePassword))
	m.HandleFunc("DELETE /api/v1/account/devices/{id}", h.authed(h.forgetDevice))
	m.HandleFunc("DELETE /api/v1/account/networks/{id}", h.authed(h.forgetNetwork))
	m.HandleFunc("POST /api/v1/account/signout-all", h.authed(h.signOutAll))
	if h.qa != nil {
		h.qa.routes(m, h)
	}
	// Anything else under /api answers in JSON, not with the mux's text pages.
	m.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		h.fail(w, r, api.Errorf(api.CodeNotFound, "There is no %s %s in this API.", r.Method, r.URL.Path))
	})
	return h
}

// ServeHTTP adds the headers every answer carries, recovers from panics and logs the
// request (method, path, status, time: never a body or a header value).
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	r = r.WithContext(context.WithValue(r.Context(), originKey{}, h.publicOrigin(r)))
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	setSecurityHeaders(w.Header())
	if strings.HasPrefix(r.URL.Path, "/api/") {
		w.Header().Set("Cache-Control", "no-store")
	}
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			h.log.ErrorContext(r.Context(), "panic in handler", slog.Any("panic", p), slog.String("stack", string(debug.Stack())))
			if !rec.wrote {
				h.fail(rec, r, errors.New("panic"))
			}
		}
		h.log.LogAttrs(r.Context(), slog.LevelDebug, "http", slog.String("method", r.Method),
			slog.String("path", r.URL.Path), slog.Int("status", rec.status), slog.Duration("took", time.Since(start)))
	}()
	if h.loopback && !loopbackHost(r.Host) && !h.resolver.FromTrustedProxy(r) {
		h.fail(rec, r, api.Errorf(api.CodeForbidden, "This server answers only to 127.0.0.1, localhost or [::1]."))
		return
	}
	if err := checkCSRF(r); err != nil {
		h.fail(rec, r, err)
		return
	}
	// Route on the method-aware mux; a known path with the wrong method gets 405 in JSON.
	if _, pattern := h.mux.Handler(r); pattern == "" && strings.HasPrefix(r.URL.Path, "/api/") {
		if allowed := h.allowed(r); allowed != "" {
			rec.Header().Set("Allow", allowed)
			h.fail(rec, r, api.Errorf(api.CodeMethodNotAllowed, "%s is not allowed here; use %s.", r.Method, allowed))
			return
		}
	}
	h.mux.ServeHTTP(rec, r)
}

// loopbackHost reports whether a Host header names this machine.
func loopbackHost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}

// allowed lists the methods the mux would accept for r's path.
func (h *Handler) allowed(r *http.Request) string {
	var ok []string
	for _, m := range []string{"GET", "POST", "PUT", "DELETE"} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := h.mux.Handler(probe); pattern != "" && pattern != "/api/" && pattern != "/" {
			ok = append(ok, m)
		}
	}
	return strings.Join(ok, ", ")
}

type statusRecorder struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (s *statusRecorder) WriteHeader(code int) {
	if !s.wrote {
		s.status, s.wrote = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	s.wrote = true
	return s.ResponseWriter.Write(b)
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// fail sends err as the API's error body. Only *api.Error reaches the client; anything
// else is logged and answered as a generic internal error.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	var e *api.Error
	if !errors.As(err, &e) {
		h.log.ErrorContext(r.Context(), "unexpected error", slog.String("path", r.URL.Path), slog.String("error", err.Error()))
		e = &api.Error{Code: api.CodeInternal, Message: "Something went wrong on our side. Please try again."}
	}
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	writeJSON(w, e.Code.Status(), api.ErrorBody{Error: e})
}

// client describes the caller of r for the auth service.
func (h *Handler) client(r *http.Request, deviceID, deviceName string) auth.Client {
	return auth.Client{DeviceID: deviceID, DeviceName: deviceName, Network: h.network(r)}
}

// network is the network r comes from. With --qa a browser may pretend to be elsewhere
// (the QA panel's "simulate new network"); nothing else can choose its network.
func (h *Handler) network(r *http.Request) string {
	if h.qa != nil {
		if ip, ok := qaNetwork(r); ok {
			a, _ := netip.AddrFromSlice(ip)
			return network.Of(a)
		}
	}
	return network.Of(h.resolver.ClientAddr(r))
}

// signedIn answers a sign-in. A browser gets its token as an HttpOnly cookie and never
// sees it in the body.
func (h *Handler) signedIn(w http.ResponseWriter, r *http.Request, res api.SignInResult) {
	if res.Status == api.StatusSignedIn && usesCookies(r) {
		setSession(w, r, res.Token, res.ExpiresAt)
		res.Token = ""
	}
	writeJSON(w, http.StatusOK, res)
}

// authed runs next only for a valid token presented from its own device.
func (h *Handler) authed(next func(http.ResponseWriter, *http.Request, auth.Principal)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		token, device := credentials(r)
		p, err := h.auth.Authenticate(r.Context(), token, device)
		if err != nil {
			if usesCookies(r) && token != "" {
				clearSession(w, r)
			}
			h.fail(w, r, err)
			return
		}
		next(w, r, p)
	}
}

func (h *Handler) signIn(w http.ResponseWriter, r *http.Request) {
	var req api.SignInRequest
	if err := decode(w, r, &req); err != nil {
		h.fail(w, r, err)
		return
	}
	if req.DeviceID == "" && usesCookies(r) {
		id, err := browserDevice(w, r)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		req.DeviceID = id
	}
	res, err := h.auth.SignIn(r.Context(), req, h.network(r))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.signedIn(w, r, res)
}

func (h *Handler) verify(w http.ResponseWriter, r *http.Request) {
	var req api.VerifyRequest
	if err := decode(w, r, &req); err != nil {
		h.fail(w, r, err)
		return
	}
	if req.DeviceID == "" && usesCookies(r) {
		if c, err := r.Cookie(deviceCookie); err == nil {
			req.DeviceID = c.Value
		}
	}
	res, err := h.auth.Verify(r.Context(), req, h.network(r))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.signedIn(w, r, res)
}

func (h *Handler) resend(w http.ResponseWriter, r *http.Request) {
	var req api.ResendRequest
	if err := decode(w, r, &req); err != nil {
		h.fail(w, r, err)
		return
	}
	res, err := h.auth.Resend(r.Context(), req.ChallengeID)
	h.answer(w, r, res, err)
}

func (h *Handler) challenge(w http.ResponseWriter, r *http.Request) {
	res, err := h.auth.Challenge(r.Context(), r.PathValue("id"))
	h.answer(w, r, res, err)
}

func (h *Handler) signUp(w http.ResponseWriter, r *http.Request) {
	var req api.SignUpRequest
	if err := decode(w, r, &req); err != nil {
		h.fail(w, r, err)
		return
	}
	if err := h.auth.SignUp(r.Context(), req.Email, req.Password, h.client(r, "", "")); err != nil {
		h.fail(w, r, err)
		return
	}
	// The same answer whether or not the address already had an account.
	writeJSON(w, http.StatusCreated, map[string]string{
		"status":  "created",
		"message": "Your account is ready: sign in with your email and password.",
	})
}

func (h *Handler) session(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	res, err := h.auth.Session(r.Context(), p)
	h.answer(w, r, res, err)
}

func (h *Handler) signOut(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	err := h.auth.SignOut(r.Context(), p, h.client(r, "", ""))
	if err == nil && usesCookies(r) {
		clearSession(w, r)
	}
	h.noContent(w, r, err)
}

func (h *Handler) signOutAll(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	err := h.auth.SignOutEverywhere(r.Context(), p, h.client(r, "", ""))
	if err == nil && usesCookies(r) {
		clearSession(w, r)
	}
	h.noContent(w, r, err)
}

func (h *Handler) security(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	res, err := h.auth.Security(r.Context(), p, h.client(r, "", ""))
	h.answer(w, r, res, err)
}

func (h *Handler) setSecurity(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	var req api.SecurityUpdate
	if err := decode(w, r, &req); err != nil {
		h.fail(w, r, err)
		return
	}
	var on bool
	switch req.TwoFactor {
	case api.TwoFactorEmail:
		on = true
	case api.TwoFactorOff:
	default:
		e := api.Errorf(api.CodeInvalidRequest, `two_factor must be "email" or "off".`)
		e.Field = "two_factor"
		h.fail(w, r, e)
		return
	}
	if err := h.auth.SetTwoFactor(r.Context(), p, h.client(r, "", ""), on, req.Password); err != nil {
		h.fail(w, r, err)
		return
	}
	res, err := h.auth.Security(r.Context(), p, h.client(r, "", ""))
	h.answer(w, r, res, err)
}

func (h *Handler) changePassword(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	var req api.PasswordChange
	if err := decode(w, r, &req); err != nil {
		h.fail(w, r, err)
		return
	}
	res, err := h.auth.ChangePassword(r.Context(), p, h.client(r, "", ""), req.CurrentPassword, req.NewPassword)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.signedIn(w, r, res)
}

func (h *Handler) forgetDevice(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	id, err := pathID(r)
	if err == nil {
		err = h.auth.ForgetDevice(r.Context(), p, h.client(r, "", ""), id)
	}
	h.noContent(w, r, err)
}

func (h *Handler) forgetNetwork(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	id, err := pathID(r)
	if err == nil {
		err = h.auth.ForgetNetwork(r.Context(), p, h.client(r, "", ""), id)
	}
	h.noContent(w, r, err)
}

func pathID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, api.Errorf(api.CodeNotFound, "There is no such entry in your account.")
	}
	return id, nil
}

// answer sends res as 200 JSON, or err as the API's error body.
func (h *Handler) answer(w http.ResponseWriter, r *http.Request, res any, err error) {
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (h *Handler) noContent(w http.ResponseWriter, r *http.Request, err error) {
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
