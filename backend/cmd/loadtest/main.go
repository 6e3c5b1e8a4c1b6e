// Command loadtest measures the account server under load against the machine's physical
// limits. It starts a real server in a child process (real SQLite files, real SMTP inbox,
// on loopback), drives concurrent clients through the hot paths for a fixed time, and
// prints throughput, p50/p99 latency and peak memory of each, beside the raw argon2id hash
// rate and the disk's flush latency measured in the same run. `make bench` runs it.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/crypto/argon2"

	"shoplogin/backend/api"
	"shoplogin/backend/apiclient"
	"shoplogin/backend/password"
)

// config is the command line.
type config struct {
	clients     int
	raw         time.Duration
	signIn      time.Duration
	session     time.Duration
	verify      time.Duration
	verifyPool  int
	mail        time.Duration
	mailClients int
	mailPool    int
	dataDir     string
	profileDir  string
	phases      string
}

func main() {
	var cfg config
	child := flag.Bool("child", false, "internal: run the server under load (started by loadtest itself)")
	childParams := flag.String("child-params", "default", "internal: the child server's argon2 parameters (default or test)")
	flag.IntVar(&cfg.clients, "clients", 64, "concurrent clients of the password, code and session phases")
	flag.DurationVar(&cfg.raw, "raw", 3*time.Second, "how long to measure the raw argon2id rate, before and again after the sign-in phase")
	flag.DurationVar(&cfg.signIn, "signin", 10*time.Second, "(a) password sign-in phase length")
	flag.DurationVar(&cfg.session, "session", 5*time.Second, "(c) session check phase length")
	flag.DurationVar(&cfg.verify, "verify", 5*time.Second, "(b) code verification phase length (ends early when the prepared challenges run out)")
	flag.IntVar(&cfg.verifyPool, "verify-pool", 20000, "(b) challenges prepared before the timed window, one account each")
	flag.DurationVar(&cfg.mail, "mail", 20*time.Second, "(d) sign-in to inbox phase length (ends early when the prepared accounts run out)")
	flag.IntVar(&cfg.mailClients, "mail-clients", 2, "(d) concurrent clients of the sign-in to inbox phase")
	flag.IntVar(&cfg.mailPool, "mail-pool", 600, "(d) fresh 2FA accounts prepared, one sign-in each")
	flag.StringVar(&cfg.dataDir, "data", "", "folder for the servers' data (default: a new temporary folder, removed after)")
	flag.StringVar(&cfg.profileDir, "profile", "", "write a CPU profile of the server for each phase into this folder")
	flag.StringVar(&cfg.phases, "phases", "signin,session,mail,verify", "phases to run, comma-separated")
	flag.Parse()

	if *child {
		if err := runChild(cfg.dataDir, *childParams); err != nil {
			fmt.Fprintln(os.Stderr, "loadtest child:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(cfg); err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(1)
	}
}

// row is one phase's figures.
type row struct {
	name      string
	clients   int
	stats     stats
	serverCPU time.Duration // the server process's CPU time over the phase
	clientCPU time.Duration // this process's
	serverRSS int64         // the server's peak resident memory during the phase
	load      string        // load average at the end of the phase
	firstErr  error
}

func (r row) cpuPerOp(d time.Duration) string {
	if r.stats.ops == 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f µs", float64(d)/float64(r.stats.ops)/float64(time.Microsecond))
}

func run(cfg config) error {
	dir := cfg.dataDir
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "shoplogin-loadtest-*"); err != nil {
			return err
		}
		defer os.RemoveAll(dir)
	} else if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if cfg.profileDir != "" {
		if err := os.MkdirAll(cfg.profileDir, 0o755); err != nil {
			return err
		}
	}
	want := map[string]bool{}
	for _, p := range strings.Split(cfg.phases, ",") {
		want[strings.TrimSpace(p)] = true
	}
	started := time.Now()
	host, _ := os.Hostname()
	fmt.Printf("shoplogin load test, %s\n", started.UTC().Format(time.RFC3339))
	fmt.Printf("machine: %s, %d CPUs (%s), GOMAXPROCS %d, %s, %s/%s\n", host, runtime.NumCPU(), cpuModel(),
		runtime.GOMAXPROCS(0), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	fmt.Printf("load average at start: %s\n", loadAvg())
	fmt.Printf("data folder: %s\n\n", dir)

	// The physical limits first: the disk's flush and argon2id on every core.
	flush, err := measureSync(dir, 2*time.Second)
	if err != nil {
		return fmt.Errorf("measure fsync: %w", err)
	}
	fmt.Printf("disk flush, write 4 KiB + fsync:  appending p50 %s ms  p99 %s ms  | overwriting p50 %s ms  p99 %s ms   [load %s]\n",
		ms(flush.append.p50), ms(flush.append.p99), ms(flush.overwrite.p50), ms(flush.overwrite.p99), loadAvg())
	commits, err := measureCommits(dir, 2*time.Second)
	if err != nil {
		return fmt.Errorf("measure commits: %w", err)
	}
	fmt.Printf("SQLite commit, serial:  %.0f/s  p50 %s ms  p99 %s ms  (WAL, synchronous=FULL, one writer, one-row transactions)   [load %s]\n",
		commits.rate(), ms(commits.p50), ms(commits.p99), loadAvg())

	p := password.DefaultParams()
	rawBefore, oneHash, rawCPU := rawArgon2(p, cfg.raw)
	fmt.Printf("argon2id m=%d KiB t=%d p=%d: %.1f hashes/s on %d goroutines, %s ms of CPU each; one hash alone takes %s ms   [load %s]\n",
		p.Memory, p.Time, p.Threads, rawBefore, runtime.GOMAXPROCS(0), ms(rawCPU), ms(oneHash), loadAvg())

	l := &loader{cfg: cfg}
	var rows []row
	rawAfter := rawBefore

	if want["signin"] || want["session"] || want["mail"] {
		srv, err := startChild(filepath.Join(dir, "production"), "default")
		if err != nil {
			return err
		}
		l.srv = srv
		var signedIn []*apiclient.Client
		if want["signin"] || want["session"] {
			r, clients, err := l.signInPhase()
			if err != nil {
				srv.stop()
				return err
			}
			signedIn = clients
			if want["signin"] {
				rows = append(rows, r)
				var cpuAfter time.Duration
				rawAfter, _, cpuAfter = rawArgon2(p, cfg.raw)
				rawCPU = (rawCPU + cpuAfter) / 2
				fmt.Printf("argon2id again, after (a): %.1f hashes/s, %s ms of CPU each   [load %s]\n", rawAfter, ms(cpuAfter), loadAvg())
			}
		}
		if want["session"] {
			r, err := l.sessionPhase(signedIn)
			if err != nil {
				srv.stop()
				return err
			}
			rows = append(rows, r)
		}
		if want["mail"] {
			r, delivery, err := l.mailPhase()
			if err != nil {
				srv.stop()
				return err
			}
			rows = append(rows, r)
			fmt.Printf("  (d) of which after the sign-in answer, until the code was readable: p50 %s ms  p99 %s ms\n",
				ms(delivery.p50), ms(delivery.p99))
		}
		if err := srv.stop(); err != nil {
			return err
		}
	}
	if want["verify"] {
		// Verification never hashes a password: its server uses cheap argon2 parameters so
		// that preparing thousands of challenges (one sign-in each) takes seconds, not
		// minutes. The verification path it then measures is the production one.
		srv, err := startChild(filepath.Join(dir, "verify"), "test")
		if err != nil {
			return err
		}
		l.srv = srv
		r, err := l.verifyPhase()
		srv.stop()
		if err != nil {
			return err
		}
		rows = append(rows, r)
	}

	fmt.Printf("\n%-28s %7s %9s %9s %9s %9s %7s %14s %14s %13s  %s\n", "phase", "clients", "ops/s", "p50 ms", "p99 ms", "max ms",
		"errors", "server CPU/op", "client CPU/op", "server peak", "load avg")
	for _, r := range rows {
		fmt.Printf("%-28s %7d %9.1f %9s %9s %9s %7d %14s %14s %13s  %s\n", r.name, r.clients, r.stats.rate(),
			ms(r.stats.p50), ms(r.stats.p99), ms(r.stats.max), r.stats.errors, r.cpuPerOp(r.serverCPU), r.cpuPerOp(r.clientCPU),
			mib(r.serverRSS), r.load)
		if r.firstErr != nil {
			fmt.Printf("    first error: %v\n", r.firstErr)
		}
	}
	fmt.Println()
	raw := (rawBefore + rawAfter) / 2
	for _, r := range rows {
		switch {
		case strings.HasPrefix(r.name, "(a)"):
			fmt.Printf("(a) / raw argon2id rate (mean of before and after, %.1f/s) = %.2f   target >= 0.90\n", raw, r.stats.rate()/raw)
			if r.stats.ops > 0 {
				// CPU time is what other programs on the machine disturb least.
				perOp := (r.serverCPU + r.clientCPU) / time.Duration(r.stats.ops)
				fmt.Printf("    by CPU time: raw argon2id %s ms per hash / (a) %s ms per sign-in, server and client = %.2f\n",
					ms(rawCPU), ms(perOp), float64(rawCPU)/float64(perOp))
			}
		case strings.HasPrefix(r.name, "(b)"):
			fmt.Printf("(b) %.0f/s, p99 %s ms   target >= 2000/s, p99 < 50 ms; serial commit ceiling of this disk %.0f/s\n",
				r.stats.rate(), ms(r.stats.p99), commits.rate())
		case strings.HasPrefix(r.name, "(c)"):
			fmt.Printf("(c) %.0f/s, p99 %s ms   target >= 10000/s, p99 < 50 ms\n", r.stats.rate(), ms(r.stats.p99))
		case strings.HasPrefix(r.name, "(d)"):
			fmt.Printf("(d) p99 %s ms at %d clients   target < 100 ms\n", ms(r.stats.p99), r.clients)
		}
	}
	fmt.Printf("\ntotal time %s, load average at end: %s\n", time.Since(started).Round(time.Second), loadAvg())
	return nil
}

// rawArgon2 is the physical limit of password sign-in: argon2id at p on GOMAXPROCS
// goroutines, in hashes per second, and the time of one hash alone (the median of five;
// the first of a process pays for faulting its memory in, see the README).
func rawArgon2(p password.Params, d time.Duration) (perSecond float64, one, cpuPerHash time.Duration) {
	pw, salt := []byte("raw argon2id rate"), make([]byte, p.SaltLen)
	var alone []time.Duration
	for range 5 {
		t := time.Now()
		argon2.IDKey(pw, salt, p.Time, p.Memory, p.Threads, p.KeyLen)
		alone = append(alone, time.Since(t))
	}
	one = summarize(alone, 0, 0).p50
	var n atomic.Int64
	var wg sync.WaitGroup
	start, cpu0 := time.Now(), selfCPU()
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for time.Since(start) < d {
				argon2.IDKey(pw, salt, p.Time, p.Memory, p.Threads, p.KeyLen)
				n.Add(1)
			}
		})
	}
	wg.Wait()
	return float64(n.Load()) / time.Since(start).Seconds(), one, (selfCPU() - cpu0) / time.Duration(n.Load())
}

