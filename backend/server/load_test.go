package server_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"shoplogin/backend/api"
	"shoplogin/backend/apiclient"
	"shoplogin/backend/auth"
	"shoplogin/backend/clock"
	"shoplogin/backend/server"
)

// loadDuration is how long the load test runs: 3 s by default (CI), longer with
// SHOPLOGIN_LOAD_DURATION=1m.
func loadDuration(t *testing.T) time.Duration {
	if s := os.Getenv("SHOPLOGIN_LOAD_DURATION"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			t.Fatalf("SHOPLOGIN_LOAD_DURATION=%q: want a duration like 1m", s)
		}
		return d
	}
	return 3 * time.Second
}

// loadCounts is what the clients did and saw, per kind.
type loadCounts struct {
	codeRequired, wrongCodes, verified, directSignIns, sessions int
	// latencies of each kind of request: "sign-in (code)", "wrong code", "verify",
	// "sign-in (trusted)", "session"; and "email", from a sign-in's answer to its email.
	latencies map[string][]time.Duration
	failures  []string
}

func (c *loadCounts) requests() int {
	return c.codeRequired + c.directSignIns + c.wrongCodes + c.verified + c.sessions
}

// heapNow is the live heap after a full collection, plus the goroutine stacks (a leaked
// goroutine shows there, not in the heap).
func heapNow() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc + m.StackInuse
}

// heapGrowthPerRequest bounds how much the live heap may grow per request between the end of
// the warm-up and the end of the run, and heapSlack is the fixed noise allowed on top (pools,
// caches, connection buffers, the collector's timing: measured at about ±1 MiB). Nothing in
// the server should be kept per request once it is answered: a leak of L bytes per request
// fails the test once L*N > heapSlack + 256*N, so N = 1,500 requests (3 s, CI) catch leaks of
// about 3 KiB a request (a leaked goroutine, with its stack, is 2 KiB at least and a
// leaked connection buffer 4 KiB) and a one-minute run (~30,000 requests) about 400 bytes.
const (
	heapGrowthPerRequest = 256
	heapSlack            = 4 << 20
)

