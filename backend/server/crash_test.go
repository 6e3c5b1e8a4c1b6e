package server_test

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"shoplogin/backend/api"
	"shoplogin/backend/apiclient"
	"shoplogin/backend/clock"
	"shoplogin/backend/inbox"
	"shoplogin/backend/inbox/inboxtest"
)

// child is a server running in a process of its own (this test binary, re-executed: see
// TestMain), so that it can be killed the hard way.
type child struct {
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	url     string
	stderr  *lockedBuffer
	started time.Time
	killed  bool
}

func startChild(t *testing.T, dataDir, relayAddr string) *child {
	t.Helper()
	c := &child{stderr: &lockedBuffer{}, started: time.Now()}
	c.cmd = exec.Command(os.Args[0], "-test.run=^$")
	c.cmd.Env = append(os.Environ(), childEnv+"="+dataDir, childRelayEnv+"="+relayAddr)
	c.cmd.Stderr = c.stderr
	stdout, err := c.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if c.stdin, err = c.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.kill)
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(stdout).ReadString('\n')
		line <- s
		io.Copy(io.Discard, stdout)
	}()
	select {
	case s := <-line:
		url, ok := strings.CutPrefix(strings.TrimSpace(s), "URL ")
		if !ok {
			c.kill()
			t.Fatalf("the child server did not start: %q\n%s", s, c.stderr.String())
		}
		c.url = url
	case <-time.After(30 * time.Second):
		c.kill()
		t.Fatalf("the child server did not start within 30 s\n%s", c.stderr.String())
	}
	return c
}

// kill ends the child with SIGKILL: no deferred function, no shutdown, no checkpoint runs.
func (c *child) kill() {
	if c.killed {
		return
	}
	c.killed = true
	c.cmd.Process.Kill()
	c.cmd.Wait()
	c.stdin.Close()
}

// crashLedger is what the clients were told, and so what must survive a crash.
type crashLedger struct {
	mu sync.Mutex
	// tokens were answered with signed_in: each must keep working.
	tokens []signedIn
	// used are codes that signed in: each must be refused from now on.
	used []codeUse
	// unanswered are verifications cut off by a kill: the server may or may not have taken
	// them, but it may take each at most once.
	unanswered []codeUse
	// challenges were answered with code_required: each must exist after a crash.
	challenges []string
	// errors are answers no crash explains, seen by the clients.
	errors []string
}

type signedIn struct{ token, device string }

type codeUse struct{ challenge, code, device string }

// unexpected records an answer a crash cannot explain: a kill cuts connections, it never
// makes the server answer with an error.
func (l *crashLedger) unexpected(format string, args ...any) {
	l.add(func(l *crashLedger) { l.errors = append(l.errors, fmt.Sprintf(format, args...)) })
}

func (l *crashLedger) add(f func(l *crashLedger)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f(l)
}

// crashRounds is how many fresh data folders the test crashes: 5 by default (CI), more with
// SHOPLOGIN_CRASH_ROUNDS=50, or repeat the whole test with -count.
func crashRounds(t *testing.T) int {
	if s := os.Getenv("SHOPLOGIN_CRASH_ROUNDS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("SHOPLOGIN_CRASH_ROUNDS=%q: want a positive number", s)
		}
		return n
	}
	return 5
}

// The server is killed with SIGKILL at random moments while clients sign in and verify
// codes concurrently, and restarted on the same data folder each time. After every crash
// the database passes PRAGMA integrity_check, every token the server handed out still
// works, and every code that signed in is refused. At the end, every code email that was
// committed (queued in the same transaction as its challenge) reached the relay, and none
// twice except in the one window SMTP cannot close: a relay that took the message while
// the server died before recording it (see outbox: at-least-once). The test checks that such
// a duplicate is byte-identical and straddles a kill, at most one per kill.
func TestSIGKILLLosesNoTokenReusesNoCodeAndLosesNoEmail(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test: skipped with -short")
	}
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("SHOPLOGIN_CRASH_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	t.Logf("SHOPLOGIN_CRASH_SEED=%d", seed)
	rng := rand.New(rand.NewPCG(seed, seed>>1))
	rounds := crashRounds(t)
	for round := range rounds {
		t.Run(fmt.Sprintf("round %d", round+1), func(t *testing.T) {
			crashRound(t, rng, round)
		})
	}
}

const (
	crashKills   = 3 // kills per data folder, each followed by a restart
	crashWorkers = 6 // concurrent clients
)

func crashRound(t *testing.T, rng *rand.Rand, round int) {
	ctx := context.Background()
	dataDir := filepath.Join(t.TempDir(), "data")
	relay, relayAddr := inboxtest.Start(t, clock.System{}, inbox.Options{})
	ledger := &crashLedger{}
	var kills, restarts []time.Time

	for phase := 0; ; phase++ {
		c := startChild(t, dataDir, relayAddr)
		restarts = append(restarts, c.started)
		if phase > 0 {
			checkSurvivors(t, c.url, ledger)
		}
		if phase == crashKills {
			finishRound(t, ctx, c, dataDir, relay, ledger, kills, restarts)
			return
		}
		runCrashPhase(t, c, relay, ledger, rng, fmt.Sprintf("r%d-p%d", round, phase))
		kills = append(kills, time.Now())
		checkIntegrity(t, dataDir)
	}
}