// loader drives one server child.
type loader struct {
	cfg  config
	srv  *child
	http *http.Client
}

// errPoolEmpty ends a worker whose prepared inputs have run out.
var errPoolEmpty = errors.New("prepared inputs used up")

func (l *loader) client(device string) *apiclient.Client {
	if l.http == nil {
		l.http = &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{
			MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024, IdleConnTimeout: time.Minute, DisableCompression: true,
		}}
	}
	return &apiclient.Client{BaseURL: l.srv.info.API, HTTP: l.http, DeviceID: device}
}

// timed runs op on clients workers for d (or until every worker has had errPoolEmpty), and
// measures it.
func (l *loader) timed(name string, clients int, d time.Duration, op func(ctx context.Context, worker int) error) row {
	ctx := context.Background()
	runtime.GC()
	l.srv.resetPeak()
	stopProfile := l.profile(name)
	serverCPU0, clientCPU0 := procCPU(l.srv.pid()), selfCPU()
	lats := make([][]time.Duration, clients)
	var errs atomic.Int64
	var firstErr atomic.Pointer[error]
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(d)
	for w := range clients {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				t := time.Now()
				err := op(ctx, w)
				if errors.Is(err, errPoolEmpty) {
					return
				}
				if err != nil {
					errs.Add(1)
					firstErr.CompareAndSwap(nil, &err)
					continue
				}
				lats[w] = append(lats[w], time.Since(t))
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	stopProfile()
	r := row{name: name, clients: clients, serverCPU: procCPU(l.srv.pid()) - serverCPU0, clientCPU: selfCPU() - clientCPU0,
		serverRSS: peakRSS(l.srv.pid()), load: loadAvg()}
	var all []time.Duration
	for _, lat := range lats {
		all = append(all, lat...)
	}
	r.stats = summarize(all, elapsed, int(errs.Load()))
	if e := firstErr.Load(); e != nil {
		r.firstErr = *e
	}
	fmt.Printf("%s: %d ops in %s, %.1f/s   [load %s]\n", name, r.stats.ops, elapsed.Round(time.Millisecond), r.stats.rate(), r.load)
	return r
}

// profile starts a CPU profile of the server, with -profile; the returned func stops it.
func (l *loader) profile(name string) (stop func()) {
	if l.cfg.profileDir == "" {
		return func() {}
	}
	path := filepath.Join(l.cfg.profileDir, strings.NewReplacer("(", "", ")", "", " ", "-").Replace(name)+".pprof")
	stop, err := l.srv.startProfile(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "profile:", err)
		return func() {}
	}
	return stop
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// parallel runs f(i) for i in [0, n) on workers goroutines and returns the first error.
func parallel(n, workers int, f func(i int) error) error {
	var next atomic.Int64
	var first atomic.Pointer[error]
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for first.Load() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := f(i); err != nil {
					first.CompareAndSwap(nil, &err)
				}
			}
		})
	}
	wg.Wait()
	if e := first.Load(); e != nil {
		return *e
	}
	return nil
}

