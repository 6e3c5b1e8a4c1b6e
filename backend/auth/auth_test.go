package auth

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"shoplogin/backend/api"
	"shoplogin/backend/clock"
	"shoplogin/backend/codes"
	"shoplogin/backend/inbox/inboxtest"
	"shoplogin/backend/message"
	"shoplogin/backend/outbox"
	"shoplogin/backend/password"
	"shoplogin/backend/secret"
	"shoplogin/backend/store"
)

// countingHasher counts password verifications, real and dummy.
type countingHasher struct {
	*password.Hasher
	verifies atomic.Int32
}

func (c *countingHasher) Verify(hash, pw string) (bool, bool, error) {
	c.verifies.Add(1)
	return c.Hasher.Verify(hash, pw)
}

func (c *countingHasher) VerifyDummy(pw string) {
	c.verifies.Add(1)
	c.Hasher.VerifyDummy(pw)
}

// fixture is a Service on a real SQLite file with a fixed clock; its outbox is never run.
type fixture struct {
	svc    *Service
	db     *store.DB
	clock  *clock.Fixed
	hasher *countingHasher
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "auth.db"), store.AccountMigrations())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	clk := clock.NewFixed(time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC))
	keys := secret.Derive(make([]byte, 32))
	log := inboxtest.Logger(t)
	h := &countingHasher{Hasher: password.NewHasher(password.TestParams(), nil)}
	svc := New(Deps{DB: db, Clock: clk, Random: rand.Reader, Hasher: h, Keys: keys, Log: log,
		Brand: message.DefaultBrand(), Mail: outbox.New(db, clk, keys.Outbox, nil, log, outbox.Options{})}, DefaultConfig())
	return &fixture{svc: svc, db: db, clock: clk, hasher: h}
}

const (
	email = "ann@example.org"
	pw    = "correct horse battery"
)

func (f *fixture) signIn(t *testing.T, device, network string) (api.SignInResult, error) {
	t.Helper()
	return f.svc.SignIn(context.Background(), api.SignInRequest{Email: email, Password: pw, DeviceID: device, DeviceName: device}, network)
}

// setCode replaces a challenge's code with a known one, as if the email had said it.
func (f *fixture) setCode(t *testing.T, challengeID, code string) {
	t.Helper()
	if _, err := f.db.Write.Exec(`UPDATE challenges SET code_mac = ? WHERE id = ?`, codes.MAC(f.svc.keys.Code, challengeID, code), challengeID); err != nil {
		t.Fatal(err)
	}
}

func TestUnknownEmailAndWrongPasswordEachCostOneVerification(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if err := f.svc.CreateAccount(ctx, email, pw, false); err != nil {
		t.Fatal(err)
	}
	for _, e := range []string{"nobody@example.org", email} {
		f.hasher.verifies.Store(0)
		_, err := f.svc.SignIn(ctx, api.SignInRequest{Email: e, Password: "not the password", DeviceID: "d"}, "192.0.2.0/24")
		if api.CodeOf(err) != api.CodeInvalidCredentials {
			t.Fatalf("%s: %v", e, err)
		}
		if n := f.hasher.verifies.Load(); n != 1 {
			t.Errorf("%s: %d password verifications, want exactly 1", e, n)
		}
	}
	// A password too long to be one is refused before any hashing.
	f.hasher.verifies.Store(0)
	long := make([]byte, password.MaxBytes+1)
	for i := range long {
		long[i] = 'x'
	}
	_, err := f.svc.SignIn(ctx, api.SignInRequest{Email: email, Password: string(long), DeviceID: "d"}, "192.0.2.0/24")
	if api.CodeOf(err) != api.CodeInvalidRequest || f.hasher.verifies.Load() != 0 {
		t.Fatalf("over-long password: %v after %d verifications", err, f.hasher.verifies.Load())
	}
}

