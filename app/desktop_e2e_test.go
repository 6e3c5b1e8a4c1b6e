//go:build e2e

// The desktop end-to-end test: the production binary (SHOPLOGIN_BIN) in a private Xvfb,
// driven with the keyboard through xdotool, checked through the window's "screen shown"
// log lines and the embedded server's QA API. Run it with `make e2e-desktop`.
//
// It needs Xvfb, xdotool and ImageMagick's import on the PATH, plus the WebKitGTK 4.1
// runtime the binary links against (Debian: xvfb xdotool imagemagick libwebkit2gtk-4.1-0).
package app_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	// waitLimit bounds every wait on the app: a start, a screen, an exit.
	waitLimit = 20 * time.Second
	// typeDelay is xdotool's pause between keystrokes, in milliseconds: slow enough for
	// the page to handle each key before the next, as a fast typist would be.
	typeDelay = "20"

	testEmail    = "e2e-desktop@example.com"
	testPassword = "Correct-Horse-42"
)

// TestDesktopSignInWithEmailCodeThenMonthlyToken is the seed's story on a real window:
// the first sign-in from a new machine asks for the emailed code; the saved token opens
// the shop on the next launch without signing in; a month later the token has expired and
// the same machine and network sign in again without a code.
func TestDesktopSignInWithEmailCodeThenMonthlyToken(t *testing.T) {
	bin := os.Getenv("SHOPLOGIN_BIN")
	if bin == "" {
		t.Fatal("SHOPLOGIN_BIN is not set. Build the production binary and point at it:\n" +
			"  make e2e-desktop\n" +
			"or\n" +
			"  (cd frontend && npm ci && npm run build)\n" +
			"  go build -tags desktop,production,webkit2_41 -ldflags \"-w -s\" -o build/bin/shoplogin .\n" +
			"  SHOPLOGIN_BIN=$PWD/build/bin/shoplogin go test -tags e2e -count=1 -run TestDesktop -v ./app/")
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("SHOPLOGIN_BIN: %v (build it with `make build-desktop`)", err)
	}
	for _, tool := range []string{"Xvfb", "xdotool", "import"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is not on the PATH; on Debian: apt-get install xvfb xauth xdotool imagemagick", tool)
		}
	}

	artifacts := filepath.Join(moduleRoot(t), "artifacts")
	shots := newScreenshots(t, filepath.Join(artifacts, "screenshots", "desktop"))
	display := startXvfb(t)
	env := appEnv(t, display)
	data := t.TempDir()
	// One address for every launch: the saved token is kept per server URL, and the
	// network the server sees (127.0.0.0/24) must stay the same.
	addr := freeLoopbackAddr(t)
	qa := qaAPI{base: "http://" + addr, client: &http.Client{Timeout: waitLimit}}
	d := &desktop{t: t, bin: bin, env: env, data: data, addr: addr, display: display, shots: shots}
	metrics := newFigures(t, filepath.Join(artifacts, "desktop-metrics.txt"), bin)

	// a. Cold start: process start to an interactive sign-in screen, and its memory.
	app := d.start()
	signin := app.waitScreen("signin")
	coldStart := signin.at.Sub(app.started)
	memAtSignIn := app.memory()
	shots.take(app, "signin")
	t.Logf("cold start to an interactive sign-in screen: %v (the app reports %s since Run began)",
		coldStart.Round(time.Millisecond), signin.field("since_launch"))
	t.Logf("memory with the sign-in screen up: %s", memAtSignIn)
	metrics.add("cold_start", coldStart.Round(time.Millisecond).String(),
		`from the process start to the log line "screen shown" screen=signin, as the test saw it;`,
		"the app itself reports since_launch="+signin.field("since_launch")+" (from the start of app.Run).",
		"A fresh HOME and XDG folders: nothing cached by an earlier launch; the OS file cache not dropped.")
	metrics.add("memory_at_signin", memAtSignIn.detail(),
		"RSS adds up each process's resident pages, so libraries shared between them count more",
		"than once; PSS shares them out and is the fairer total.")

	// b. The first sign-in from this machine asks for the emailed code.
	qa.createAccount(t, testEmail, testPassword, true)
	app.focusWindow()
	app.typeField(testEmail)
	app.key("Tab")
	app.typeField(testPassword)
	app.key("Return")
	app.waitScreen("code")
	shots.take(app, "code")
	code := qa.code(t, testEmail)
	app.typeText(code) // the sixth digit submits
	app.waitScreen("shop")
	shots.take(app, "shop")
	memAtShop := app.memory()
	t.Logf("memory after signing in: %s", memAtShop)
	metrics.add("memory_at_shop", memAtShop.detail())

	// c. The server's audit log tells the same story.
	events := qa.events(t, testEmail)
	sent := requireEvent(t, events, "code_sent", "new_device_and_network")
	verified := requireEvent(t, events, "code_verified", "")
	succeeded := requireEvent(t, events, "signin_succeeded", "")
	if sent.ID >= verified.ID || verified.ID >= succeeded.ID {
		t.Fatalf("want code_sent, code_verified, signin_succeeded in that order; got %v", events)
	}
	requireTokenFile(t, data)
	signIns := countEvents(events, "signin_succeeded")

	// e. A restart opens the shop with the saved token, without a new sign-in.
	app.stop()
	app = d.start()
	restored := app.waitScreen("shop")
	restartToShop := restored.at.Sub(app.started)
	shots.take(app, "shop-restored")
	t.Logf("restart with the saved token to the shop: %v", restartToShop.Round(time.Millisecond))
	metrics.add("restart_to_shop", restartToShop.Round(time.Millisecond).String(),
		`second launch, token restored: from the process start to "screen shown" screen=shop.`)
	if n := countEvents(qa.events(t, testEmail), "signin_succeeded"); n != signIns {
		t.Fatalf("the restart signed in again (%d signin_succeeded events, want %d): the token should have been enough", n, signIns)
	}

	// f. A month later the token has expired: the app opens at sign-in, and the same
	// device and network are let in without a code.
	qa.advanceClock(t, "720h")
	app.stop()
	app = d.start()
	app.waitScreen("signin")
	shots.take(app, "signin-month-later")
	before := lastEventID(qa.events(t, testEmail))
	app.focusWindow()
	app.typeField(testEmail)
	app.key("Tab")
	app.typeField(testPassword)
	app.key("Return")
	app.waitScreen("shop") // a code screen here fails the wait
	shots.take(app, "shop-trusted")
	var since []qaEvent
	for _, e := range qa.events(t, testEmail) {
		if e.ID > before {
			since = append(since, e)
		}
	}
	if countEvents(since, "code_sent") != 0 {
		t.Fatalf("a code was sent for the trusted device and network: %v", since)
	}
	requireEvent(t, since, "signin_succeeded", "trusted_device_and_network")
	app.stop()

	t.Logf("figures written to %s", metrics.path)
}