// pw is every load account's password: long enough, and not a common one.
var pw = "load test password " + rand.Text()[:8]

// signInPhase is (a): each client signs in with its email and password, again and again,
// on an account with 2FA off. It returns the clients, each holding its last token.
func (l *loader) signInPhase() (row, []*apiclient.Client, error) {
	ctx := context.Background()
	n := l.cfg.clients
	fmt.Printf("\n(a) preparing %d accounts...\n", n)
	if err := parallel(n, runtime.GOMAXPROCS(0), func(i int) error {
		return l.client("setup").CreateAccount(ctx, fmt.Sprintf("signin-%d@example.org", i), pw, false)
	}); err != nil {
		return row{}, nil, fmt.Errorf("(a) setup: %w", err)
	}
	clients := make([]*apiclient.Client, n)
	for i := range clients {
		clients[i] = l.client(fmt.Sprintf("signin-device-%d", i))
	}
	conns, err := l.dialAll(n)
	if err != nil {
		return row{}, nil, err
	}
	defer closeAll(conns)
	reqs := make([][]byte, n)
	for i, c := range clients {
		body, err := json.Marshal(api.SignInRequest{Email: fmt.Sprintf("signin-%d@example.org", i), Password: pw,
			DeviceID: c.DeviceID, DeviceName: "load test"})
		if err != nil {
			return row{}, nil, err
		}
		reqs[i] = conns[i].post("/api/v1/signin", body)
	}
	r := l.timed("(a) password sign-in", n, l.cfg.signIn, func(ctx context.Context, w int) error {
		status, body, err := conns[w].do(reqs[w])
		if err := expect(status, body, err)(`"status":"signed_in"`); err != nil {
			return err
		}
		var res api.SignInResult
		if err := json.Unmarshal(body, &res); err != nil {
			return err
		}
		clients[w].Token = res.Token // for (c)
		return nil
	})
	for i, c := range clients {
		if c.Token == "" {
			if _, err := c.SignIn(ctx, fmt.Sprintf("signin-%d@example.org", i), pw, "load test"); err != nil {
				return row{}, nil, err
			}
		}
	}
	return r, clients, nil
}

