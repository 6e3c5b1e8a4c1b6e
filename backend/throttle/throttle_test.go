package throttle

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"shoplogin/backend/store"
)

var policy = Policy{Free: 3, Base: 30 * time.Second, Max: time.Hour, Limit: 100, Window: 24 * time.Hour}

func TestWaitDoublesAfterTheFreeFailuresUpToTheMax(t *testing.T) {
	want := map[int]time.Duration{
		1: 0, 3: 0, 4: 30 * time.Second, 5: time.Minute, 6: 2 * time.Minute,
		10: 32 * time.Minute, 11: time.Hour, 60: time.Hour, 100: time.Hour,
	}
	for n, w := range want {
		if got := policy.Wait(n); got != w {
			t.Errorf("Wait(%d) = %v, want %v", n, got, w)
		}
	}
}

func TestFailuresBlockUntilTheWaitIsOverAndSurviveARestart(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "auth.db")
	db, err := store.Open(ctx, path, store.AccountMigrations())
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_800_000_000, 0)
	for range 4 {
		if _, err := Fail(ctx, db.Write, policy, "acct:x", now); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()

	db, err = store.Open(ctx, path, store.AccountMigrations())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if wait, _ := Blocked(ctx, db.Read, "acct:x", now.Add(10*time.Second)); wait != 20*time.Second {
		t.Fatalf("after restart wait = %v, want 20s", wait)
	}
	if wait, _ := Blocked(ctx, db.Read, "acct:x", now.Add(30*time.Second)); wait != 0 {
		t.Fatalf("wait after the block = %v, want 0", wait)
	}
	if wait, _ := Blocked(ctx, db.Read, "acct:other", now); wait != 0 {
		t.Fatalf("an untouched key is blocked for %v", wait)
	}
}

func TestOldFailuresAreForgottenAndResetClearsAll(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "auth.db"), store.AccountMigrations())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	now := time.Unix(1_800_000_000, 0)
	for range 3 {
		Fail(ctx, db.Write, policy, "k", now)
	}
	// A day later the count starts again at one: no wait.
	if wait, _ := Fail(ctx, db.Write, policy, "k", now.Add(25*time.Hour)); wait != 0 {
		t.Fatalf("failure after the window waits %v, want 0", wait)
	}
	for range 5 {
		Fail(ctx, db.Write, policy, "k", now.Add(25*time.Hour))
	}
	if err := Reset(ctx, db.Write, "k"); err != nil {
		t.Fatal(err)
	}
	if wait, _ := Blocked(ctx, db.Read, "k", now.Add(25*time.Hour)); wait != 0 {
		t.Fatalf("blocked %v after reset", wait)
	}
}