// desktop launches the app, always with the same data folder, address and environment.
type desktop struct {
	t       *testing.T
	bin     string
	env     []string
	data    string
	addr    string
	display string
	shots   *screenshots
}

// running is one launch of the app.
type running struct {
	t       *testing.T
	d       *desktop
	cmd     *exec.Cmd
	started time.Time
	log     *appLog
	exited  chan struct{}
	waitErr error // set before exited is closed
	window  string
	seen    int // log lines already searched for a screen
}

func (d *desktop) start() *running {
	d.t.Helper()
	cmd := exec.Command(d.bin, "--qa", "--data", d.data, "--addr", d.addr)
	cmd.Env = d.env
	// Its own process group, so a failed test can kill the app and its WebKit helpers
	// together.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// One pipe for both streams: the WebKit helpers inherit it, so it reaches EOF only
	// when every process of the app is gone.
	r, w, err := os.Pipe()
	if err != nil {
		d.t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = w, w
	app := &running{t: d.t, d: d, cmd: cmd, log: newAppLog(), exited: make(chan struct{})}
	app.started = time.Now()
	err = cmd.Start()
	w.Close()
	if err != nil {
		r.Close()
		d.t.Fatalf("start %s: %v", d.bin, err)
	}
	go app.log.read(r)
	go func() {
		app.waitErr = cmd.Wait()
		close(app.exited)
	}()
	d.t.Cleanup(app.kill)
	return app
}

// kill ends a launch the test did not stop, helpers included.
func (a *running) kill() {
	select {
	case <-a.exited:
		return
	default:
	}
	_ = syscall.Kill(-a.cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-a.exited:
	case <-time.After(waitLimit):
		a.t.Errorf("pid %d did not die after SIGKILL", a.cmd.Process.Pid)
	}
}

// stop asks the app to quit as a desktop session would (SIGTERM) and checks that it
// exits cleanly and takes its WebKit helpers with it.
func (a *running) stop() {
	a.t.Helper()
	tree := processTree(a.cmd.Process.Pid)
	asked := time.Now()
	if err := a.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		a.fatalf("SIGTERM: %v", err)
	}
	select {
	case <-a.exited:
	case <-time.After(waitLimit):
		a.fatalf("the app did not exit within %v of SIGTERM", waitLimit)
	}
	exitedAfter := time.Since(asked)
	if a.waitErr != nil {
		a.fatalf("the app exited badly after SIGTERM: %v", a.waitErr)
	}
	deadline := time.Now().Add(waitLimit)
	for {
		var left []string
		for _, p := range tree {
			if p.alive() {
				left = append(left, fmt.Sprintf("%s (pid %d)", p.name, p.pid))
			}
		}
		if len(left) == 0 {
			a.t.Logf("stopped: the app exited %v after SIGTERM, its %d helpers were gone after %v",
				exitedAfter.Round(time.Millisecond), len(tree)-1, time.Since(asked).Round(time.Millisecond))
			return
		}
		if time.Now().After(deadline) {
			a.fatalf("processes outlived the app by %v: %s", waitLimit, strings.Join(left, ", "))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

var screenShown = regexp.MustCompile(`msg="screen shown".* screen=(\S+)`)

// waitScreen waits for the next "screen shown" line and fails unless it names want: a
// different screen (say, the code screen where the shop was due) fails at once.
func (a *running) waitScreen(want string) logLine {
	a.t.Helper()
	var got string
	waiting := time.Now()
	line, ok := a.log.wait(&a.seen, waitLimit, func(l logLine) bool {
		if m := screenShown.FindStringSubmatch(l.text); m != nil {
			got = m[1]
			return true
		}
		return false
	})
	switch {
	case ok && got == want:
		// How close each wait came to its limit, for a slow CI machine's log.
		a.t.Logf("screen %s shown after %v", want, line.at.Sub(waiting).Round(time.Millisecond))
		return line
	case ok:
		a.fatalf("the window showed %q, want %q", got, want)
	case a.log.ended():
		// Every process has let go of the output: the app is exiting, if not gone.
		select {
		case <-a.exited:
			a.fatalf("the app exited (%v) before showing %q", a.waitErr, want)
		case <-time.After(waitLimit):
			a.fatalf("the app closed its output but did not exit, before showing %q", want)
		}
	default:
		a.fatalf("no %q screen within %v", want, waitLimit)
	}
	return logLine{}
}

// focusWindow gives the app's window the X keyboard focus. A bare Xvfb has no window
// manager, so `windowactivate` (which asks one) cannot work; `windowfocus` sets the focus
// directly.
func (a *running) focusWindow() {
	a.t.Helper()
	deadline := time.Now().Add(waitLimit)
	for a.window == "" {
		// Only mapped windows: GTK also makes an unmapped leader window.
		out, err := a.xdotool("search", "--onlyvisible", "--name", "^Shop$")
		if ids := strings.Fields(out); err == nil && len(ids) > 0 {
			a.window = ids[0]
			break
		}
		if time.Now().After(deadline) {
			a.fatalf("no visible window named Shop within %v", waitLimit)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if out, err := a.xdotool("windowfocus", "--sync", a.window); err != nil {
		a.fatalf("xdotool windowfocus: %v: %s", err, out)
	}
}

// typeField replaces the focused field's text, as a user would with Ctrl+A first.
func (a *running) typeField(text string) {
	a.t.Helper()
	a.key("ctrl+a")
	a.typeText(text)
}

func (a *running) typeText(text string) {
	a.t.Helper()
	if out, err := a.xdotool("type", "--delay", typeDelay, "--", text); err != nil {
		a.fatalf("xdotool type: %v: %s", err, out)
	}
}

func (a *running) key(name string) {
	a.t.Helper()
	if out, err := a.xdotool("key", name); err != nil {
		a.fatalf("xdotool key %s: %v: %s", name, err, out)
	}
}

func (a *running) xdotool(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	cmd := exec.CommandContext(ctx, "xdotool", args...)
	cmd.Env = []string{"DISPLAY=" + a.d.display}
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// memory measures the app and every process it started (WebKit's web and network
// processes).
func (a *running) memory() memoryUse {
	a.t.Helper()
	tree := processTree(a.cmd.Process.Pid)
	if len(tree) == 0 {
		a.fatalf("pid %d is gone: cannot measure its memory", a.cmd.Process.Pid)
	}
	var m memoryUse
	for _, p := range tree {
		rss, err1 := procKiB(p.pid, "status", "VmRSS:")
		pss, err2 := procKiB(p.pid, "smaps_rollup", "Pss:")
		if err := errors.Join(err1, err2); err != nil {
			a.fatalf("memory of %s (pid %d): %v", p.name, p.pid, err)
		}
		m.procs = append(m.procs, procMemory{proc: p, rssKiB: rss, pssKiB: pss})
	}
	return m
}

// fatalf stops the test with the app's last log lines and a screenshot of the display.
func (a *running) fatalf(format string, args ...any) {
	a.t.Helper()
	shot := a.d.shots.takeQuietly(a.d.display, "failure")
	a.t.Fatalf("%s\nscreenshot: %s\n--- the app's last log lines ---\n%s", fmt.Sprintf(format, args...), shot, a.log.tail(40))
}

// appLog collects the app's output as it comes, with the time each line arrived.
type appLog struct {
	mu      sync.Mutex
	lines   []logLine
	closed  bool
	changed chan struct{} // closed and replaced whenever a line arrives or the pipe closes
}

type logLine struct {
	text string
	at   time.Time
}

// field returns a key=value field of a slog text line.
func (l logLine) field(key string) string {
	m := regexp.MustCompile(`(?:^| )` + regexp.QuoteMeta(key) + `=(\S+)`).FindStringSubmatch(l.text)
	if m == nil {
		return "?"
	}
	return m[1]
}

func newAppLog() *appLog { return &appLog{changed: make(chan struct{})} }

func (l *appLog) read(r io.ReadCloser) {
	defer r.Close()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		l.mu.Lock()
		l.lines = append(l.lines, logLine{text: sc.Text(), at: time.Now()})
		close(l.changed)
		l.changed = make(chan struct{})
		l.mu.Unlock()
	}
	l.mu.Lock()
	l.closed = true
	close(l.changed)
	l.changed = make(chan struct{})
	l.mu.Unlock()
}

// wait returns the first line from *from on that matches, moving *from past it. It gives
// up after limit, or when the output ends (every process of the app is gone).
func (l *appLog) wait(from *int, limit time.Duration, match func(logLine) bool) (logLine, bool) {
	timeout := time.After(limit)
	for {
		l.mu.Lock()
		for ; *from < len(l.lines); *from++ {
			if line := l.lines[*from]; match(line) {
				*from++
				l.mu.Unlock()
				return line, true
			}
		}
		closed, changed := l.closed, l.changed
		l.mu.Unlock()
		if closed {
			return logLine{}, false
		}
		select {
		case <-changed:
		case <-timeout:
			return logLine{}, false
		}
	}
}

// ended reports whether the output has closed.
func (l *appLog) ended() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.closed
}

func (l *appLog) tail(n int) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var b strings.Builder
	for _, line := range l.lines[max(0, len(l.lines)-n):] {
		b.WriteString(line.text)
		b.WriteByte('\n')
	}
	return b.String()
}

// proc is a process, told apart from a later one with the same pid by its start time.
type proc struct {
	pid   int
	start string // field 22 of /proc/PID/stat, in clock ticks since boot
	name  string
}

// alive reports whether the process still runs: a zombie has exited and only waits for
// its parent (or init) to reap it.
func (p proc) alive() bool {
	_, state, start, err := readStat(p.pid)
	return err == nil && start == p.start && state != "Z" && state != "X"
}

// processTree lists root and all its descendants.
func processTree(root int) []proc {
	entries, _ := os.ReadDir("/proc")
	children := map[int][]int{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if ppid, _, _, err := readStat(pid); err == nil {
			children[ppid] = append(children[ppid], pid)
		}
	}
	var tree []proc
	queue := []int{root}
	for len(queue) > 0 {
		pid := queue[0]
		queue = queue[1:]
		_, state, start, err := readStat(pid)
		if err != nil || state == "Z" {
			continue
		}
		tree = append(tree, proc{pid: pid, start: start, name: procName(pid)})
		queue = append(queue, children[pid]...)
	}
	return tree
}

// readStat reads a process's parent, state and start time from /proc/PID/stat.
func readStat(pid int) (ppid int, state, start string, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, "", "", err
	}
	// The command name, in parentheses, may hold spaces and parentheses: fields start
	// after the last ")".
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, "", "", fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 {
		return 0, "", "", fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	ppid, err = strconv.Atoi(f[1])
	return ppid, f[0], f[19], err
}

// procName is the program's file name; /proc/PID/comm cuts it to 15 bytes
// ("WebKitWebProces").
func procName(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || len(b) == 0 {
		return "?"
	}
	argv0, _, _ := bytes.Cut(b, []byte{0})
	return filepath.Base(string(argv0))
}

// procKiB reads a "Key:   123 kB" line from /proc/PID/<file>.
func procKiB(pid int, file, key string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/%s", pid, file))
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, key); ok {
			f := strings.Fields(rest)
			if len(f) == 2 && f[1] == "kB" {
				return strconv.ParseInt(f[0], 10, 64)
			}
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/%s", key, pid, file)
}

type procMemory struct {
	proc
	rssKiB, pssKiB int64
}

type memoryUse struct{ procs []procMemory }

func (m memoryUse) total() (rss, pss int64) {
	for _, p := range m.procs {
		rss += p.rssKiB
		pss += p.pssKiB
	}
	return rss, pss
}

func mib(kib int64) string { return fmt.Sprintf("%.1f MiB", float64(kib)/1024) }

func (m memoryUse) String() string {
	rss, pss := m.total()
	names := make([]string, len(m.procs))
	for i, p := range m.procs {
		names[i] = fmt.Sprintf("%s %s", p.name, mib(p.rssKiB))
	}
	return fmt.Sprintf("RSS %s (PSS %s) over %d processes: %s", mib(rss), mib(pss), len(m.procs), strings.Join(names, ", "))
}

func (m memoryUse) detail() string {
	rss, pss := m.total()
	var b strings.Builder
	fmt.Fprintf(&b, "RSS %s, PSS %s, %d processes", mib(rss), mib(pss), len(m.procs))
	for _, p := range m.procs {
		fmt.Fprintf(&b, "\n  %-22s pid %-7d RSS %-10s PSS %s", p.name, p.pid, mib(p.rssKiB), mib(p.pssKiB))
	}
	return b.String()
}

// screenshots saves the whole X screen as NN-<name>.png, numbered in the order taken.
type screenshots struct {
	t   *testing.T
	dir string
	n   int
}

func newScreenshots(t *testing.T, dir string) *screenshots {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// Pictures of an older run would pass for this one's.
	old, _ := filepath.Glob(filepath.Join(dir, "*.png"))
	for _, f := range old {
		os.Remove(f)
	}
	return &screenshots{t: t, dir: dir}
}

func (s *screenshots) take(app *running, name string) {
	s.t.Helper()
	path, err := s.capture(app.d.display, name)
	if err != nil {
		app.fatalf("screenshot %s: %v", name, err)
	}
	s.t.Logf("screenshot %s", path)
}

// takeQuietly is for failure reports: a screenshot that cannot be taken must not hide
// the failure being reported.
func (s *screenshots) takeQuietly(display, name string) string {
	path, err := s.capture(display, name)
	if err != nil {
		return "(none: " + err.Error() + ")"
	}
	return path
}

func (s *screenshots) capture(display, name string) (string, error) {
	s.n++
	path := filepath.Join(s.dir, fmt.Sprintf("%02d-%s.png", s.n, name))
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	cmd := exec.CommandContext(ctx, "import", "-window", "root", path)
	cmd.Env = []string{"DISPLAY=" + display, "PATH=" + os.Getenv("PATH")}
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("%v: %s", err, out)
	}
	return path, nil
}

// startXvfb starts a private X server and returns its display (":N"). With -displayfd
// the server itself picks the first free display number and writes it to the pipe, so
// two test runs (or another Xvfb on the machine) cannot race for the same number.
func startXvfb(t *testing.T) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	// -noreset: the server would otherwise reset each time the last client (the app,
	// between launches) disconnects.
	cmd := exec.Command("Xvfb", "-displayfd", "3", "-screen", "0", "1280x900x24", "-nolisten", "tcp", "-noreset")
	cmd.ExtraFiles = []*os.File{w}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err = cmd.Start()
	w.Close()
	if err != nil {
		t.Fatalf("start Xvfb: %v", err)
	}
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(waitLimit):
			cmd.Process.Kill()
			<-exited
		}
	})

	got := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(r).ReadString('\n')
		got <- strings.TrimSpace(line)
	}()
	select {
	case n := <-got:
		if _, err := strconv.Atoi(n); err != nil {
			<-exited
			t.Fatalf("Xvfb did not start: %s", stderr.String())
		}
		return ":" + n
	case <-time.After(waitLimit):
		t.Fatalf("Xvfb named no display within %v", waitLimit)
	}
	return ""
}