// sessionPhase is (c): each client checks its session with its token.
func (l *loader) sessionPhase(clients []*apiclient.Client) (row, error) {
	if len(clients) == 0 {
		return row{}, errors.New("(c) needs the signed-in clients of (a)")
	}
	conns, err := l.dialAll(len(clients))
	if err != nil {
		return row{}, err
	}
	defer closeAll(conns)
	reqs := make([][]byte, len(clients))
	for i, c := range clients {
		reqs[i] = conns[i].get("/api/v1/session", c.Token, c.DeviceID)
	}
	return l.timed("(c) session check", len(clients), l.cfg.session, func(ctx context.Context, w int) error {
		return expect(conns[w].do(reqs[w]))(`"account"`)
	}), nil
}

// dialAll opens n lean connections to the server.
func (l *loader) dialAll(n int) ([]*rawConn, error) {
	conns := make([]*rawConn, n)
	for i := range conns {
		c, err := dialRaw(l.srv.info.API)
		if err != nil {
			closeAll(conns[:i])
			return nil, err
		}
		conns[i] = c
	}
	return conns, nil
}

func closeAll(conns []*rawConn) {
	for _, c := range conns {
		c.close()
	}
}

// expect checks a lean answer: 200, and a body holding want.
func expect(status int, body []byte, err error) func(want string) error {
	return func(want string) error {
		switch {
		case err != nil:
			return err
		case status != http.StatusOK:
			return fmt.Errorf("answer %d: %.200s", status, body)
		case !bytes.Contains(body, []byte(want)):
			return fmt.Errorf("answer without %s: %.200s", want, body)
		}
		return nil
	}
}

