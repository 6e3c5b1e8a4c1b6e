package server_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"shoplogin/backend/api"
)

const (
	email = "ann@example.org"
	pw    = "correct horse battery"
)

// The support article's flow, over HTTP, end to end.
func TestSeedFlow(t *testing.T) {
	ctx := context.Background()
	w := startWorld(t)
	w.account(email, pw, true)
	d := w.client("device-D", networkN)

	// A new device on a new network is asked for a code.
	res := must(d.SignIn(ctx, email, pw, "Ann's laptop"))(t)
	if res.Status != api.StatusCodeRequired || res.Reason != api.ReasonNewDeviceAndNetwork {
		t.Fatalf("first sign-in = %+v, want code_required for new_device_and_network", res)
	}
	if res.EmailHint != "a***@example.org" || !res.ExpiresAt.Equal(epoch.Add(10*time.Minute)) {
		t.Errorf("challenge hint %q expires %v", res.EmailHint, res.ExpiresAt)
	}

	// The email arrives in the QA inbox with the seed's subject.
	code, msgID := w.code(email)
	msg := must(d.Message(ctx, msgID))(t)
	want := "Image Line Account | Two Factor Authentication code ( " + code + " ) [Action Required]"
	if msg.Subject != want {
		t.Errorf("subject = %q, want %q", msg.Subject, want)
	}
	if !strings.Contains(msg.Text, code) {
		t.Error("the code is not in the email's text")
	}

	// The code signs in; the token opens the session.
	signed := must(d.Verify(ctx, res.ChallengeID, code))(t)
	if signed.Status != api.StatusSignedIn || signed.Token == "" {
		t.Fatalf("verify = %+v", signed)
	}
	if !signed.ExpiresAt.Equal(epoch.Add(30 * 24 * time.Hour)) {
		t.Errorf("token expires %v, want 30 days on", signed.ExpiresAt)
	}
	sess := must(d.Session(ctx))(t)
	if sess.Account.Email != email || sess.Account.TwoFactor != api.TwoFactorEmail {
		t.Errorf("session = %+v", sess)
	}

	// The same device on the same network: no code, no email.
	before := len(must(d.Messages(ctx, email))(t))
	again := must(w.client("device-D", networkN).SignIn(ctx, email, pw, "Ann's laptop"))(t)
	if again.Status != api.StatusSignedIn {
		t.Fatalf("same device and network asked for a code: %+v", again)
	}
	if after := len(must(d.Messages(ctx, email))(t)); after != before {
		t.Errorf("a trusted sign-in sent %d emails", after-before)
	}

	// The same device on another network is asked, for the network.
	moved := must(w.client("device-D", networkN2).SignIn(ctx, email, pw, "Ann's laptop"))(t)
	if moved.Status != api.StatusCodeRequired || moved.Reason != api.ReasonNewNetwork {
		t.Fatalf("new network = %+v, want code_required for new_network", moved)
	}

	// Thirty days on, the token has expired...
	w.clock.Advance(30 * 24 * time.Hour)
	if _, err := d.Session(ctx); apiCode(err) != api.CodeTokenExpired {
		t.Fatalf("session after 30 days: %v, want token_expired", err)
	}
	// ...and signing in again from the same device and location needs no code.
	month := must(w.client("device-D", networkN).SignIn(ctx, email, pw, "Ann's laptop"))(t)
	if month.Status != api.StatusSignedIn {
		t.Fatalf("monthly sign-in from the same device and network = %+v, want no code", month)
	}
}

// signInForCode starts a challenge from a fresh device and returns it with its code.
func signInForCode(t *testing.T, w *world, device string) (api.SignInResult, string) {
	t.Helper()
	res := must(w.client(device, networkN).SignIn(context.Background(), email, pw, device))(t)
	if res.Status != api.StatusCodeRequired {
		t.Fatalf("sign-in from %s = %+v, want a code", device, res)
	}
	code, _ := w.code(email)
	return res, code
}

func TestACodeIsValidForTenMinutes(t *testing.T) {
	ctx := context.Background()
	w := startWorld(t)
	w.account(email, pw, true)

	res, code := signInForCode(t, w, "dev-1")
	w.clock.Advance(9*time.Minute + 59*time.Second)
	if _, err := w.client("dev-1", networkN).Verify(ctx, res.ChallengeID, code); err != nil {
		t.Fatalf("code refused at 9:59: %v", err)
	}

	res, code = signInForCode(t, w, "dev-2")
	w.clock.Advance(10 * time.Minute)
	_, err := w.client("dev-2", networkN).Verify(ctx, res.ChallengeID, code)
	if apiCode(err) != api.CodeCodeExpired {
		t.Fatalf("code at 10:00: %v, want code_expired", err)
	}
}