// appEnv is the app's environment: the private display, and homes, caches and config in
// temporary folders so nothing of the developer's session leaks in or out.
func appEnv(t *testing.T, display string) []string {
	home := t.TempDir()
	runtimeDir := t.TempDir() // 0700, as XDG_RUNTIME_DIR must be
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch {
		case name == "DISPLAY", name == "WAYLAND_DISPLAY", name == "XAUTHORITY", name == "HOME",
			name == "DBUS_SESSION_BUS_ADDRESS", strings.HasPrefix(name, "XDG_"),
			// Every flag of shoplogin also reads SHOPLOGIN_<FLAG>: a SHOPLOGIN_SERVER in the
			// developer's shell would point the window at another server.
			strings.HasPrefix(name, "SHOPLOGIN_"):
			continue
		}
		env = append(env, kv)
	}
	return append(env,
		"DISPLAY="+display,
		"GDK_BACKEND=x11",
		"HOME="+home,
		"XDG_CONFIG_HOME="+filepath.Join(home, ".config"),
		"XDG_CACHE_HOME="+filepath.Join(home, ".cache"),
		"XDG_DATA_HOME="+filepath.Join(home, ".local", "share"),
		"XDG_STATE_HOME="+filepath.Join(home, ".local", "state"),
		"XDG_RUNTIME_DIR="+runtimeDir,
		// No session bus: the token goes to the 0600 file in the data folder, never into
		// the developer's keyring, and GTK's accessibility bridge stays quiet.
		"DBUS_SESSION_BUS_ADDRESS=disabled:",
		"NO_AT_BRIDGE=1",
	)
}

