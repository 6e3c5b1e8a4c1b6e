package app

import (
	"context"
	"errors"
	"io/fs"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"shoplogin/backend/api"
	"shoplogin/backend/audit"
)

func TestSignUpThenSignInWithoutTwoFactorNeedsNoCode(t *testing.T) {
	w := startWorld(t)
	d := w.device("device-A")

	if err := d.SignUp(email, pw); err != nil {
		t.Fatal(err)
	}
	res := must(d.SignIn(email, pw))(t)
	if res.Status != api.StatusSignedIn || res.Account == nil || res.Account.TwoFactor != api.TwoFactorOff {
		t.Fatalf("sign-in = %+v, want signed_in with 2FA off", res)
	}
	if d.saved(t) == "" || res.Token != "" {
		t.Error("the token was not saved, or it reached the window")
	}
	if !res.ExpiresAt.Equal(epoch.Add(30 * 24 * time.Hour)) {
		t.Errorf("token expires %v, want 30 days on", res.ExpiresAt)
	}
}

func TestSignUpRefusesAWeakPasswordNamingTheField(t *testing.T) {
	w := startWorld(t)
	d := w.device("device-A")

	ui := wantCode(t, d.SignUp(email, "short"), api.CodeWeakPassword)
	if ui.Field != "password" {
		t.Errorf("field = %q, want password", ui.Field)
	}
	wantCode(t, d.SignUp("not an address", pw), api.CodeInvalidEmail)
}

func TestANewDeviceIsAskedForTheEmailedCodeWhichSignsIn(t *testing.T) {
	w := startWorld(t)
	w.account(email, pw, true)
	d := w.device("device-A")

	res := must(d.SignIn(email, pw))(t)
	if res.Status != api.StatusCodeRequired || res.Reason != api.ReasonNewDeviceAndNetwork || res.ChallengeID == "" {
		t.Fatalf("sign-in = %+v, want code_required for new_device_and_network", res)
	}
	if res.Token != "" || d.saved(t) != "" {
		t.Fatal("a token was given before the code")
	}
	if res.EmailHint != "a***@example.org" || !res.ExpiresAt.Equal(epoch.Add(10*time.Minute)) {
		t.Errorf("challenge hint %q expires %v", res.EmailHint, res.ExpiresAt)
	}
	ch := must(d.Challenge(res.ChallengeID))(t)
	if ch.AttemptsLeft != 5 || ch.Reason != api.ReasonNewDeviceAndNetwork {
		t.Errorf("challenge = %+v, want 5 attempts for new_device_and_network", ch)
	}

	code := w.code(d, email)
	signed := must(d.Verify(res.ChallengeID, code))(t)
	if signed.Status != api.StatusSignedIn || signed.Token != "" {
		t.Fatalf("verify = %+v, want signed_in with the token kept out of the window", signed)
	}
	if d.saved(t) == "" {
		t.Error("the token from the code was not saved in the token store")
	}
	if sess := must(d.RestoreSession())(t); sess == nil || sess.Account.Email != email {
		t.Fatalf("session after the code = %+v", sess)
	}
}

func TestTheDeliveryStateOfTheCodeIsShown(t *testing.T) {
	w := startWorld(t)
	w.account(email, pw, true)
	d := w.device("device-A")
	res := must(d.SignIn(email, pw))(t)
	w.code(d, email)

	// The inbox has the message; the outbox marks it sent once the SMTP answer is read.
	ch := must(d.Challenge(res.ChallengeID))(t)
	switch ch.Delivery {
	case api.DeliveryQueued, api.DeliverySent:
	default:
		t.Fatalf("delivery = %q, want queued or sent", ch.Delivery)
	}
}