// runCrashPhase runs the clients against c and kills c after a random 100–400 ms.
func runCrashPhase(t *testing.T, c *child, relay *inbox.Inbox, ledger *crashLedger, rng *rand.Rand, tag string) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for w := range crashWorkers {
		wg.Go(func() { crashClient(ctx, c.url, relay, ledger, fmt.Sprintf("%s-w%d", tag, w)) })
	}
	time.Sleep(time.Duration(100+rng.IntN(300)) * time.Millisecond) // the random moment of the crash
	c.kill()
	cancel()
	wg.Wait()
}

// crashClient signs new accounts in, with a code, until the server dies. Each account gets
// exactly one challenge, so the relay's mail to it is that challenge's mail.
func crashClient(ctx context.Context, url string, relay *inbox.Inbox, ledger *crashLedger, tag string) {
	qa := apiclient.New(url, "qa")
	// An API error is a real answer, so a failure; anything else is the kill cutting the
	// connection, which ends this client.
	stop := func(what string, err error) bool {
		var apiErr *api.Error
		if errors.As(err, &apiErr) {
			ledger.unexpected("%s: %v", what, err)
		}
		return err != nil
	}
	for n := 0; ctx.Err() == nil; n++ {
		email := fmt.Sprintf("%s-%d@example.org", tag, n)
		if stop("create account", qa.CreateAccount(ctx, email, pw, true)) {
			return
		}
		device := fmt.Sprintf("device-%s-%d", tag, n)
		d := apiclient.New(url, device)
		res, err := d.SignIn(ctx, email, pw, "crash test")
		if stop("sign in", err) {
			return
		}
		if res.Status != api.StatusCodeRequired {
			ledger.unexpected("a new device got %q, want code_required", res.Status)
			return
		}
		ledger.add(func(l *crashLedger) { l.challenges = append(l.challenges, res.ChallengeID) })
		code, _, found, err := relay.Code(ctx, email, 10*time.Second)
		if err != nil || !found {
			return
		}
		use := codeUse{res.ChallengeID, code, device}
		signed, err := d.Verify(ctx, res.ChallengeID, code)
		if stop("verify the emailed code", err) {
			if !errors.As(err, new(*api.Error)) {
				// Cut off by the kill: whether the server took it is unknown.
				ledger.add(func(l *crashLedger) { l.unanswered = append(l.unanswered, use) })
			}
			return
		}
		ledger.add(func(l *crashLedger) {
			l.tokens = append(l.tokens, signedIn{signed.Token, device})
			l.used = append(l.used, use)
		})
		if _, err := d.Session(ctx); stop("session", err) {
			return
		}
	}
}

// checkIntegrity opens the database the killed server left (recovering its WAL) and runs
// SQLite's full consistency check.
func checkIntegrity(t *testing.T, dataDir string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dataDir, "shoplogin.db")+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`PRAGMA integrity_check`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var s string
		rows.Scan(&s)
		problems = append(problems, s)
	}
	if len(problems) != 1 || problems[0] != "ok" {
		t.Fatalf("integrity_check after SIGKILL: %q", problems)
	}
}

// checkSurvivors runs right after a restart: every token answered before still works from
// its device; every code that signed in is refused; an unanswered verification is taken at
// most once, and is then refused too.
func checkSurvivors(t *testing.T, url string, ledger *crashLedger) {
	t.Helper()
	ctx := context.Background()
	ledger.mu.Lock()
	defer ledger.mu.Unlock()
	for _, s := range ledger.tokens {
		c := apiclient.New(url, s.device)
		c.Token = s.token
		if _, err := c.Session(ctx); err != nil {
			t.Fatalf("a token the server answered with stopped working after SIGKILL: %v", err)
		}
	}
	if len(ledger.errors) > 0 {
		t.Fatalf("clients got answers no crash explains:\n%s", strings.Join(ledger.errors, "\n"))
	}
	for _, u := range ledger.unanswered {
		res, err := apiclient.New(url, u.device).Verify(ctx, u.challenge, u.code)
		switch apiCode(err) {
		case "": // the crash came before the commit: this is its first and only success
			ledger.tokens = append(ledger.tokens, signedIn{res.Token, u.device})
		case api.CodeUnknownChallenge: // it committed before the crash; its answer was lost
		default:
			t.Fatalf("an unanswered verification, retried after the restart: %v", err)
		}
		ledger.used = append(ledger.used, u)
	}
	ledger.unanswered = nil
	for _, u := range ledger.used {
		if _, err := apiclient.New(url, u.device).Verify(ctx, u.challenge, u.code); apiCode(err) != api.CodeUnknownChallenge {
			t.Fatalf("a code that had signed in, entered again after SIGKILL: %v, want unknown_challenge", err)
		}
	}
}