// freeLoopbackAddr returns a loopback address with a port nobody listens on now.
func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// moduleRoot is the folder of go.mod, where artifacts/ lives.
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's folder")
		}
		dir = parent
	}
}

// requireTokenFile checks that the token was kept where a machine without a keyring keeps
// it: a file only its owner can read, in the data folder.
func requireTokenFile(t *testing.T, data string) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(data, "token-*"))
	if len(files) != 1 {
		t.Fatalf("want one saved token file in %s, found %v", data, files)
	}
	fi, err := os.Stat(files[0])
	if err != nil {
		t.Fatal(err)
	}
	if mode := fi.Mode().Perm(); mode != 0o600 {
		t.Fatalf("token file %s has mode %v, want 0600", files[0], mode)
	}
}

// figures is artifacts/desktop-metrics.txt, rewritten as each figure comes in, so the ones
// measured before a failure are kept.
type figures struct {
	t     *testing.T
	path  string
	lines []string
}

func newFigures(t *testing.T, path, bin string) *figures {
	f := &figures{t: t, path: path, lines: []string{
		fmt.Sprintf("# shoplogin desktop end-to-end figures, %s, %s", t.Name(), time.Now().UTC().Format(time.RFC3339)),
		"# binary: " + bin,
	}}
	f.write()
	return f
}