func TestARestartWithinTheMonthOpensStraightIntoTheShop(t *testing.T) {
	w := startWorld(t)
	w.account(email, pw, true)
	first := w.device("device-A")
	signed := w.signIn(first, email, pw)

	must(first.QAAdvanceClock("719h"))(t)
	again := w.restart(first)
	sess := must(again.RestoreSession())(t)
	if sess == nil {
		t.Fatal("a restart within the month shows the sign-in screen")
	}
	if sess.Account.Email != email || !sess.ExpiresAt.Equal(signed.ExpiresAt) {
		t.Errorf("restored session = %+v, want %s until %v", sess, email, signed.ExpiresAt)
	}
	// The restored token is the one the app now uses.
	if sec := must(again.Security())(t); sec.TwoFactor != api.TwoFactorEmail {
		t.Errorf("security after restore = %+v", sec)
	}
}

func TestAfterAMonthTheTokenIsClearedAndTheSameDeviceAndNetworkNeedNoCode(t *testing.T) {
	w := startWorld(t)
	w.account(email, pw, true)
	first := w.device("device-A")
	w.signIn(first, email, pw)

	must(first.QAAdvanceClock("720h"))(t)
	later := w.restart(first)
	if sess := must(later.RestoreSession())(t); sess != nil {
		t.Fatalf("restore after 30 days = %+v, want nil", sess)
	}
	if _, err := os.Stat(later.tokens.path(later.server)); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the expired token's file is still there (%v)", err)
	}

	res := must(later.SignIn(email, pw))(t)
	if res.Status != api.StatusSignedIn {
		t.Fatalf("monthly sign-in from the same device and network = %+v, want no code", res)
	}
	if later.saved(t) == "" || res.Token != "" {
		t.Error("the new token was not saved, or it reached the window")
	}
	for _, m := range must(later.QAMessages())(t) {
		if strings.Contains(m.Subject, "Two Factor Authentication code") {
			t.Errorf("a code was emailed: %q", m.Subject)
		}
	}
}

func TestResendWithinTheCooldownIsRateLimitedUntilTheClockMoves(t *testing.T) {
	w := startWorld(t)
	w.account(email, pw, true)
	d := w.device("device-A")
	res := must(d.SignIn(email, pw))(t)
	first := w.code(d, email)

	_, err := d.Resend(res.ChallengeID)
	ui := wantCode(t, err, api.CodeRateLimited)
	if ui.RetryAfter <= 0 || ui.RetryAfter > 60 {
		t.Errorf("retry_after = %d, want 1..60", ui.RetryAfter)
	}

	must(d.QAAdvanceClock("61s"))(t)
	again := must(d.Resend(res.ChallengeID))(t)
	if !again.ExpiresAt.Equal(epoch.Add(61*time.Second + 10*time.Minute)) {
		t.Errorf("resent code expires %v, want ten minutes from now", again.ExpiresAt)
	}
	second := w.code(d, email)
	if second == first {
		// One in a million; the old code is dead all the same.
		t.Log("the new code happens to equal the old one")
	}
	if signed := must(d.Verify(res.ChallengeID, second))(t); signed.Status != api.StatusSignedIn {
		t.Fatalf("the resent code = %+v", signed)
	}
}

func TestAWrongCodeSaysHowManyAttemptsAreLeft(t *testing.T) {
	w := startWorld(t)
	w.account(email, pw, true)
	d := w.device("device-A")
	res := must(d.SignIn(email, pw))(t)
	code := w.code(d, email)

	_, err := d.Verify(res.ChallengeID, wrong(code))
	ui := wantCode(t, err, api.CodeInvalidCode)
	if ui.AttemptsLeft == nil || *ui.AttemptsLeft != 4 {
		t.Fatalf("attempts_left = %v, want 4", ui.AttemptsLeft)
	}
	if ch := must(d.Challenge(res.ChallengeID))(t); ch.AttemptsLeft != 4 {
		t.Errorf("challenge shows %d attempts left, want 4", ch.AttemptsLeft)
	}
	if d.saved(t) != "" {
		t.Error("a wrong code saved a token")
	}
	// The right code still works, with a space in the middle as users type it.
	if signed := must(d.Verify(res.ChallengeID, code[:3]+" "+code[3:]))(t); signed.Status != api.StatusSignedIn {
		t.Fatalf("the right code after a wrong one = %+v", signed)
	}
}