func TestACodeWorksOnlyOnItsOwnChallengeAndDevice(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.svc.CreateAccount(ctx, email, pw, true)
	a, _ := f.signIn(t, "dev-a", "192.0.2.0/24")
	b, _ := f.signIn(t, "dev-b", "192.0.2.0/24")
	f.setCode(t, a.ChallengeID, "111111")
	f.setCode(t, b.ChallengeID, "222222")

	if _, err := f.svc.Verify(ctx, api.VerifyRequest{ChallengeID: b.ChallengeID, Code: "111111", DeviceID: "dev-b"}, "192.0.2.0/24"); api.CodeOf(err) != api.CodeInvalidCode {
		t.Fatalf("A's code on B: %v, want invalid_code", err)
	}
	if _, err := f.svc.Verify(ctx, api.VerifyRequest{ChallengeID: a.ChallengeID, Code: "111111", DeviceID: "dev-b"}, "192.0.2.0/24"); api.CodeOf(err) != api.CodeInvalidCode {
		t.Fatalf("A's code from device B: %v, want invalid_code", err)
	}
	if res, err := f.svc.Verify(ctx, api.VerifyRequest{ChallengeID: a.ChallengeID, Code: "111 111", DeviceID: "dev-a"}, "192.0.2.0/24"); err != nil || res.Status != api.StatusSignedIn {
		t.Fatalf("A's code, with a space, on A from A: %v", err)
	}
}

func TestAtMostFiveCodesAnHour(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.svc.CreateAccount(ctx, email, pw, true)
	for i := range 5 {
		if _, err := f.signIn(t, "dev", "192.0.2.0/24"); err != nil {
			t.Fatalf("code %d: %v", i+1, err)
		}
		f.clock.Advance(time.Minute)
	}
	_, err := f.signIn(t, "dev", "192.0.2.0/24")
	var e *api.Error
	if !errors.As(err, &e) || e.Code != api.CodeRateLimited || e.RetryAfter != int((55*time.Minute)/time.Second) {
		t.Fatalf("sixth code in the hour: %v, want rate_limited with retry_after 3300", err)
	}
	f.clock.Advance(55 * time.Minute)
	if _, err := f.signIn(t, "dev", "192.0.2.0/24"); err != nil {
		t.Fatalf("after the hour: %v", err)
	}
}

// trustedSession signs in with a verified code and returns the principal.
func (f *fixture) trustedSession(t *testing.T, device, network string) (Principal, string) {
	t.Helper()
	ctx := context.Background()
	res, err := f.signIn(t, device, network)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status == api.StatusCodeRequired {
		f.setCode(t, res.ChallengeID, "123456")
		if res, err = f.svc.Verify(ctx, api.VerifyRequest{ChallengeID: res.ChallengeID, Code: "123456", DeviceID: device}, network); err != nil {
			t.Fatal(err)
		}
	}
	p, err := f.svc.Authenticate(ctx, res.Token, device)
	if err != nil {
		t.Fatal(err)
	}
	return p, res.Token
}

func TestForgettingADeviceEndsItsTokensAndAsksForACodeAgain(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.svc.CreateAccount(ctx, email, pw, true)
	p, token := f.trustedSession(t, "dev", "192.0.2.0/24")
	other, _ := f.trustedSession(t, "other", "192.0.2.0/24")
	sec, _ := f.svc.Security(ctx, other, Client{Network: "192.0.2.0/24"})
	var id int64
	for _, d := range sec.Devices {
		if d.Name == "dev" {
			id = d.ID
		}
	}
	if err := f.svc.ForgetDevice(ctx, other, Client{}, id); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Authenticate(ctx, token, "dev"); api.CodeOf(err) != api.CodeInvalidToken {
		t.Fatalf("token of a forgotten device: %v", err)
	}
	res, _ := f.signIn(t, "dev", "192.0.2.0/24")
	if res.Reason != api.ReasonNewDevice {
		t.Fatalf("sign-in from the forgotten device = %+v, want a code for new_device", res)
	}
	if err := f.svc.ForgetDevice(ctx, p, Client{}, 999); api.CodeOf(err) != api.CodeInvalidToken && api.CodeOf(err) != api.CodeNotFound {
		t.Fatalf("forgetting a device of nobody: %v", err)
	}
}

