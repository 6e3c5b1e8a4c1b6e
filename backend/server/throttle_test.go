package server_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"shoplogin/backend/api"
	"shoplogin/backend/apiclient"
)

// failure is what a wrong sign-in answered: its API code and its retry_after.
type failure struct {
	code       api.Code
	retryAfter int
}

func (f failure) String() string { return fmt.Sprintf("%s (retry_after %d)", f.code, f.retryAfter) }

// signInAs tries email and password from the client and reports the failure, if any.
func signInAs(t *testing.T, c *apiclient.Client, email, password string) failure {
	t.Helper()
	_, err := c.SignIn(context.Background(), email, password, "laptop")
	if err == nil {
		return failure{}
	}
	e, ok := err.(*api.Error)
	if !ok {
		t.Fatalf("sign-in: %v", err)
	}
	return failure{e.Code, e.RetryAfter}
}

// The network policy (DefaultConfig: 20 free failures, then 5 s doubling) counts the wrong
// passwords of one network whatever accounts they name: spraying one password over many
// addresses is slowed like guessing one account's. Other networks are not affected, and
// the network recovers once the wait is over.
func TestANetworkIsThrottledAcrossManyAccounts(t *testing.T) {
	w := startWorld(t)
	w.account(email, pw, false)
	sprayer := w.client("sprayer", networkN)

	for i := range 20 {
		got := signInAs(t, sprayer, fmt.Sprintf("user%d@example.org", i), "Spring2026!")
		if got != (failure{code: api.CodeInvalidCredentials}) {
			t.Fatalf("failure %d: %v, want invalid_credentials without a wait", i+1, got)
		}
	}
	got := signInAs(t, sprayer, "user20@example.org", "Spring2026!")
	if got != (failure{api.CodeInvalidCredentials, 5}) {
		t.Fatalf("21st failure from one network: %v, want invalid_credentials with retry_after 5", got)
	}
	// Ann's own account has no failures, but her sign-in from that network waits.
	annThere := w.client("ann-laptop", networkN)
	if got := signInAs(t, annThere, email, pw); got.code != api.CodeRateLimited || got.retryAfter != 5 {
		t.Fatalf("right password from the throttled network: %v, want rate_limited for 5 s", got)
	}
	if got := signInAs(t, w.client("ann-laptop", networkN2), email, pw); got != (failure{}) {
		t.Fatalf("right password from another network: %v, want signed in", got)
	}

	w.clock.Advance(5 * time.Second)
	if got := signInAs(t, annThere, email, pw); got != (failure{}) {
		t.Fatalf("right password after the wait: %v, want signed in", got)
	}
	// A success does not forgive the network's failures: the next one doubles the wait.
	if got := signInAs(t, sprayer, "user21@example.org", "Spring2026!"); got != (failure{api.CodeInvalidCredentials, 10}) {
		t.Fatalf("22nd failure from the network: %v, want retry_after 10", got)
	}
}

// The account policy (5 free failures, then 30 s doubling) follows the account across
// networks: an attacker rotating addresses gets no more guesses than one who does not.
func TestAnAccountIsThrottledAcrossNetworks(t *testing.T) {
	w := startWorld(t)
	w.account(email, pw, false)
	from := func(i int) *apiclient.Client {
		return w.client("attacker", fmt.Sprintf("192.0.%d.1", i))
	}
	for i := range 5 {
		if got := signInAs(t, from(i), email, "wrong password"); got != (failure{code: api.CodeInvalidCredentials}) {
			t.Fatalf("failure %d: %v, want invalid_credentials without a wait", i+1, got)
		}
	}
	if got := signInAs(t, from(5), email, "wrong password"); got != (failure{api.CodeInvalidCredentials, 30}) {
		t.Fatalf("6th failure, 6th network: %v, want retry_after 30", got)
	}
	if got := signInAs(t, from(6), email, pw); got.code != api.CodeRateLimited || got.retryAfter != 30 {
		t.Fatalf("right password from a 7th network: %v, want rate_limited for 30 s", got)
	}
	w.clock.Advance(29 * time.Second)
	if got := signInAs(t, from(7), email, pw); got.code != api.CodeRateLimited || got.retryAfter != 1 {
		t.Fatalf("one second early: %v, want rate_limited for 1 s", got)
	}
	w.clock.Advance(time.Second)
	if got := signInAs(t, from(8), email, pw); got != (failure{}) {
		t.Fatalf("right password after the wait: %v, want signed in", got)
	}
}

// NIST SP 800-63B: failures are forgiven after a successful sign-in. Five failures, a
// success, five more: still no wait, because the count started again.
func TestASuccessfulSignInResetsTheAccountCounter(t *testing.T) {
	w := startWorld(t)
	w.account(email, pw, false)
	ann := w.client("ann-laptop", networkN)
	fail5 := func(round string) {
		t.Helper()
		for i := range 5 {
			if got := signInAs(t, ann, email, "wrong password"); got != (failure{code: api.CodeInvalidCredentials}) {
				t.Fatalf("%s failure %d: %v, want invalid_credentials without a wait", round, i+1, got)
			}
		}
	}
	fail5("first round")
	if got := signInAs(t, ann, email, pw); got != (failure{}) {
		t.Fatalf("right password after 5 failures: %v", got)
	}
	fail5("after the success")
	if got := signInAs(t, ann, email, "wrong password"); got != (failure{api.CodeInvalidCredentials, 30}) {
		t.Fatalf("6th failure since the success: %v, want retry_after 30", got)
	}
}
