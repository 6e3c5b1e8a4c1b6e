package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"shoplogin/backend/password"
	"shoplogin/backend/server"
)

// The server under load runs in a child process (this program, re-executed with -child),
// so that its memory and CPU time are its own and not the load generator's.

// childInfo is the one line a child prints once its server listens.
type childInfo struct {
	API string `json:"api"` // the HTTP API's base URL
	Ctl string `json:"ctl"` // pprof and /gc, on another loopback port
}

// runChild starts a real server (QA on, real SQLite files in dataDir, real SMTP inbox on
// loopback) and serves until its stdin closes.
func runChild(dataDir, params string) error {
	p := password.DefaultParams()
	if params == "test" {
		p = password.TestParams()
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return err
	}
	// The server logs as `shoplogin serve` does by default (text, info: an audit line per
	// sign-in), into a file where a service manager would keep it.
	logFile, err := os.Create(filepath.Join(dataDir, "server.log"))
	if err != nil {
		return err
	}
	defer logFile.Close()
	srv, err := server.Start(context.Background(), server.Config{
		Addr: "127.0.0.1:0", DataDir: dataDir, QA: true, Password: p,
		// Loopback is the load generator: it may say which network each client is on.
		TrustedProxies: []string{"127.0.0.1/32"},
		Log:            slog.New(slog.NewTextHandler(logFile, &slog.HandlerOptions{Level: slog.LevelInfo})),
	})
	if err != nil {
		return err
	}
	ctl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		srv.Close()
		return err
	}
	mux := http.NewServeMux()
	// A CPU profile of exactly one phase: started and stopped by the load generator.
	var profile *os.File
	mux.HandleFunc("/cpu/start", func(w http.ResponseWriter, r *http.Request) {
		f, err := os.Create(r.URL.Query().Get("path"))
		if err == nil {
			if err = pprof.StartCPUProfile(f); err != nil {
				f.Close()
			}
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		profile = f
	})
	mux.HandleFunc("/cpu/stop", func(w http.ResponseWriter, r *http.Request) {
		if profile != nil {
			pprof.StopCPUProfile()
			profile.Close()
			profile = nil
		}
	})
	// The load generator resets the peak RSS between phases; returning freed memory to
	// the OS first makes each phase's peak its own.
	mux.HandleFunc("/gc", func(w http.ResponseWriter, r *http.Request) { debug.FreeOSMemory() })
	go http.Serve(ctl, mux)
	if err := json.NewEncoder(os.Stdout).Encode(childInfo{API: srv.URL(), Ctl: "http://" + ctl.Addr().String()}); err != nil {
		srv.Close()
		return err
	}
	io.Copy(io.Discard, os.Stdin) // returns when the parent closes the pipe or dies
	ctl.Close()
	return srv.Close()
}

// child is a running server process.
type child struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	info  childInfo
	http  *http.Client
}

func startChild(dataDir, params string) (*child, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, "-child", "-data", dataDir, "-child-params", params)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &child{cmd: cmd, stdin: stdin, http: &http.Client{Timeout: time.Minute}}
	line, err := bufio.NewReader(stdout).ReadBytes('\n')
	if err == nil {
		err = json.Unmarshal(line, &c.info)
	}
	if err != nil {
		c.stop()
		return nil, fmt.Errorf("server child: %w", err)
	}
	return c, nil
}

// stop closes the child's stdin (it shuts its server down cleanly) and waits for it.
func (c *child) stop() error {
	c.stdin.Close()
	done := make(chan error, 1)
	go func() { done <- c.cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(30 * time.Second):
		c.cmd.Process.Kill() // our own child, by its handle
		return errors.New("server child did not stop in 30s")
	}
}

func (c *child) pid() int { return c.cmd.Process.Pid }

// resetPeak frees what the child's heap no longer uses and restarts its peak RSS count.
func (c *child) resetPeak() {
	c.ctl("/gc")
	resetPeakRSS(c.pid())
}

// startProfile starts a CPU profile of the child into path; stop ends it.
func (c *child) startProfile(path string) (stop func(), err error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	if err := c.ctl("/cpu/start?path=" + url.QueryEscape(abs)); err != nil {
		return nil, err
	}
	return func() { c.ctl("/cpu/stop") }, nil
}

func (c *child) ctl(path string) error {
	resp, err := c.http.Get(c.info.Ctl + path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("%s: %s", path, bytes.TrimSpace(msg))
	}
	return nil
}

// procCPU is the user+system CPU time the process has used, from /proc/PID/stat.
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// The command name (field 2) may hold spaces; the fields after its ")" are fixed.
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(fields) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	const ticksPerSecond = 100 // USER_HZ: 100 on every Linux the Go runtime supports
	return time.Duration(utime+stime) * time.Second / ticksPerSecond
}

// peakRSS is the process's peak resident set (VmHWM) since the last resetPeakRSS, in bytes.
func peakRSS(pid int) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// resetPeakRSS sets the process's VmHWM back to its current RSS (Linux clear_refs "5").
func resetPeakRSS(pid int) {
	os.WriteFile("/proc/"+strconv.Itoa(pid)+"/clear_refs", []byte("5"), 0)
}