func TestTokensAreBoundToTheirDeviceAndEndWithSignOutEverywhere(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.svc.CreateAccount(ctx, email, pw, false)
	p, token := f.trustedSession(t, "dev", "192.0.2.0/24")
	_, token2 := f.trustedSession(t, "dev2", "192.0.2.0/24")
	if _, err := f.svc.Authenticate(ctx, token, "dev2"); api.CodeOf(err) != api.CodeInvalidToken {
		t.Fatalf("token from another device: %v", err)
	}
	f.clock.Advance(30*24*time.Hour - time.Second)
	if _, err := f.svc.Authenticate(ctx, token, "dev"); err != nil {
		t.Fatalf("token one second before 30 days: %v", err)
	}
	if err := f.svc.SignOutEverywhere(ctx, p, Client{}); err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{token, token2} {
		if _, err := f.svc.Authenticate(ctx, tok, "dev"); api.CodeOf(err) != api.CodeInvalidToken {
			t.Fatalf("token after sign out everywhere: %v", err)
		}
	}
}

func TestPasswordChangeNeedsTheCurrentPasswordAndRevokesOtherTokens(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.svc.CreateAccount(ctx, email, pw, false)
	p, _ := f.trustedSession(t, "dev", "192.0.2.0/24")
	_, other := f.trustedSession(t, "dev2", "192.0.2.0/24")
	if _, err := f.svc.ChangePassword(ctx, p, Client{}, "not it at all", "a new long passphrase"); api.CodeOf(err) != api.CodeInvalidCredentials {
		t.Fatalf("wrong current password: %v", err)
	}
	if _, err := f.svc.ChangePassword(ctx, p, Client{}, pw, "password1"); api.CodeOf(err) != api.CodeWeakPassword {
		t.Fatalf("common new password: %v", err)
	}
	res, err := f.svc.ChangePassword(ctx, p, Client{}, pw, "a new long passphrase")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Authenticate(ctx, other, "dev2"); api.CodeOf(err) != api.CodeInvalidToken {
		t.Fatalf("other device's token after a password change: %v", err)
	}
	if _, err := f.svc.Authenticate(ctx, res.Token, "dev"); err != nil {
		t.Fatalf("the fresh token: %v", err)
	}
	if _, err := f.signIn(t, "dev", "192.0.2.0/24"); api.CodeOf(err) != api.CodeInvalidCredentials {
		t.Fatalf("old password after the change: %v", err)
	}
	var n int
	f.db.Read.QueryRow(`SELECT count(*) FROM outbox WHERE kind = ?`, outbox.KindNotice).Scan(&n)
	if n != 1 {
		t.Errorf("%d notice emails, want 1", n)
	}
}

func TestTurningTwoFactorOnTrustsThisDeviceAndNetworkOnly(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.svc.CreateAccount(ctx, email, pw, false)
	p, _ := f.trustedSession(t, "dev", "192.0.2.0/24")
	if err := f.svc.SetTwoFactor(ctx, p, Client{Network: "192.0.2.0/24"}, true, "wrong"); api.CodeOf(err) != api.CodeInvalidCredentials {
		t.Fatalf("2FA on with a wrong password: %v", err)
	}
	if err := f.svc.SetTwoFactor(ctx, p, Client{Network: "192.0.2.0/24"}, true, pw); err != nil {
		t.Fatal(err)
	}
	if res, _ := f.signIn(t, "dev", "192.0.2.0/24"); res.Status != api.StatusSignedIn {
		t.Fatalf("same device and network after turning 2FA on = %+v", res)
	}
	if res, _ := f.signIn(t, "dev", "198.51.100.0/24"); res.Reason != api.ReasonNewNetwork {
		t.Fatalf("another network = %+v", res)
	}
	if res, _ := f.signIn(t, "new", "192.0.2.0/24"); res.Reason != api.ReasonNewDevice {
		t.Fatalf("another device = %+v", res)
	}
}