func TestAnUnknownChallengeIsNamed(t *testing.T) {
	w := startWorld(t)
	d := w.device("device-A")

	_, err := d.Verify("no-such-challenge", "123456")
	wantCode(t, err, api.CodeUnknownChallenge)
	_, err = d.Resend("no-such-challenge")
	wantCode(t, err, api.CodeUnknownChallenge)
	_, err = d.Challenge("no-such-challenge")
	wantCode(t, err, api.CodeUnknownChallenge)
}

func wrong(code string) string {
	if code == "000000" {
		return "111111"
	}
	return "000000"
}

func TestAWrongPasswordIsInvalidCredentials(t *testing.T) {
	w := startWorld(t)
	w.account(email, pw, false)
	d := w.device("device-A")

	_, err := d.SignIn(email, "not the password")
	wantCode(t, err, api.CodeInvalidCredentials)
	_, err = d.SignIn("nobody@example.org", pw)
	wantCode(t, err, api.CodeInvalidCredentials)
	if d.saved(t) != "" {
		t.Error("a refused sign-in saved a token")
	}
}

func TestRestoreSessionWithoutATokenShowsTheSignInScreen(t *testing.T) {
	w := startWorld(t)
	d := w.device("device-A")

	if sess := must(d.RestoreSession())(t); sess != nil {
		t.Fatalf("restore with no token = %+v", sess)
	}
	// A token the server does not know is dropped, not retried on every launch.
	if err := d.tokens.Save(d.server, "forged-token"); err != nil {
		t.Fatal(err)
	}
	if sess := must(d.RestoreSession())(t); sess != nil {
		t.Fatalf("restore with an unknown token = %+v", sess)
	}
	if d.saved(t) != "" {
		t.Error("the refused token is still saved")
	}
}

func TestSignOutEndsThisSession(t *testing.T) {
	w := startWorld(t)
	w.account(email, pw, false)
	d := w.device("device-A")
	token := w.signIn(d, email, pw).Token

	if err := d.SignOut(); err != nil {
		t.Fatal(err)
	}
	if d.saved(t) != "" {
		t.Error("the token is still saved after sign-out")
	}
	// The old token is dead on the server, not just forgotten here.
	if err := d.tokens.Save(d.server, token); err != nil {
		t.Fatal(err)
	}
	if sess := must(w.restart(d).RestoreSession())(t); sess != nil {
		t.Fatal("the signed-out token still opens a session")
	}
	// Signing out twice is not an error.
	if err := d.SignOut(); err != nil {
		t.Errorf("second sign-out: %v", err)
	}
}

func TestTwoFactorTurnsOnAndOffOnlyWithThePassword(t *testing.T) {
	w := startWorld(t)
	d := w.device("device-A")
	if err := d.SignUp(email, pw); err != nil {
		t.Fatal(err)
	}
	w.signIn(d, email, pw)
	if sec := must(d.Security())(t); sec.TwoFactor != api.TwoFactorOff {
		t.Fatalf("2FA after sign-up = %q, want off", sec.TwoFactor)
	}

	ui := wantCode(t, d.SetTwoFactor(true, "not the password"), api.CodeInvalidCredentials)
	if ui.Field != "password" {
		t.Errorf("field = %q, want password", ui.Field)
	}
	if sec := must(d.Security())(t); sec.TwoFactor != api.TwoFactorOff {
		t.Fatal("a wrong password turned 2FA on")
	}

	if err := d.SetTwoFactor(true, pw); err != nil {
		t.Fatal(err)
	}
	sec := must(d.Security())(t)
	if sec.TwoFactor != api.TwoFactorEmail {
		t.Fatalf("2FA = %q, want email", sec.TwoFactor)
	}
	// The device and network it was turned on from are trusted: no code for them.
	if res := must(d.SignIn(email, pw))(t); res.Status != api.StatusSignedIn {
		t.Errorf("sign-in from where 2FA was turned on = %+v, want no code", res)
	}
	if res := must(w.device("device-B").SignIn(email, pw))(t); res.Status != api.StatusCodeRequired || res.Reason != api.ReasonNewDevice {
		t.Errorf("another device with 2FA on = %+v, want code_required for new_device", res)
	}

	if err := d.SetTwoFactor(false, pw); err != nil {
		t.Fatal(err)
	}
	if res := must(w.device("device-C").SignIn(email, pw))(t); res.Status != api.StatusSignedIn {
		t.Errorf("another device with 2FA off = %+v, want no code", res)
	}
}