// add records name: value, with notes on how it was measured.
func (f *figures) add(name, value string, notes ...string) {
	f.t.Helper()
	f.lines = append(f.lines, name+": "+value)
	for _, n := range notes {
		f.lines = append(f.lines, "  "+n)
	}
	f.write()
}

func (f *figures) write() {
	f.t.Helper()
	if err := os.WriteFile(f.path, []byte(strings.Join(f.lines, "\n")+"\n"), 0o644); err != nil {
		f.t.Fatal(err)
	}
}

// qaAPI is the embedded server's QA API (DESIGN.md, "QA API").
type qaAPI struct {
	base   string
	client *http.Client
}

type qaEvent struct {
	ID     int64  `json:"id"`
	Type   string `json:"type"`
	Detail string `json:"detail"`
}

func (e qaEvent) String() string { return fmt.Sprintf("#%d %s(%s)", e.ID, e.Type, e.Detail) }

func (q qaAPI) do(t *testing.T, method, path string, body, out any) {
	t.Helper()
	var in io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		in = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, q.base+path, in)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := q.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode/100 != 2 {
		t.Fatalf("%s %s: %s %s", method, path, res.Status, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, path, err, b)
		}
	}
}

func (q qaAPI) createAccount(t *testing.T, email, password string, twoFactor bool) {
	t.Helper()
	q.do(t, http.MethodPost, "/api/qa/accounts",
		map[string]any{"email": email, "password": password, "two_factor": twoFactor}, nil)
}