// Many clients at once, for a fixed time, each in a loop: sign in from a new device (a code
// is emailed), a wrong code, the right code, a session check, a sign-in from the now trusted
// device, a session check. No answer is a 5xx or unexpected; every code_required got
// exactly one email; the audit log holds exactly one event per request that makes one, per
// type; and the live heap after the run is where it was after the warm-up, within a bound.
func TestUnderLoadNothingFailsNoEmailIsLostCountersAreExactAndMemoryIsFlat(t *testing.T) {
	const clients = 32
	duration := loadDuration(t)
	cfg := auth.DefaultConfig()
	// The hourly code cap would stop each account after five codes; it is tested on its own.
	cfg.CodesPerHour = 1 << 30
	w := startWorld(t, func(c *server.Config) {
		c.Clock = clock.System{} // the inbox finds "the code sent since" by time
		c.Auth = cfg
	})
	ctx := context.Background()
	ib := w.srv.Inbox()
	transport := &http.Transport{MaxIdleConnsPerHost: clients, IdleConnTimeout: time.Minute}
	defer transport.CloseIdleConnections()
	newClient := func(device string) *apiclient.Client {
		c := w.client(device, networkN)
		c.HTTP = &http.Client{Transport: transport, Timeout: 30 * time.Second}
		return c
	}
	for i := range clients {
		w.account(fmt.Sprintf("load-%d@example.org", i), pw, true)
	}

	counts := make([]loadCounts, clients)
	start := time.Now()
	deadline := start.Add(duration)
	warmUp := duration / 4
	var wg sync.WaitGroup
	for i := range clients {
		wg.Go(func() {
			c := &counts[i]
			c.latencies = map[string][]time.Duration{}
			email := fmt.Sprintf("load-%d@example.org", i)
			fail := func(format string, args ...any) { c.failures = append(c.failures, fmt.Sprintf(format, args...)) }
			timed := func(kind string, f func() error) error {
				t0 := time.Now()
				err := f()
				c.latencies[kind] = append(c.latencies[kind], time.Since(t0))
				return err
			}
			for n := 0; time.Now().Before(deadline) && len(c.failures) == 0; n++ {
				d := newClient(fmt.Sprintf("load-%d-%d", i, n))
				since := w.srv.Clock().Now()
				var res api.SignInResult
				if err := timed("sign-in (code)", func() (err error) { res, err = d.SignIn(ctx, email, pw, "load"); return }); err != nil || res.Status != api.StatusCodeRequired {
					fail("sign-in from a new device: %+v, %v", res.Status, err)
					return
				}
				c.codeRequired++
				var code string
				var found bool
				err := timed("email", func() (err error) { code, _, found, err = ib.CodeSince(ctx, email, since, 10*time.Second); return })
				if err != nil || !found {
					fail("no code email for %s: %v", email, err)
					return
				}
				if err := timed("wrong code", func() error { _, err := d.Verify(ctx, res.ChallengeID, wrong(code)); return err }); apiCode(err) != api.CodeInvalidCode {
					fail("wrong code: %v, want invalid_code", err)
					return
				}
				c.wrongCodes++
				if err := timed("verify", func() error { _, err := d.Verify(ctx, res.ChallengeID, code); return err }); err != nil {
					fail("right code: %v", err)
					return
				}
				c.verified++
				for round := range 2 {
					if err := timed("session", func() error { _, err := d.Session(ctx); return err }); err != nil {
						fail("session: %v", err)
						return
					}
					c.sessions++
					if round == 1 {
						break
					}
					if err := timed("sign-in (trusted)", func() (err error) { res, err = d.SignIn(ctx, email, pw, "load"); return }); err != nil || res.Status != api.StatusSignedIn {
						fail("sign-in from the trusted device: %+v, %v", res.Status, err)
						return
					}
					c.directSignIns++
				}
			}
		})
	}
	time.Sleep(warmUp)
	heapWarm := heapNow()
	wg.Wait()
	elapsed := time.Since(start)
	transport.CloseIdleConnections()
	heapEnd := heapNow()

	var total loadCounts
	total.latencies = map[string][]time.Duration{}
	for _, c := range counts {
		for k, l := range c.latencies {
			total.latencies[k] = append(total.latencies[k], l...)
		}
	}
	for i, c := range counts {
		for _, f := range c.failures {
			t.Errorf("client %d: %s", i, f)
		}
		total.codeRequired += c.codeRequired
		total.wrongCodes += c.wrongCodes
		total.verified += c.verified
		total.directSignIns += c.directSignIns
		total.sessions += c.sessions
	}
	if t.Failed() {
		return
	}
	t.Logf("%d clients, %v: %d requests (%.0f/s), %d full sign-ins with a code (%.0f/s)",
		clients, elapsed.Round(time.Millisecond), total.requests(), float64(total.requests())/elapsed.Seconds(),
		total.verified, float64(total.verified)/elapsed.Seconds())
	for _, kind := range []string{"sign-in (code)", "email", "wrong code", "verify", "session", "sign-in (trusted)"} {
		l := total.latencies[kind]
		sort.Slice(l, func(i, j int) bool { return l[i] < l[j] })
		q := func(q float64) time.Duration { return l[int(q*float64(len(l)-1))].Round(10 * time.Microsecond) }
		t.Logf("  %-18s n=%-5d p50 %-9v p99 %-9v max %v", kind, len(l), q(0.5), q(0.99), q(1))
	}

	// Requests after the warm-up, counted generously as all of them: the bound only loosens.
	limit := heapSlack + uint64(heapGrowthPerRequest*total.requests())
	growth := int64(heapEnd) - int64(heapWarm)
	t.Logf("live heap: %.1f MiB after the warm-up, %.1f MiB at the end (%+.1f MiB; limit +%.1f MiB)",
		mib(heapWarm), mib(heapEnd), float64(growth)/(1<<20), mib(limit))
	if growth > int64(limit) {
		t.Errorf("the live heap grew by %.1f MiB over %d requests, more than %.1f MiB: something is kept per request",
			float64(growth)/(1<<20), total.requests(), mib(limit))
	}

	if err := w.srv.Close(); err != nil {
		t.Fatal(err)
	}
	// Every code_required got exactly one email, and there is no other mail.
	mail := openSQLite(t, filepath.Join(w.cfg.DataDir, "inbox.db"))
	for i, c := range counts {
		var n int
		if err := mail.QueryRow(`SELECT count(*) FROM recipients WHERE address_key = ?`, fmt.Sprintf("load-%d@example.org", i)).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != c.codeRequired {
			t.Errorf("client %d was asked for %d codes and got %d emails", i, c.codeRequired, n)
		}
	}
	var messages int
	mail.QueryRow(`SELECT count(*) FROM messages`).Scan(&messages)
	if messages != total.codeRequired {
		t.Errorf("the inbox holds %d emails, want %d (one per code_required)", messages, total.codeRequired)
	}

	// The audit log: one event per request that makes one, per type, and nothing else.
	want := map[string]int{
		"account_created":  clients,
		"code_sent":        total.codeRequired,
		"code_refused":     total.wrongCodes,
		"code_verified":    total.verified,
		"signin_succeeded": total.verified + total.directSignIns,
	}
	got := map[string]int{}
	rows, err := openSQLite(t, filepath.Join(w.cfg.DataDir, "shoplogin.db")).Query(`SELECT type, count(*) FROM events GROUP BY type`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var typ string
		var n int
		rows.Scan(&typ, &n)
		got[typ] = n
	}
	rows.Close()
	for typ := range mergeKeys(want, got) {
		if got[typ] != want[typ] {
			t.Errorf("audit events %s: %d, want %d", typ, got[typ], want[typ])
		}
	}
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }

func mergeKeys(a, b map[string]int) map[string]bool {
	keys := map[string]bool{}
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	return keys
}

// openSQLite opens a database file the test reads after the server has closed it.
func openSQLite(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Ping(); err != nil {
		t.Fatalf("open %s: %v", strings.TrimPrefix(path, os.TempDir()), err)
	}
	return db
}