func TestSecurityListsDevicesNetworksAndSessionsWithTheCurrentOneMarked(t *testing.T) {
	w := startWorld(t)
	w.account(email, pw, true)
	a, b := w.device("device-A"), w.device("device-B")
	w.signIn(a, email, pw)
	w.signIn(b, email, pw)

	sec := must(a.Security())(t)
	if sec.TwoFactor != api.TwoFactorEmail || len(sec.Devices) != 2 || len(sec.Networks) != 1 || len(sec.Sessions) != 2 {
		t.Fatalf("security = %+v, want 2 devices, 1 network, 2 sessions", sec)
	}
	current := 0
	for _, dev := range sec.Devices {
		if !dev.Trusted {
			t.Errorf("device %+v is not trusted after its code", dev)
		}
		if dev.Current {
			current++
		}
	}
	if current != 1 {
		t.Errorf("%d devices are marked current, want 1", current)
	}
	if !sec.Networks[0].Current || !sec.Networks[0].Trusted {
		t.Errorf("network = %+v, want current and trusted", sec.Networks[0])
	}
	current = 0
	for _, s := range sec.Sessions {
		if s.Current {
			current++
		}
	}
	if current != 1 {
		t.Errorf("%d sessions are marked current, want 1", current)
	}
}

func TestSecurityWithoutAGoodTokenSignsOutAndSaysSo(t *testing.T) {
	w := startWorld(t)
	d := w.device("device-A")

	_, err := d.Security()
	wantCode(t, err, api.CodeInvalidToken)
	if got := d.events.named(EventSessionExpired); len(got) != 1 || got[0].data[0] != string(api.CodeInvalidToken) {
		t.Fatalf("session:expired events = %+v, want one with invalid_token", got)
	}
}

func TestForgettingADeviceSignsItOutAndItsNextSignInAsksForACode(t *testing.T) {
	w := startWorld(t)
	w.account(email, pw, true)
	a, b := w.device("device-A"), w.device("device-B")
	w.signIn(a, email, pw)
	w.signIn(b, email, pw)

	var other int64
	for _, dev := range must(a.Security())(t).Devices {
		if !dev.Current {
			other = dev.ID
		}
	}
	if err := a.ForgetDevice(other); err != nil {
		t.Fatal(err)
	}
	wantCode(t, a.ForgetDevice(other), api.CodeNotFound)

	// B finds out on its next call: signed out, told, token gone.
	_, err := b.Security()
	wantCode(t, err, api.CodeInvalidToken)
	if len(b.events.named(EventSessionExpired)) != 1 {
		t.Error("the forgotten device was not told its session expired")
	}
	if b.saved(t) != "" {
		t.Error("the forgotten device kept its token")
	}
	if res := must(b.SignIn(email, pw))(t); res.Status != api.StatusCodeRequired || res.Reason != api.ReasonNewDevice {
		t.Fatalf("sign-in from the forgotten device = %+v, want code_required for new_device", res)
	}
	if _, err := a.Security(); err != nil {
		t.Errorf("forgetting another device signed this one out: %v", err)
	}
}

