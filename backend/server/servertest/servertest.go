// Package servertest starts real account servers for tests in other packages.
package servertest

import (
	"context"
	"path/filepath"
	"testing"

	"shoplogin/backend/clock"
	"shoplogin/backend/password"
	"shoplogin/backend/server"
)

// Config is a server configuration for tests: real SQLite files in a fresh temp folder,
// the SMTP QA inbox on a free loopback port, QA on, loopback trusted as a proxy (so a
// client picks its network with X-Forwarded-For), cheap argon2 parameters (never for
// production) and clk as the base of the QA clock.
func Config(t testing.TB, clk clock.Clock) server.Config {
	return server.Config{
		Addr:           "127.0.0.1:0",
		DataDir:        filepath.Join(t.TempDir(), "data"),
		QA:             true,
		TrustedProxies: []string{"127.0.0.1/32"},
		Password:       password.TestParams(),
		Clock:          clk,
	}
}

// Start runs a server with cfg until the test ends.
func Start(t testing.TB, cfg server.Config) *server.Server {
	t.Helper()
	srv, err := server.Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}
