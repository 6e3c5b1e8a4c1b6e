// Command shoplogin is the shop sign-in with email two-factor authentication: a desktop
// app with its account server embedded, or the server alone (`shoplogin serve`).
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"shoplogin/backend/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:], cli.IO{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}, window)
	stop()
	os.Exit(code)
}
