package cli

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// --qa on an address other than loopback is refused, naming the way out; with
// --allow-remote-qa the same command serves.
func TestServeQABeyondLoopbackNeedsAllowRemoteQA(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	code, _, stderr := run(t, context.Background(), "", "serve", "--qa", "--addr", "0.0.0.0:0", "--data", data)
	if code != 1 || !strings.Contains(stderr, "loopback") || !strings.Contains(stderr, "--allow-remote-qa") {
		t.Fatalf("--qa on 0.0.0.0: exit %d, stderr %q; want a refusal naming loopback and --allow-remote-qa", code, stderr)
	}

	ctx, cancel := context.WithCancel(context.Background())
	var out, errOut syncBuffer
	done := make(chan int)
	go func() {
		done <- Run(ctx, []string{"serve", "--qa", "--allow-remote-qa", "--addr", "0.0.0.0:0", "--data", data},
			IO{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut}, Program{})
	}()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "Ctrl+C") && time.Now().Before(deadline) {
		select {
		case code := <-done:
			t.Fatalf("serve --allow-remote-qa exited %d: %s", code, errOut.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	if !strings.Contains(out.String(), "QA API:") {
		t.Fatalf("serve --qa --allow-remote-qa did not serve the QA API:\n%s", out.String())
	}
}