// code waits (on the server) for the newest code emailed to addr.
func (q qaAPI) code(t *testing.T, addr string) string {
	t.Helper()
	var res struct {
		Code string `json:"code"`
	}
	q.do(t, http.MethodGet, "/api/qa/code?wait=10s&to="+url.QueryEscape(addr), nil, &res)
	if len(res.Code) != 6 {
		t.Fatalf("QA inbox code %q is not six digits", res.Code)
	}
	return res.Code
}

func (q qaAPI) events(t *testing.T, email string) []qaEvent {
	t.Helper()
	var res struct {
		Events []qaEvent `json:"events"`
	}
	q.do(t, http.MethodGet, "/api/qa/events?email="+url.QueryEscape(email), nil, &res)
	return res.Events
}

func (q qaAPI) advanceClock(t *testing.T, d string) {
	t.Helper()
	q.do(t, http.MethodPost, "/api/qa/clock", map[string]string{"advance": d}, nil)
}

// requireEvent returns the newest event of a type (with detail, unless detail is "").
func requireEvent(t *testing.T, events []qaEvent, typ, detail string) qaEvent {
	t.Helper()
	i := slices.IndexFunc(events, func(e qaEvent) bool { return e.Type == typ && (detail == "" || e.Detail == detail) })
	if i < 0 {
		t.Fatalf("no %s event with detail %q in the audit log: %v", typ, detail, events)
	}
	return events[i]
}

func countEvents(events []qaEvent, typ string) int {
	n := 0
	for _, e := range events {
		if e.Type == typ {
			n++
		}
	}
	return n
}

// lastEventID is the newest event's id (the list is newest first).
func lastEventID(events []qaEvent) int64 {
	if len(events) == 0 {
		return 0
	}
	return events[0].ID
}
