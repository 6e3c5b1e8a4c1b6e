package server_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"shoplogin/backend/outbox"
	"shoplogin/backend/password"
	"shoplogin/backend/server"
)

// childEnv, when set in the environment, makes this test binary run a server instead of the
// tests: the crash test re-executes itself with it, so that it can kill a real server process
// with SIGKILL without building a separate program. Its value is the data folder.
const (
	childEnv      = "SHOPLOGIN_TEST_CHILD_DATA"
	childRelayEnv = "SHOPLOGIN_TEST_CHILD_RELAY"
)

func TestMain(m *testing.M) {
	if dir := os.Getenv(childEnv); dir != "" {
		os.Exit(runChild(dir, os.Getenv(childRelayEnv)))
	}
	os.Exit(m.Run())
}

// runChild runs the server on dir with its mail going to the relay at relayAddr, prints
// "URL <base url>" on stdout once it serves, and runs until killed or until its standard
// input closes (the parent test is gone: a child must not outlive it).
func runChild(dir, relayAddr string) int {
	srv, err := server.Start(context.Background(), server.Config{
		Addr:         "127.0.0.1:0",
		DataDir:      dir,
		QA:           true, // accounts are made through the QA API, and its clock moves leases on
		SMTPRelay:    relayAddr,
		SMTPInsecure: true,
		Password:     password.TestParams(),
		Outbox:       outbox.Options{RetryBase: 20 * time.Millisecond, RetryMax: 100 * time.Millisecond, Poll: 20 * time.Millisecond},
		Log:          slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 1
	}
	fmt.Printf("URL %s\n", srv.URL())
	io.Copy(io.Discard, bufio.NewReader(os.Stdin))
	srv.Close()
	return 0
}