// outboxLease is how long the outbox hides a mail claimed by a worker (sendTimeout + 1 min
// in package outbox): a worker killed mid-send leaves its mail hidden that long.
const outboxLease = 3 * time.Minute

// finishRound lets the last server deliver everything, then compares the mail the
// database committed with the mail the relay received.
func finishRound(t *testing.T, ctx context.Context, c *child, dataDir string, relay *inbox.Inbox, ledger *crashLedger, kills, restarts []time.Time) {
	t.Helper()
	// Mail a killed worker had claimed comes back when its lease ends: move the server's
	// clock past it (codes stay valid: they last 10 minutes).
	if _, err := apiclient.New(c.url, "qa").AdvanceClock(ctx, outboxLease+time.Minute); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dataDir, "shoplogin.db")+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	waitFor(t, "the outbox to drain", func() bool {
		var waiting int
		err := db.QueryRow(`SELECT count(*) FROM outbox WHERE status IN ('queued', 'retrying')`).Scan(&waiting)
		return err == nil && waiting == 0
	})
	c.kill()
	checkIntegrity(t, dataDir)

	type committed struct {
		challenge, to, status string
		attempts              int
	}
	byAddress := map[string]committed{}
	rows, err := db.Query(`SELECT c.id, a.email, COALESCE(o.status, ''), COALESCE(o.attempts, 0)
		FROM challenges c JOIN accounts a ON a.id = c.account_id LEFT JOIN outbox o ON o.id = c.outbox_id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var m committed
		if err := rows.Scan(&m.challenge, &m.to, &m.status, &m.attempts); err != nil {
			t.Fatal(err)
		}
		if _, dup := byAddress[m.to]; dup {
			t.Fatalf("two challenges for %s: the test's one-challenge-per-account rule broke", m.to)
		}
		byAddress[m.to] = m
	}
	rows.Close()
	ledger.mu.Lock()
	for _, id := range ledger.challenges {
		found := false
		for _, m := range byAddress {
			found = found || m.challenge == id
		}
		if !found {
			t.Errorf("challenge %s was answered with code_required but is not in the database", id)
		}
	}
	ledger.mu.Unlock()

	received := map[string][]inbox.Message{}
	list, err := relay.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(list) >= 1000 {
		t.Fatalf("the relay holds %d messages, more than List returns: shorten the phases", len(list))
	}
	for _, s := range list {
		m, err := relay.Get(ctx, s.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(m.To) != 1 {
			t.Fatalf("message %d has recipients %v", m.ID, m.To)
		}
		received[m.To[0]] = append(received[m.To[0]], m)
	}
	for to := range received {
		if _, ok := byAddress[to]; !ok {
			t.Errorf("the relay got mail to %s, for which no challenge was committed", to)
		}
	}

	duplicatesPerKill := make([]int, len(kills))
	sent, duplicated := 0, 0
	for to, m := range byAddress {
		got := received[to]
		sort.Slice(got, func(i, j int) bool { return got[i].ID < got[j].ID })
		switch {
		case m.status != "sent":
			t.Errorf("the code email of challenge %s ended %q, want sent (the relay was up)", m.challenge, m.status)
		case len(got) == 0:
			t.Errorf("the code email of challenge %s was committed but never reached the relay", m.challenge)
		case len(got) == 1:
			sent++
		default:
			// The at-least-once window: the relay accepted the message, then the server died
			// before it recorded "sent", and resent it after the lease. Allowed only as
			// exactly that: two identical copies, sent on two claims, on both sides of a kill.
			// The first restart after the first copy: the kill before it is the one that
			// caught the mail.
			r := sort.Search(len(restarts), func(i int) bool { return restarts[i].After(got[0].ReceivedAt) })
			straddles := len(got) == 2 && r >= 1 && r < len(restarts) && got[1].ReceivedAt.After(restarts[r])
			if !straddles || got[0].Raw != got[1].Raw || m.attempts < 2 {
				t.Errorf("the code email of challenge %s reached the relay %d times (attempts %d) outside the crash window", m.challenge, len(got), m.attempts)
				continue
			}
			duplicatesPerKill[r-1]++
			duplicated++
		}
	}
	for k, n := range duplicatesPerKill {
		if n > 1 {
			t.Errorf("kill %d left %d emails sent twice: one worker sends one email at a time, so at most one can be caught", k+1, n)
		}
	}
	ledger.mu.Lock()
	t.Logf("%d challenges: %d emails delivered once, %d twice across a kill; %d tokens and %d used codes survived %d kills",
		len(byAddress), sent, duplicated, len(ledger.tokens), len(ledger.used), len(kills))
	ledger.mu.Unlock()
}