func TestForgettingTheNetworkMakesTheNextSignInAskForTheNetwork(t *testing.T) {
	w := startWorld(t)
	w.account(email, pw, true)
	d := w.device("device-A")
	w.signIn(d, email, pw)

	nets := must(d.Security())(t).Networks
	if len(nets) != 1 {
		t.Fatalf("networks = %+v", nets)
	}
	if err := d.ForgetNetwork(nets[0].ID); err != nil {
		t.Fatal(err)
	}
	wantCode(t, d.ForgetNetwork(nets[0].ID), api.CodeNotFound)
	if res := must(d.SignIn(email, pw))(t); res.Status != api.StatusCodeRequired || res.Reason != api.ReasonNewNetwork {
		t.Fatalf("sign-in from the forgotten network = %+v, want code_required for new_network", res)
	}
}

func TestSignOutEverywhereEndsThisAndEveryOtherSession(t *testing.T) {
	w := startWorld(t)
	w.account(email, pw, false)
	a, b := w.device("device-A"), w.device("device-B")
	w.signIn(a, email, pw)
	w.signIn(b, email, pw)

	if err := a.SignOutEverywhere(); err != nil {
		t.Fatal(err)
	}
	if a.saved(t) != "" {
		t.Error("this app kept its token")
	}
	if sess := must(w.restart(a).RestoreSession())(t); sess != nil {
		t.Error("this app restores a session after signing out everywhere")
	}
	_, err := b.Security()
	wantCode(t, err, api.CodeInvalidToken)
	if len(b.events.named(EventSessionExpired)) != 1 || b.saved(t) != "" {
		t.Error("the other app was not signed out")
	}
	// Not signed in any more: signing out everywhere again is refused.
	wantCode(t, a.SignOutEverywhere(), api.CodeInvalidToken)
}

func TestChangingThePasswordKeepsThisAppSignedInAndSignsTheOtherOut(t *testing.T) {
	const newPW = "a brand new passphrase"
	w := startWorld(t)
	w.account(email, pw, false)
	a, b := w.device("device-A"), w.device("device-B")
	old := w.signIn(a, email, pw).Token
	w.signIn(b, email, pw)

	ui := wantCode(t, a.ChangePassword("not the password", newPW), api.CodeInvalidCredentials)
	if ui.Field != "current_password" {
		t.Errorf("field = %q, want current_password", ui.Field)
	}
	ui = wantCode(t, a.ChangePassword(pw, "short"), api.CodeWeakPassword)
	if ui.Field != "new_password" {
		t.Errorf("field = %q, want new_password", ui.Field)
	}

	if err := a.ChangePassword(pw, newPW); err != nil {
		t.Fatal(err)
	}
	fresh := a.saved(t)
	if fresh == "" || fresh == old {
		t.Fatal("no fresh token was saved")
	}
	if _, err := a.Security(); err != nil {
		t.Fatalf("this app after the change: %v", err)
	}
	if sess := must(w.restart(a).RestoreSession())(t); sess == nil {
		t.Error("the fresh token does not survive a restart")
	}
	if sess := must(b.RestoreSession())(t); sess != nil {
		t.Error("the other app is still signed in")
	}

	_, err := b.SignIn(email, pw)
	wantCode(t, err, api.CodeInvalidCredentials)
	if res := must(b.SignIn(email, newPW))(t); res.Status != api.StatusSignedIn {
		t.Errorf("sign-in with the new password = %+v", res)
	}
}

func TestSimulatingANewDeviceSignsOutAndTheNextSignInAsksForTheDevice(t *testing.T) {
	w := startWorld(t)
	w.account(email, pw, true)
	d := w.device("device-A")
	w.signIn(d, email, pw)

	if err := d.QASimulateNewDevice(); err != nil {
		t.Fatal(err)
	}
	if got := d.events.named(EventSessionExpired); len(got) != 1 || got[0].data[0] != api.ReasonNewDevice {
		t.Fatalf("session:expired events = %+v, want one with new_device", got)
	}
	if d.saved(t) != "" {
		t.Error("the old device's token is still saved")
	}
	res := must(d.SignIn(email, pw))(t)
	if res.Status != api.StatusCodeRequired || res.Reason != api.ReasonNewDevice {
		t.Fatalf("sign-in as a new device = %+v, want code_required for new_device", res)
	}
	// The code binds the simulated device: verifying from it signs in.
	if signed := must(d.Verify(res.ChallengeID, w.code(d, email)))(t); signed.Status != api.StatusSignedIn {
		t.Fatalf("verify as the new device = %+v", signed)
	}
	if len(must(d.Security())(t).Devices) != 2 {
		t.Error("the simulated device is not listed beside the real one")
	}
}

