package auth

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"shoplogin/backend/api"
	"shoplogin/backend/clock"
	"shoplogin/backend/codes"
	"shoplogin/backend/message"
	"shoplogin/backend/outbox"
	"shoplogin/backend/password"
	"shoplogin/backend/secret"
	"shoplogin/backend/store"
)

// The hot paths beside password hashing, on a real SQLite file (synchronous=FULL, so a
// commit waits for the disk). Passwords are hashed with the cheap test parameters: argon2
// has its own benchmarks in package password, and here it would hide everything else.
// Logs are discarded; `make bench` measures the whole server with its logs on.

const benchNetwork = "192.0.2.0/24"

func benchService(b *testing.B) *Service {
	b.Helper()
	db, err := store.Open(context.Background(), filepath.Join(b.TempDir(), "auth.db"), store.AccountMigrations())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	clk := clock.NewFixed(time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC))
	keys := secret.Derive(make([]byte, 32))
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	return New(Deps{DB: db, Clock: clk, Random: rand.Reader, Hasher: password.NewHasher(password.TestParams(), nil), Keys: keys,
		Log: log, Brand: message.DefaultBrand(), Mail: outbox.New(db, clk, keys.Outbox, nil, log, outbox.Options{})}, DefaultConfig())
}

// signedIn creates an account with 2FA off and returns a token for device "bench".
func signedIn(b *testing.B, s *Service) string {
	b.Helper()
	ctx := context.Background()
	if err := s.CreateAccount(ctx, email, pw, false); err != nil {
		b.Fatal(err)
	}
	res, err := s.SignIn(ctx, api.SignInRequest{Email: email, Password: pw, DeviceID: "bench"}, benchNetwork)
	if err != nil {
		b.Fatal(err)
	}
	return res.Token
}

// BenchmarkSessionCheck is GET /api/v1/session without HTTP: the token's session, device
// and account, read in one query.
func BenchmarkSessionCheck(b *testing.B) {
	s := benchService(b)
	token := signedIn(b, s)
	ctx := context.Background()
	for b.Loop() {
		p, err := s.Authenticate(ctx, token, "bench")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.Session(ctx, p); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSessionCheckParallel(b *testing.B) {
	s := benchService(b)
	token := signedIn(b, s)
	ctx := context.Background()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			p, err := s.Authenticate(ctx, token, "bench")
			if err == nil {
				_, err = s.Session(ctx, p)
			}
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkPasswordSignInBesideHashing is a sign-in with 2FA off, less the argon2 cost:
// the throttle checks, the account read and the transaction that issues the token.
func BenchmarkPasswordSignInBesideHashing(b *testing.B) {
	s := benchService(b)
	signedIn(b, s)
	ctx := context.Background()
	for b.Loop() {
		if _, err := s.SignIn(ctx, api.SignInRequest{Email: email, Password: pw, DeviceID: "bench"}, benchNetwork); err != nil {
			b.Fatal(err)
		}
	}
}

// challenges makes n sign-ins from new devices waiting for their codes, with known codes:
// one account per five (the hourly cap).
func challenges(b *testing.B, s *Service, n int) []api.VerifyRequest {
	b.Helper()
	ctx := context.Background()
	out := make([]api.VerifyRequest, n)
	for i := range out {
		addr := fmt.Sprintf("bench-%d@example.org", i/5)
		if i%5 == 0 {
			if err := s.CreateAccount(ctx, addr, pw, true); err != nil {
				b.Fatal(err)
			}
		}
		device := fmt.Sprintf("device-%d", i)
		res, err := s.SignIn(ctx, api.SignInRequest{Email: addr, Password: pw, DeviceID: device}, benchNetwork)
		if err != nil {
			b.Fatal(err)
		}
		// As if the email had said it.
		if _, err := s.db.Write.Exec(`UPDATE challenges SET code_mac = ? WHERE id = ?`,
			codes.MAC(s.keys.Code, res.ChallengeID, "123456"), res.ChallengeID); err != nil {
			b.Fatal(err)
		}
		out[i] = api.VerifyRequest{ChallengeID: res.ChallengeID, Code: "123456", DeviceID: device}
	}
	return out
}

// BenchmarkCodeVerification is one caller at a time: every verification waits for its
// own commit, so this is bound by the disk's flush latency.
func BenchmarkCodeVerification(b *testing.B) {
	s := benchService(b)
	reqs := challenges(b, s, b.N)
	ctx := context.Background()
	b.ResetTimer()
	for i := range b.N {
		if _, err := s.Verify(ctx, reqs[i], benchNetwork); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCodeVerificationParallel is many callers at once, as on a busy server: their
// transactions share commits (store.DB.Tx).
func BenchmarkCodeVerificationParallel(b *testing.B) {
	s := benchService(b)
	reqs := challenges(b, s, b.N)
	ctx := context.Background()
	next := make(chan api.VerifyRequest, len(reqs))
	for _, r := range reqs {
		next <- r
	}
	b.SetParallelism(32)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Verify(ctx, <-next, benchNetwork); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