func TestSignUpDoesNotRevealExistingAccounts(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if err := f.svc.SignUp(ctx, email, pw, Client{}); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := f.svc.SignUp(ctx, email, "another good passphrase", Client{}); err != nil {
			t.Fatalf("second sign-up with the same address: %v, want the same success", err)
		}
	}
	var accounts, notices int
	f.db.Read.QueryRow(`SELECT count(*) FROM accounts`).Scan(&accounts)
	f.db.Read.QueryRow(`SELECT count(*) FROM outbox WHERE kind = ?`, outbox.KindNotice).Scan(&notices)
	if accounts != 1 || notices != 1 {
		t.Fatalf("%d accounts and %d notices, want 1 and 1 (the owner is told, once an hour)", accounts, notices)
	}
	// The original password still works: nothing was overwritten.
	if res, err := f.signIn(t, "d", "192.0.2.0/24"); err != nil || res.Status != api.StatusSignedIn {
		t.Fatalf("original password after a duplicate sign-up: %v", err)
	}
	if err := f.svc.SignUp(ctx, "bob@example.org", "short", Client{}); api.CodeOf(err) != api.CodeWeakPassword {
		t.Fatalf("short password: %v", err)
	}
}

func TestAPasswordChangeEndsSignInsWaitingForACode(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.svc.CreateAccount(ctx, email, pw, true)
	p, _ := f.trustedSession(t, "owner", "192.0.2.0/24")
	// Someone with the old password starts a sign-in from elsewhere.
	pending, _ := f.signIn(t, "intruder", "198.51.100.0/24")
	f.setCode(t, pending.ChallengeID, "654321")
	if _, err := f.svc.ChangePassword(ctx, p, Client{}, pw, "a new long passphrase"); err != nil {
		t.Fatal(err)
	}
	_, err := f.svc.Verify(ctx, api.VerifyRequest{ChallengeID: pending.ChallengeID, Code: "654321", DeviceID: "intruder"}, "198.51.100.0/24")
	if api.CodeOf(err) != api.CodeUnknownChallenge {
		t.Fatalf("code of a sign-in started before the password change: %v, want unknown_challenge", err)
	}
	if _, err := f.svc.Resend(ctx, pending.ChallengeID); api.CodeOf(err) != api.CodeUnknownChallenge {
		t.Fatalf("resend after the password change: %v", err)
	}
}

// Parallel wrong passwords for one account take turns, so the throttle sees each failure
// before the next guess is checked: no burst gets more guesses than the free ones.
func TestParallelWrongPasswordsCannotOutrunTheThrottle(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.svc.CreateAccount(ctx, email, pw, false)
	const n = 40
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			// Each from its own network, so only the account throttle can stop them.
			f.svc.SignIn(ctx, api.SignInRequest{Email: email, Password: "wrong guess", DeviceID: "d"},
				fmt.Sprintf("10.%d.0.0/24", i))
		}()
	}
	f.hasher.verifies.Store(0)
	close(start)
	wg.Wait()
	free := int32(DefaultConfig().Account.Free)
	if got := f.hasher.verifies.Load(); got != free+1 {
		t.Fatalf("%d of %d parallel guesses were checked, want %d (the free ones and the one that starts the wait)", got, n, free+1)
	}
}

// A change that arrives after its session was ended (here: sign out everywhere from
// another device, after this request's token was checked) is refused.
func TestAChangeOnASessionEndedMeanwhileIsRefused(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.svc.CreateAccount(ctx, email, pw, false)
	p, _ := f.trustedSession(t, "dev", "192.0.2.0/24")
	other, _ := f.trustedSession(t, "dev2", "192.0.2.0/24")
	if err := f.svc.SignOutEverywhere(ctx, other, Client{}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.ChangePassword(ctx, p, Client{}, pw, "a new long passphrase"); api.CodeOf(err) != api.CodeInvalidToken {
		t.Fatalf("password change on an ended session: %v, want invalid_token", err)
	}
	if res, err := f.signIn(t, "dev", "192.0.2.0/24"); err != nil || res.Status != api.StatusSignedIn {
		t.Fatalf("the old password must still work: %v", err)
	}
}