func TestSimulatingANewNetworkMakesTheNextSignInAskForTheNetwork(t *testing.T) {
	w := startWorld(t)
	w.account(email, pw, true)
	d := w.device("device-A")
	w.signIn(d, email, pw)

	if err := d.QASimulateNewNetwork(); err != nil {
		t.Fatal(err)
	}
	res := must(d.SignIn(email, pw))(t)
	if res.Status != api.StatusCodeRequired || res.Reason != api.ReasonNewNetwork {
		t.Fatalf("sign-in from a new network = %+v, want code_required for new_network", res)
	}
	must(d.Verify(res.ChallengeID, w.code(d, email)))(t)
	nets := must(d.Security())(t).Networks
	if len(nets) != 2 {
		t.Fatalf("networks = %+v, want the loopback one and the simulated one", nets)
	}
	for _, n := range nets {
		if n.Current != strings.HasPrefix(n.Network, "198.1") {
			t.Errorf("network %+v: only the simulated 198.18.0.0/15 one should be current", n)
		}
	}
}

func TestQAMethodsRefuseWithNotFoundWhenQAIsOff(t *testing.T) {
	w := startWorld(t)
	d := w.appOn(w.srv.URL(), "device-A", FileTokens{Dir: t.TempDir()}, false)

	if d.QAEnabled() {
		t.Fatal("QAEnabled with QA off")
	}
	calls := map[string]func() error{
		"QAMessages":           func() error { _, err := d.QAMessages(); return err },
		"QAMessage":            func() error { _, err := d.QAMessage(1); return err },
		"QAClearInbox":         d.QAClearInbox,
		"QAClock":              func() error { _, err := d.QAClock(); return err },
		"QAAdvanceClock":       func() error { _, err := d.QAAdvanceClock("720h"); return err },
		"QAResetClock":         func() error { _, err := d.QAResetClock(); return err },
		"QASimulateNewDevice":  d.QASimulateNewDevice,
		"QASimulateNewNetwork": d.QASimulateNewNetwork,
		"QAEvents":             func() error { _, err := d.QAEvents(email); return err },
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			wantCode(t, call(), api.CodeNotFound)
		})
	}
	if now := w.srv.Clock().Now(); !now.Equal(epoch) {
		t.Errorf("the server clock moved to %v", now)
	}
	if len(d.events.named(EventSessionExpired)) != 0 {
		t.Error("a refused QA call emitted an event")
	}
}

func TestQAEnabledWithQAOn(t *testing.T) {
	if !startWorld(t).device("device-A").QAEnabled() {
		t.Fatal("QAEnabled is false with QA on")
	}
}

func TestTheQAClockMovesAndResets(t *testing.T) {
	w := startWorld(t)
	d := w.device("device-A")

	if c := must(d.QAClock())(t); !c.Now.Equal(epoch) || c.OffsetSeconds != 0 {
		t.Fatalf("clock = %+v, want %v", c, epoch)
	}
	c := must(d.QAAdvanceClock("10m"))(t)
	if !c.Now.Equal(epoch.Add(10*time.Minute)) || c.OffsetSeconds != 600 {
		t.Fatalf("clock after +10m = %+v", c)
	}
	if now := w.srv.Clock().Now(); !now.Equal(epoch.Add(10 * time.Minute)) {
		t.Errorf("the server's clock reads %v", now)
	}
	must(d.QAAdvanceClock("720h"))(t)
	if c := must(d.QAClock())(t); !c.Now.Equal(epoch.Add(720*time.Hour + 10*time.Minute)) {
		t.Fatalf("clock after +1 month = %+v", c)
	}

	for _, bad := range []string{"soon", "-5m", "0s", ""} {
		_, err := d.QAAdvanceClock(bad)
		wantCode(t, err, api.CodeInvalidRequest)
	}

	if c := must(d.QAResetClock())(t); !c.Now.Equal(epoch) || c.OffsetSeconds != 0 {
		t.Fatalf("clock after reset = %+v", c)
	}
	if now := w.srv.Clock().Now(); !now.Equal(epoch) {
		t.Errorf("the server's clock reads %v after reset", now)
	}
}

