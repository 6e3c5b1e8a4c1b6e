package httpapi

import (
	"context"
	"crypto/rand"
	"errors"
	"net/http"
	"net/netip"
	"strconv"
	"time"

	"shoplogin/backend/api"
	"shoplogin/backend/auth"
	"shoplogin/backend/clock"
	"shoplogin/backend/inbox"
	"shoplogin/backend/network"
)

// Inbox is what the QA API reads of the embedded mail inbox.
type Inbox interface {
	List(ctx context.Context, to string) ([]inbox.Summary, error)
	Get(ctx context.Context, id int64) (inbox.Message, error)
	DeleteAll(ctx context.Context) error
	Code(ctx context.Context, to string, wait time.Duration) (code string, messageID int64, found bool, err error)
}

// QA is the QA API's state: the inbox it shows and the clock it moves.
type QA struct {
	Inbox Inbox
	Clock *clock.Adjustable
	// SaveClock keeps the clock's offset across restarts; nil keeps it in memory only.
	SaveClock func(ctx context.Context, offset time.Duration) error
}

// maxCodeWait bounds GET /api/qa/code?wait=, so a script cannot hold a request forever.
const maxCodeWait = time.Minute

func (q *QA) routes(m *http.ServeMux, h *Handler) {
	// With a relay there is no QA inbox: its routes say so instead of calling a nil Inbox.
	withInbox := func(next http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if q.Inbox == nil {
				h.fail(w, r, api.Errorf(api.CodeNotFound, "There is no QA inbox: this server delivers mail to a relay."))
				return
			}
			next(w, r)
		}
	}
	m.HandleFunc("GET /api/qa/messages", withInbox(func(w http.ResponseWriter, r *http.Request) {
		list, err := q.Inbox.List(r.Context(), r.URL.Query().Get("to"))
		if err != nil {
			h.fail(w, r, err)
			return
		}
		if list == nil {
			list = []inbox.Summary{}
		}
		writeJSON(w, http.StatusOK, map[string]any{"messages": list})
	}))
	m.HandleFunc("GET /api/qa/messages/{id}", withInbox(func(w http.ResponseWriter, r *http.Request) {
		id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
		if err != nil {
			h.fail(w, r, api.Errorf(api.CodeNotFound, "No message with id %q.", r.PathValue("id")))
			return
		}
		msg, err := q.Inbox.Get(r.Context(), id)
		if errors.Is(err, inbox.ErrNotFound) {
			h.fail(w, r, api.Errorf(api.CodeNotFound, "No message with id %d.", id))
			return
		}
		if err != nil {
			h.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, msg)
	}))
	m.HandleFunc("DELETE /api/qa/messages", withInbox(func(w http.ResponseWriter, r *http.Request) {
		h.noContent(w, r, q.Inbox.DeleteAll(r.Context()))
	}))
	m.HandleFunc("GET /api/qa/code", withInbox(func(w http.ResponseWriter, r *http.Request) {
		to := r.URL.Query().Get("to")
		if to == "" {
			h.fail(w, r, &api.Error{Code: api.CodeInvalidRequest, Field: "to", Message: "Say whose code: ?to=ADDRESS."})
			return
		}
		var wait time.Duration
		if s := r.URL.Query().Get("wait"); s != "" {
			d, err := time.ParseDuration(s)
			if err != nil || d < 0 {
				h.fail(w, r, &api.Error{Code: api.CodeInvalidRequest, Field: "wait", Message: `wait must be a duration like "10s".`})
				return
			}
			wait = min(d, maxCodeWait)
		}
		code, id, found, err := q.Inbox.Code(r.Context(), to, wait)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		if !found {
			h.fail(w, r, api.Errorf(api.CodeNotFound, "No code email to %s arrived.", to))
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"code": code, "message_id": id})
	}))
	m.HandleFunc("GET /api/qa/clock", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, q.clockState())
	})
	m.HandleFunc("POST /api/qa/clock", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Advance string `json:"advance"`
			Set     string `json:"set"`
			Reset   bool   `json:"reset"`
		}
		if err := decode(w, r, &req); err != nil {
			h.fail(w, r, err)
			return
		}
		switch {
		case req.Reset:
			q.Clock.Reset()
		case req.Advance != "":
			d, err := time.ParseDuration(req.Advance)
			if err != nil {
				h.fail(w, r, &api.Error{Code: api.CodeInvalidRequest, Field: "advance", Message: `advance must be a duration like "10m" or "720h".`})
				return
			}
			q.Clock.Advance(d)
		case req.Set != "":
			t, err := time.Parse(time.RFC3339, req.Set)
			if err != nil {
				h.fail(w, r, &api.Error{Code: api.CodeInvalidRequest, Field: "set", Message: "set must be an RFC 3339 time like 2026-12-04T10:00:00Z."})
				return
			}
			q.Clock.Set(t)
		default:
			h.fail(w, r, api.Errorf(api.CodeInvalidRequest, `Send {"advance": "10m"}, {"set": RFC3339} or {"reset": true}.`))
			return
		}
		if q.SaveClock != nil {
			if err := q.SaveClock(r.Context(), q.Clock.Offset()); err != nil {
				h.fail(w, r, err)
				return
			}
		}
		writeJSON(w, http.StatusOK, q.clockState())
	})
	m.HandleFunc("POST /api/qa/accounts", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Email     string `json:"email"`
			Password  string `json:"password"`
			TwoFactor bool   `json:"two_factor"`
		}
		if err := decode(w, r, &req); err != nil {
			h.fail(w, r, err)
			return
		}
		err := h.auth.CreateAccount(r.Context(), req.Email, req.Password, req.TwoFactor)
		if errors.Is(err, auth.ErrAccountExists) {
			err = &api.Error{Code: api.CodeInvalidRequest, Field: "email", Message: "An account with this email already exists."}
		}
		if err != nil {
			h.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusCreated, map[string]string{"status": "created"})
	})
	// A browser cannot change its own device cookie or address; these do it for the QA
	// panel in the website. The desktop app simulates both on its side.
	m.HandleFunc("POST /api/qa/simulate/device", func(w http.ResponseWriter, r *http.Request) {
		if _, err := newBrowserDevice(w, r); err != nil {
			h.fail(w, r, err)
			return
		}
		clearSession(w, r)
		w.WriteHeader(http.StatusNoContent)
	})
	m.HandleFunc("POST /api/qa/simulate/network", func(w http.ResponseWriter, r *http.Request) {
		var b [3]byte
		if _, err := rand.Read(b[:]); err != nil {
			h.fail(w, r, err)
			return
		}
		// 198.18.0.0/15 is reserved for benchmarks: never a real client's network.
		addr := netip.AddrFrom4([4]byte{198, 18 + b[0]&1, b[1], 1 + b[2]%254})
		http.SetCookie(w, &http.Cookie{Name: networkCookie, Value: addr.String(), Path: "/",
			HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: secureCookies(r)})
		writeJSON(w, http.StatusOK, map[string]string{"network": network.Of(addr)})
	})
	m.HandleFunc("GET /api/qa/events", func(w http.ResponseWriter, r *http.Request) {
		events, err := h.auth.Events(r.Context(), r.URL.Query().Get("email"), 500)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"events": events})
	})
}

func (q *QA) clockState() map[string]any {
	return map[string]any{
		"now":            q.Clock.Now().UTC().Format(time.RFC3339),
		"offset_seconds": int64(q.Clock.Offset() / time.Second),
	}
}
