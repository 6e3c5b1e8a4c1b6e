package server_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"shoplogin/backend/api"
	"shoplogin/backend/apiclient"
	"shoplogin/backend/clock"
	"shoplogin/backend/inbox"
	"shoplogin/backend/inbox/inboxtest"
	"shoplogin/backend/password"
	"shoplogin/backend/server"
)

// --allow-remote-qa is the one way to serve QA beyond loopback, and it works: the server
// listens on every interface and the QA API answers.
func TestQAOnANonLoopbackAddressStartsWhenAllowedExplicitly(t *testing.T) {
	srv, err := server.Start(context.Background(), server.Config{
		Addr: "0.0.0.0:0", DataDir: filepath.Join(t.TempDir(), "data"), QA: true, AllowRemoteQA: true,
		Password: password.TestParams(),
	})
	if err != nil {
		t.Fatalf("--qa --allow-remote-qa on 0.0.0.0: %v", err)
	}
	defer srv.Close()
	_, port, err := net.SplitHostPort(strings.TrimPrefix(srv.URL(), "http://"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(srv.URL(), "http://0.0.0.0:") && !strings.HasPrefix(srv.URL(), "http://[::]:") {
		t.Fatalf("listening on %s, want every interface", srv.URL())
	}
	if _, err := apiclient.New("http://127.0.0.1:"+port, "qa").Clock(context.Background()); err != nil {
		t.Fatalf("QA API on the remote-allowed server: %v", err)
	}
}

// With a relay there is no QA inbox. The inbox routes say so in the API's error shape
// instead of failing inside the handler; the rest of the QA API works.
func TestQAInboxRoutesAnswerNotFoundWhenMailGoesToARelay(t *testing.T) {
	_, relayAddr := inboxtest.Start(t, clock.System{}, inbox.Options{})
	w := startWorld(t, func(c *server.Config) {
		c.SMTPRelay = relayAddr
		c.SMTPInsecure = true
	})
	base := w.srv.URL()
	for _, r := range []struct{ method, path string }{
		{"GET", "/api/qa/messages"}, {"GET", "/api/qa/messages/1"}, {"DELETE", "/api/qa/messages"},
		{"GET", "/api/qa/code?to=ann@example.org"},
	} {
		req, _ := http.NewRequest(r.method, base+r.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body api.ErrorBody
		err = jsonDecode(resp, &body)
		if resp.StatusCode != http.StatusNotFound || err != nil || body.Error == nil || body.Error.Code != api.CodeNotFound {
			t.Errorf("%s %s with a relay: %d %+v (%v), want 404 not_found", r.method, r.path, resp.StatusCode, body.Error, err)
		}
	}
	if _, err := w.client("qa", networkN).Clock(context.Background()); err != nil {
		t.Errorf("the QA clock with a relay: %v", err)
	}
}

// jsonDecode reads a JSON answer and closes its body.
func jsonDecode(resp *http.Response, v any) error {
	defer resp.Body.Close()
	return json.NewDecoder(resp.Body).Decode(v)
}