func TestQAClearInboxEmptiesTheInbox(t *testing.T) {
	w := startWorld(t)
	w.account(email, pw, true)
	d := w.device("device-A")
	must(d.SignIn(email, pw))(t)
	if _, _, err := w.qa.Code(t.Context(), email, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	list := must(d.QAMessages())(t)
	if len(list) == 0 {
		t.Fatal("the code email is not in the inbox")
	}

	if err := d.QAClearInbox(); err != nil {
		t.Fatal(err)
	}
	if after := must(d.QAMessages())(t); len(after) != 0 {
		t.Fatalf("inbox after clearing = %+v", after)
	}
	_, err := d.QAMessage(list[0].ID)
	wantCode(t, err, api.CodeNotFound)
}

func TestQAEventsListsTheAuditLogOfAnEmailNewestFirst(t *testing.T) {
	w := startWorld(t)
	d := w.device("device-A")
	if err := d.SignUp(email, pw); err != nil {
		t.Fatal(err)
	}
	_, err := d.SignIn(email, "not the password")
	wantCode(t, err, api.CodeInvalidCredentials)
	w.signIn(d, email, pw)

	var types []string
	for _, e := range must(d.QAEvents(email))(t) {
		types = append(types, e.Type)
	}
	want := []string{audit.SignInSucceeded, audit.SignInFailed, audit.SignUp}
	if strings.Join(types, " ") != strings.Join(want, " ") {
		t.Fatalf("events = %v, want %v", types, want)
	}
	if other := must(d.QAEvents("nobody@example.org"))(t); len(other) != 0 {
		t.Errorf("events of another address = %+v", other)
	}
}

func TestNewMailInTheQAInboxIsPushedToTheWindow(t *testing.T) {
	w := startWorld(t)
	w.account(email, pw, true)
	d := w.device("device-A")

	// Hear each poll the watcher makes, so the mail is sent only after it has looked
	// at the empty inbox once.
	polled := make(chan struct{}, 100)
	d.client.HTTP = &http.Client{Transport: notifyingTransport{polled}}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); d.watchInbox(ctx, 5*time.Millisecond) }()
	t.Cleanup(func() { cancel(); <-done })
	waitFor(t, polled)

	must(d.SignIn(email, pw))(t)
	_, id, err := w.qa.Code(t.Context(), email, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	for {
		select {
		case e := <-d.events.ch:
			if e.name != EventMailReceived {
				continue
			}
			if len(e.data) != 1 || e.data[0] != id {
				t.Fatalf("mail:received %v, want message %d", e.data, id)
			}
			return
		case <-time.After(10 * time.Second):
			t.Fatal("no mail:received event")
		}
	}
}

func TestBoundMethodsAreSafeToCallConcurrently(t *testing.T) {
	w := startWorld(t)
	w.account(email, pw, false)
	d := w.device("device-A")
	w.signIn(d, email, pw)

	// Wails runs every call on its own goroutine; -race checks the App's shared state.
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for range 5 {
		wg.Go(func() {
			if _, err := d.Security(); err != nil {
				errs <- err
			}
		})
		wg.Go(func() {
			if _, err := d.SignIn(email, pw); err != nil {
				errs <- err
			}
		})
		wg.Go(func() {
			if err := d.QASimulateNewNetwork(); err != nil {
				errs <- err
			}
		})
		wg.Go(func() {
			if _, err := d.QAClock(); err != nil {
				errs <- err
			}
		})
		wg.Go(func() { d.SetEmitter(d.events.emit) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
