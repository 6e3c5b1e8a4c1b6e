// Command shoplogin is the shop sign-in with email two-factor authentication: a desktop
// app with its account server embedded, or the server alone (`shoplogin serve`), which
// also serves the website login.
package main

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"os"
	"os/signal"
	"syscall"

	"shoplogin/app"
	"shoplogin/backend/cli"
)

// assets is the built frontend (npm run build): the desktop window's pages and the
// website's. Wails needs it embedded from the root package; `all:` keeps dist/.gitkeep so
// a clean clone compiles before the frontend is built.
//
//go:embed all:frontend/dist
var assets embed.FS

func main() {
	dist, err := fs.Sub(assets, "frontend/dist")
	if err != nil {
		fmt.Fprintln(os.Stderr, "shoplogin:", err)
		os.Exit(1)
	}
	var web fs.FS
	if _, err := fs.Stat(dist, "index.html"); err == nil {
		web = dist
	}
	window := func(ctx context.Context, o cli.WindowOptions) error { return app.Run(ctx, o, dist) }
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:], cli.IO{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr},
		cli.Program{Window: window, Web: web})
	stop()
	os.Exit(code)
}
