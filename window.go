package main

import (
	"context"
	"embed"
	"io/fs"

	"shoplogin/app"
	"shoplogin/backend/cli"
)

// assets is the built frontend (npm run build). Wails needs it embedded from the root
// package; `all:` keeps dist/.gitkeep so a clean clone still compiles.
//
//go:embed all:frontend/dist
var assets embed.FS

// window opens the desktop app.
func window(ctx context.Context, o cli.WindowOptions) error {
	dist, err := fs.Sub(assets, "frontend/dist")
	if err != nil {
		return err
	}
	return app.Run(ctx, o, dist)
}