// mailPhase is (d): a sign-in from a new device on an account with 2FA on, until its code
// email is stored in the QA inbox and readable by GET /api/qa/code. Each sign-in uses an
// account that has had no mail yet, so the code wait returns exactly when this one lands.
// It also returns the part of each latency after the sign-in's answer.
func (l *loader) mailPhase() (row, stats, error) {
	ctx := context.Background()
	n := l.cfg.mailPool
	fmt.Printf("\n(d) preparing %d accounts with 2FA on...\n", n)
	if err := parallel(n, runtime.GOMAXPROCS(0), func(i int) error {
		return l.client("setup").CreateAccount(ctx, fmt.Sprintf("mail-%d@example.org", i), pw, true)
	}); err != nil {
		return row{}, stats{}, fmt.Errorf("(d) setup: %w", err)
	}
	var next atomic.Int64
	var mu sync.Mutex
	var delivery []time.Duration
	r := l.timed("(d) sign-in to email in inbox", l.cfg.mailClients, l.cfg.mail, func(ctx context.Context, w int) error {
		i := int(next.Add(1) - 1)
		if i >= n {
			return errPoolEmpty
		}
		email := fmt.Sprintf("mail-%d@example.org", i)
		c := l.client(fmt.Sprintf("mail-device-%d", i))
		res, err := c.SignIn(ctx, email, pw, "load test")
		if err != nil {
			return err
		}
		if res.Status != api.StatusCodeRequired {
			return fmt.Errorf("sign-in answered %q, want a code", res.Status)
		}
		answered := time.Now()
		if _, _, err := c.Code(ctx, email, 30*time.Second); err != nil {
			return err
		}
		mu.Lock()
		delivery = append(delivery, time.Since(answered))
		mu.Unlock()
		return nil
	})
	return r, summarize(delivery, 0, 0), nil
}

// challenge is a pending sign-in and the code its email carried.
type challenge struct {
	id, code, device string
}

// verifyPhase is (b): each client submits the right code for a fresh challenge. The
// challenges are prepared first: one account each (the hourly cap is 5 codes per
// account), signed in from a new device, its code read from the QA inbox.
func (l *loader) verifyPhase() (row, error) {
	ctx := context.Background()
	n := l.cfg.verifyPool
	fmt.Printf("\n(b) preparing %d challenges (account, sign-in from a new device, code from the inbox)...\n", n)
	pool := make([]challenge, n)
	start := time.Now()
	stopProfile := l.profile("(b) setup")
	if err := parallel(n, 32, func(i int) error {
		email := fmt.Sprintf("verify-%d@example.org", i)
		device := fmt.Sprintf("verify-device-%d", i)
		if err := l.client("setup").CreateAccount(ctx, email, pw, true); err != nil {
			return err
		}
		c := l.client(device)
		res, err := c.SignIn(ctx, email, pw, "load test")
		if err != nil {
			return err
		}
		if res.Status != api.StatusCodeRequired {
			return fmt.Errorf("sign-in answered %q, want a code", res.Status)
		}
		code, _, err := c.Code(ctx, email, time.Minute)
		if err != nil {
			return err
		}
		pool[i] = challenge{id: res.ChallengeID, code: code, device: device}
		return nil
	}); err != nil {
		return row{}, fmt.Errorf("(b) setup: %w", err)
	}
	took := time.Since(start)
	stopProfile()
	fmt.Printf("(b) prepared in %s: %.0f sign-ins with their code email delivered per second   [load %s]\n",
		took.Round(time.Millisecond), float64(n)/took.Seconds(), loadAvg())
	conns, err := l.dialAll(l.cfg.clients)
	if err != nil {
		return row{}, err
	}
	defer closeAll(conns)
	reqs := make([][]byte, n)
	for i, ch := range pool {
		body, err := json.Marshal(api.VerifyRequest{ChallengeID: ch.id, Code: ch.code, DeviceID: ch.device})
		if err != nil {
			return row{}, err
		}
		reqs[i] = conns[0].post("/api/v1/signin/verify", body)
	}
	var next atomic.Int64
	r := l.timed("(b) code verification", l.cfg.clients, l.cfg.verify, func(ctx context.Context, w int) error {
		i := int(next.Add(1) - 1)
		if i >= n {
			return errPoolEmpty
		}
		return expect(conns[w].do(reqs[i]))(`"status":"signed_in"`)
	})
	if int(next.Load()) >= n {
		fmt.Printf("(b) the window ended when the %d prepared challenges ran out; -verify-pool makes it longer\n", n)
	}
	return r, nil
}