func TestAResendKillsTheOldCodeButNotTheGuessCount(t *testing.T) {
	ctx := context.Background()
	w := startWorld(t)
	w.account(email, pw, true)
	res, oldCode := signInForCode(t, w, "dev")
	c := w.client("dev", networkN)

	// Two wrong guesses on the first code.
	for range 2 {
		if _, err := c.Verify(ctx, res.ChallengeID, wrong(oldCode)); apiCode(err) != api.CodeInvalidCode {
			t.Fatalf("wrong code: %v", err)
		}
	}
	if _, err := c.Resend(ctx, res.ChallengeID); apiCode(err) != api.CodeRateLimited {
		t.Fatalf("resend within the cooldown: %v, want rate_limited", err)
	}
	w.clock.Advance(61 * time.Second)
	must(c.Resend(ctx, res.ChallengeID))(t)
	newCode, _ := w.code(email)

	// The old code is now simply wrong, and counts as the third guess.
	_, err := c.Verify(ctx, res.ChallengeID, oldCode)
	if apiCode(err) != api.CodeInvalidCode || *err.(*api.Error).AttemptsLeft != 2 {
		t.Fatalf("old code after resend: %v, want invalid_code with 2 attempts left", err)
	}
	ch := must(c.Challenge(ctx, res.ChallengeID))(t)
	if ch.AttemptsLeft != 2 {
		t.Errorf("challenge reports %d attempts left, want 2", ch.AttemptsLeft)
	}
	if !ch.Now.Equal(w.clock.Now()) {
		t.Errorf("challenge says the server's time is %v, want the (moved) clock's %v", ch.Now, w.clock.Now())
	}
	// Two more wrong guesses use up all five; the sixth is refused even though right.
	for range 2 {
		c.Verify(ctx, res.ChallengeID, wrong(newCode))
	}
	if _, err := c.Verify(ctx, res.ChallengeID, newCode); apiCode(err) != api.CodeTooManyAttempts {
		t.Fatalf("sixth guess (right): %v, want too_many_attempts", err)
	}
	if _, err := c.Session(ctx); apiCode(err) != api.CodeInvalidToken {
		t.Fatal("a refused guess signed in")
	}
}

func wrong(code string) string {
	if code == "000000" {
		return "111111"
	}
	return "000000"
}

func TestConcurrentRightCodesSignInExactlyOnce(t *testing.T) {
	ctx := context.Background()
	w := startWorld(t)
	w.account(email, pw, true)
	res, code := signInForCode(t, w, "dev")

	const n = 32
	var wg sync.WaitGroup
	start := make(chan struct{})
	results := make(chan error, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := w.client("dev", networkN)
			<-start
			_, err := c.Verify(ctx, res.ChallengeID, code)
			results <- err
		}()
	}
	close(start)
	wg.Wait()
	close(results)
	wins := 0
	for err := range results {
		switch apiCode(err) {
		case "":
			wins++
		case api.CodeUnknownChallenge:
		default:
			t.Errorf("unexpected answer: %v", err)
		}
	}
	if wins != 1 {
		t.Fatalf("%d of %d concurrent submissions signed in, want exactly 1", wins, n)
	}
	c := w.client("dev", networkN)
	must(c.SignIn(ctx, email, pw, "dev"))(t)
	sec := must(c.Security(ctx))(t)
	// One session from the code, one from the sign-in just above.
	if len(sec.Sessions) != 2 {
		t.Errorf("%d sessions exist, want 2", len(sec.Sessions))
	}
}

// QA moves the clock a month ahead; the server keeps it there across a restart, so a
// desktop app relaunched "a month later" sees its token expired.
func TestTheQAClockSurvivesARestart(t *testing.T) {
	ctx := context.Background()
	w := startWorld(t)
	c := w.client("qa", networkN)
	moved := must(c.AdvanceClock(ctx, 720*time.Hour))(t)
	if !moved.Now.Equal(epoch.Add(720 * time.Hour)) {
		t.Fatalf("clock after +720h = %v", moved.Now)
	}
	w.restart()
	after := must(w.client("qa", networkN).Clock(ctx))(t)
	if !after.Now.Equal(epoch.Add(720 * time.Hour)) {
		t.Fatalf("clock after restart = %v, want %v", after.Now, epoch.Add(720*time.Hour))
	}
	reset := must(w.client("qa", networkN).ResetClock(ctx))(t)
	if !reset.Now.Equal(epoch) || reset.OffsetSeconds != 0 {
		t.Fatalf("clock after reset = %+v", reset)
	}
}
