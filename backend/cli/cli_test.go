package cli

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// run runs the command line and returns its exit code, stdout and stderr.
func run(t *testing.T, ctx context.Context, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut syncBuffer
	code := Run(ctx, args, IO{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errOut}, Program{})
	return code, out.String(), errOut.String()
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestHelpListsEveryFlagWithItsEnvironmentVariable(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"serve", "--help"}, {"account", "add", "--help"}} {
		code, _, stderr := run(t, context.Background(), "", args...)
		if code != 0 {
			t.Errorf("%v: exit %d", args, code)
		}
		if !strings.Contains(stderr, "SHOPLOGIN_") || !strings.Contains(stderr, "USAGE") {
			t.Errorf("%v: help has no environment variables:\n%s", args, stderr)
		}
	}
	_, _, stderr := run(t, context.Background(), "", "serve", "--help")
	for _, want := range []string{"--smtp-relay", "SHOPLOGIN_SMTP_RELAY", "--trusted-proxy", "SHOPLOGIN_TRUSTED_PROXY", "--inbox-addr", "--qa"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("serve --help lacks %s", want)
		}
	}
}

func TestBadFlagsAreUsageErrors(t *testing.T) {
	cases := [][]string{
		{"serve", "--no-such-flag"},
		{"serve", "extra-arg"},
		{"serve", "--log-level", "loud"},
		{"frobnicate"},
		{"account"},
		{"account", "add"},
	}
	for _, args := range cases {
		code, _, stderr := run(t, context.Background(), "", args...)
		if code != 2 || !strings.Contains(stderr, "shoplogin") {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 with a message", args, code, stderr)
		}
	}
}

func TestServeReportsABusyPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	code, _, stderr := run(t, context.Background(), "", "serve", "--addr", ln.Addr().String(), "--data", t.TempDir())
	if code != 1 || !strings.Contains(stderr, "already in use") {
		t.Fatalf("exit %d, stderr %q; want a busy-port error", code, stderr)
	}
}

func TestServeReportsAnUnwritableDataFolder(t *testing.T) {
	file := filepath.Join(t.TempDir(), "not-a-folder")
	os.WriteFile(file, nil, 0o600)
	code, _, stderr := run(t, context.Background(), "", "serve", "--addr", "127.0.0.1:0", "--data", filepath.Join(file, "data"))
	if code != 1 || !strings.Contains(stderr, "data folder") {
		t.Fatalf("exit %d, stderr %q; want a data folder error", code, stderr)
	}
}

func TestServeTakesFlagsFromTheEnvironmentAndPrintsItsAddresses(t *testing.T) {
	data := t.TempDir()
	t.Setenv("SHOPLOGIN_DATA", data)
	t.Setenv("SHOPLOGIN_QA", "true")
	t.Setenv("SHOPLOGIN_ADDR", "127.0.0.1:0")
	t.Setenv("SHOPLOGIN_TRUSTED_PROXY", "10.0.0.0/8,127.0.0.1")
	ctx, cancel := context.WithCancel(context.Background())
	var out, errOut syncBuffer
	done := make(chan int)
	go func() {
		done <- Run(ctx, []string{"serve"}, IO{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut}, Program{})
	}()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "Ctrl+C") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	for _, want := range []string{"API:", "QA API:", "QA inbox SMTP:", data} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if _, err := os.Stat(filepath.Join(data, "shoplogin.db")); err != nil {
		t.Errorf("SHOPLOGIN_DATA was not used: %v", err)
	}
}

func TestAccountAddReadsThePasswordFromStdin(t *testing.T) {
	data := t.TempDir()
	code, out, stderr := run(t, context.Background(), "correct horse battery\n", "account", "add", "--data", data, "--email", "ann@example.org", "--two-factor")
	if code != 0 || !strings.Contains(out, "ann@example.org") {
		t.Fatalf("exit %d: %s %s", code, out, stderr)
	}
	code, _, stderr = run(t, context.Background(), "correct horse battery\n", "account", "add", "--data", data, "--email", "ann@example.org")
	if code != 1 || !strings.Contains(stderr, "already exists") {
		t.Fatalf("second add: exit %d, %q", code, stderr)
	}
	code, _, stderr = run(t, context.Background(), "password\n", "account", "add", "--data", data, "--email", "bob@example.org")
	if code != 1 || !strings.Contains(strings.ToLower(stderr), "common") {
		t.Fatalf("common password: exit %d, %q", code, stderr)
	}
	code, _, stderr = run(t, context.Background(), "", "account", "add", "--data", data, "--email", "bob@example.org")
	if code != 2 || !strings.Contains(stderr, "stdin") {
		t.Fatalf("no password: exit %d, %q", code, stderr)
	}
}
