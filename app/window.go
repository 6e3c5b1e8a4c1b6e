package app

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/wailsapp/wails/v2"
	"github.com/wailsapp/wails/v2/pkg/logger"
	"github.com/wailsapp/wails/v2/pkg/options"
	"github.com/wailsapp/wails/v2/pkg/options/assetserver"
	"github.com/wailsapp/wails/v2/pkg/options/linux"
	"github.com/wailsapp/wails/v2/pkg/runtime"

	"shoplogin/backend/cli"
	"shoplogin/backend/server"
)

// Run opens the desktop window. Unless o.ServerURL names a remote server, it first starts
// the account server embedded on loopback, with its data in o.DataDir.
func Run(ctx context.Context, o cli.WindowOptions, assets fs.FS) error {
	logOut := o.ServerLogs
	if logOut == nil {
		logOut = io.Discard
	}
	log := slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: slog.LevelInfo}))
	started := time.Now()

	serverURL := o.ServerURL
	if serverURL == "" {
		cfg := server.Config{Addr: o.Addr, DataDir: filepath.Join(o.DataDir, "server"), QA: o.QA, Log: log.With("component", "server")}
		if o.QA {
			// The QA panel's "new network" sends X-Forwarded-For from this process.
			cfg.TrustedProxies = []string{"127.0.0.1/32", "::1/128"}
		}
		srv, err := server.Start(ctx, cfg)
		if err != nil {
			return fmt.Errorf("start the embedded account server: %w", err)
		}
		defer srv.Close()
		serverURL = srv.URL()
		log.Info("embedded account server", slog.String("url", serverURL), slog.String("inbox", srv.InboxAddr()))
	}

	deviceID, err := DeviceID(o.DataDir)
	if err != nil {
		return err
	}
	a := New(Options{ServerURL: serverURL, DeviceID: deviceID, QA: o.QA, Log: log.With("component", "app"),
		Tokens: ChooseTokenStore(o.DataDir, log)})
	a.launched = started

	var stopWatch context.CancelFunc = func() {}
	return wails.Run(&options.App{
		Title:     "Shop",
		Width:     1100,
		Height:    760,
		MinWidth:  720,
		MinHeight: 560,
		AssetServer: &assetserver.Options{
			Assets: assets,
		},
		BackgroundColour: &options.RGBA{R: 0x14, G: 0x16, B: 0x1c, A: 255},
		LogLevel:         logger.WARNING,
		ErrorFormatter:   ErrorFormatter,
		Bind:             []any{a},
		OnStartup: func(wctx context.Context) {
			a.SetEmitter(func(name string, data ...any) { runtime.EventsEmit(wctx, name, data...) })
			if o.QA {
				var watchCtx context.Context
				watchCtx, stopWatch = context.WithCancel(wctx)
				go a.watchInbox(watchCtx, time.Second)
			}
		},
		OnDomReady: func(wctx context.Context) {
			log.Info("window ready", slog.Duration("since_launch", time.Since(started)))
			if after := os.Getenv("SHOPLOGIN_QUIT_AFTER"); after != "" {
				// Test hook: the end-to-end test closes the window itself when done.
				if d, err := time.ParseDuration(after); err == nil {
					time.AfterFunc(d, func() { runtime.Quit(wctx) })
				}
			}
		},
		OnShutdown: func(context.Context) { stopWatch() },
		Linux:      &linux.Options{ProgramName: "shoplogin", WebviewGpuPolicy: linux.WebviewGpuPolicyNever},
	})
}

// watchInbox tells the window when mail arrives in the QA inbox, so the QA panel
// refreshes without the user asking.
func (a *App) watchInbox(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	last := int64(-1)
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		c, cancel := context.WithTimeout(ctx, every)
		list, err := a.snapshot().Messages(c, "")
		cancel()
		if err != nil {
			continue
		}
		var newest int64
		if len(list) > 0 {
			newest = list[0].ID
		}
		if last >= 0 && newest != last {
			a.emitEvent(EventMailReceived, newest)
		}
		last = newest
	}
}
