// Package cli is shoplogin's command line: `serve`, `account add`, and the flags of the
// desktop window. Every flag can also be set with an environment variable.
package cli

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/peterbourgon/ff/v3"
	"github.com/peterbourgon/ff/v3/ffcli"

	"shoplogin/backend/message"
	"shoplogin/backend/password"
	"shoplogin/backend/server"
)

// EnvPrefix prefixes the environment variable of every flag: --smtp-relay is
// SHOPLOGIN_SMTP_RELAY.
const EnvPrefix = "SHOPLOGIN"

// WindowOptions are the desktop window's flags.
type WindowOptions struct {
	QA         bool
	ServerURL  string
	DataDir    string
	Addr       string
	ServerLogs io.Writer
}

// Window opens the desktop app; main provides it (the cli package never imports Wails).
type Window func(ctx context.Context, o WindowOptions) error

// Program is what main gives the command line: the desktop window and the website's
// files, both optional.
type Program struct {
	Window Window
	Web    fs.FS
}

// IO is where a command reads and writes.
type IO struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
}

// Run runs the command line args (without the program name) and returns the exit code.
func Run(ctx context.Context, args []string, stdio IO, prog Program) int {
	root := rootCommand(stdio, prog)
	if err := root.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(stdio.Stderr, "shoplogin: %v\nRun 'shoplogin --help' for usage.\n", err)
		return 2
	}
	if err := root.Run(ctx); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 2
		}
		var usage usageError
		if errors.As(err, &usage) {
			fmt.Fprintf(stdio.Stderr, "shoplogin: %v\nRun 'shoplogin --help' for usage.\n", err)
			return 2
		}
		fmt.Fprintf(stdio.Stderr, "shoplogin: %v\n", err)
		return 1
	}
	return 0
}

// usageError is a mistake on the command line (exit code 2), not a failure at run time.
type usageError struct{ error }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

func options() []ff.Option {
	return []ff.Option{ff.WithEnvVarPrefix(EnvPrefix), ff.WithEnvVarSplit(",")}
}

func rootCommand(stdio IO, prog Program) *ffcli.Command {
	fs := flag.NewFlagSet("shoplogin", flag.ContinueOnError)
	fs.SetOutput(stdio.Stderr)
	var o WindowOptions
	fs.BoolVar(&o.QA, "qa", false, "show the QA panel (inbox, clock, new device and network)")
	fs.StringVar(&o.ServerURL, "server", "", "use the account server at this URL instead of the embedded one")
	fs.StringVar(&o.DataDir, "data", defaultDataDir(), "data folder of the embedded server")
	fs.StringVar(&o.Addr, "addr", "127.0.0.1:0", "address of the embedded server (default: a free loopback port)")
	root := &ffcli.Command{
		Name:       "shoplogin",
		ShortUsage: "shoplogin [flags] | shoplogin <command> [flags]",
		ShortHelp:  "the shop sign-in with email two-factor authentication",
		LongHelp: "With no command, opens the desktop app with its account server embedded.\n" +
			"Every flag can also be set with an environment variable, shown beside it.",
		FlagSet:     fs,
		Options:     options(),
		Subcommands: []*ffcli.Command{serveCommand(stdio, prog.Web), accountCommand(stdio)},
		UsageFunc:   usage,
		Exec: func(ctx context.Context, args []string) error {
			if len(args) > 0 {
				return usagef("unknown command %q", args[0])
			}
			if prog.Window == nil {
				return errors.New("this build has no desktop window; run 'shoplogin serve' for the account server")
			}
			if o.ServerURL == "" {
				if err := checkDataDir(o.DataDir); err != nil {
					return err
				}
			}
			o.ServerLogs = stdio.Stderr
			return prog.Window(ctx, o)
		},
	}
	return root
}

func defaultDataDir() string {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "shoplogin-data"
	}
	return filepath.Join(dir, "shoplogin")
}

func checkDataDir(dir string) error {
	if strings.TrimSpace(dir) == "" {
		return usagef("--data must name a folder")
	}
	return nil
}

// stringList is a repeatable flag (--trusted-proxy A --trusted-proxy B); from the
// environment it takes a comma-separated list.
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ",") }

func (l *stringList) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}

// usage prints a command's help with each flag's environment variable.
func usage(c *ffcli.Command) string {
	var b strings.Builder
	fmt.Fprintf(&b, "USAGE\n  %s\n", c.ShortUsage)
	if c.LongHelp != "" {
		fmt.Fprintf(&b, "\n%s\n", c.LongHelp)
	}
	if len(c.Subcommands) > 0 {
		b.WriteString("\nCOMMANDS\n")
		tw := tabwriter.NewWriter(&b, 0, 2, 2, ' ', 0)
		for _, sub := range c.Subcommands {
			fmt.Fprintf(tw, "  %s\t%s\n", sub.Name, sub.ShortHelp)
		}
		tw.Flush()
	}
	if c.FlagSet != nil {
		b.WriteString("\nFLAGS\n")
		tw := tabwriter.NewWriter(&b, 0, 2, 2, ' ', 0)
		c.FlagSet.VisitAll(func(f *flag.Flag) {
			def := ""
			if f.DefValue != "" && f.DefValue != "false" {
				def = fmt.Sprintf(" (default %s)", f.DefValue)
			}
			env := EnvPrefix + "_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
			fmt.Fprintf(tw, "  --%s\t%s\t%s%s\n", f.Name, env, f.Usage, def)
		})
		tw.Flush()
	}
	return b.String()
}

func serveCommand(stdio IO, web fs.FS) *ffcli.Command {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stdio.Stderr)
	var cfg server.Config
	var proxies stringList
	brand := message.DefaultBrand()
	var logLevel, logFormat string
	fs.StringVar(&cfg.Addr, "addr", "127.0.0.1:8080", "HTTP address to serve the API and website on")
	fs.StringVar(&cfg.DataDir, "data", defaultDataDir(), "data folder: database, secret key, QA inbox")
	fs.BoolVar(&cfg.QA, "qa", false, "serve the QA API: every email, the clock, test accounts (loopback only)")
	fs.BoolVar(&cfg.AllowRemoteQA, "allow-remote-qa", false, "allow --qa on a non-loopback address (anyone who can reach it can read every email)")
	fs.StringVar(&cfg.InboxAddr, "inbox-addr", "127.0.0.1:0", "SMTP address of the embedded QA inbox")
	fs.StringVar(&cfg.SMTPRelay, "smtp-relay", "", "deliver mail to this SMTP server (host:port, STARTTLS) instead of the QA inbox")
	fs.StringVar(&cfg.SMTPUser, "smtp-user", "", "user name for AUTH PLAIN at the relay")
	fs.StringVar(&cfg.SMTPPassword, "smtp-password", "", "password for AUTH PLAIN at the relay (prefer the environment variable)")
	fs.StringVar(&cfg.SMTPCAFile, "smtp-ca", "", "PEM file of the CA(s) to trust for the relay, instead of the system's")
	fs.BoolVar(&cfg.SMTPInsecure, "smtp-insecure", false, "talk to a loopback relay without STARTTLS (testing only)")
	fs.Var(&proxies, "trusted-proxy", "CIDR or address of a proxy whose X-Forwarded-For is believed (repeatable)")
	fs.StringVar(&brand.Product, "brand", brand.Product, "product name in emails")
	fs.StringVar(&brand.FromAddress, "mail-from", brand.FromAddress, "sender address of emails")
	fs.StringVar(&brand.FromName, "mail-from-name", brand.FromName, "sender name of emails")
	fs.StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn or error")
	fs.StringVar(&logFormat, "log-format", "text", "log format: text or json")
	return &ffcli.Command{
		Name:       "serve",
		ShortUsage: "shoplogin serve [--addr HOST:PORT] [--data DIR] [--qa] [--smtp-relay HOST:PORT] [--trusted-proxy CIDR]...",
		ShortHelp:  "run the account server headless (API, website login, mail)",
		LongHelp: "Runs the account server. Mail goes to the embedded QA inbox unless --smtp-relay is set.\n" +
			"With --qa, the QA API (/api/qa) shows every email and can move the clock.",
		FlagSet:   fs,
		Options:   options(),
		UsageFunc: usage,
		Exec: func(ctx context.Context, args []string) error {
			if len(args) > 0 {
				return usagef("serve takes no arguments (got %q)", args[0])
			}
			logger, err := newLogger(stdio.Stderr, logLevel, logFormat)
			if err != nil {
				return err
			}
			cfg.TrustedProxies = proxies
			cfg.Brand = brand
			cfg.Log = logger
			cfg.Web = web
			return serve(ctx, cfg, stdio.Stdout)
		},
	}
}

func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, usagef("--log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: l}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, usagef("--log-format %q: want text or json", format)
}

func serve(ctx context.Context, cfg server.Config, out io.Writer) error {
	srv, err := server.Start(ctx, cfg)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "shoplogin account server\n  API:            %s/api/v1\n", srv.URL())
	if cfg.Web != nil {
		fmt.Fprintf(out, "  website login:  %s/\n", srv.URL())
	} else {
		fmt.Fprintf(out, "  website login:  not in this build (build the frontend first: make build)\n")
	}
	if addr := srv.InboxAddr(); addr != "" {
		fmt.Fprintf(out, "  QA inbox SMTP:  %s\n", addr)
	}
	if cfg.QA {
		fmt.Fprintf(out, "  QA API:         %s/api/qa (inbox: %s/api/qa/messages)\n", srv.URL(), srv.URL())
	}
	fmt.Fprintf(out, "  data:           %s\nPress Ctrl+C to stop.\n", cfg.DataDir)
	<-ctx.Done()
	fmt.Fprintln(out, "stopping…")
	return srv.Close()
}

func accountCommand(stdio IO) *ffcli.Command {
	fs := flag.NewFlagSet("account add", flag.ContinueOnError)
	fs.SetOutput(stdio.Stderr)
	var dataDir, email string
	var twoFactor bool
	fs.StringVar(&dataDir, "data", defaultDataDir(), "data folder of the server")
	fs.StringVar(&email, "email", "", "the account's email address")
	fs.BoolVar(&twoFactor, "two-factor", false, "turn email two-factor authentication on")
	add := &ffcli.Command{
		Name:       "add",
		ShortUsage: "shoplogin account add --data DIR --email E [--two-factor] < password",
		ShortHelp:  "create an account; the password is read from stdin",
		LongHelp:   "Creates an account, reading its password from the first line of standard input\n(so it stays out of the shell history and the process list).",
		FlagSet:    fs,
		Options:    options(),
		UsageFunc:  usage,
		Exec: func(ctx context.Context, args []string) error {
			if len(args) > 0 {
				return usagef("account add takes no arguments (got %q)", args[0])
			}
			if email == "" {
				return usagef("--email is required")
			}
			pw, err := readPassword(stdio.Stdin)
			if err != nil {
				return err
			}
			if err := server.AddAccount(ctx, dataDir, email, pw, twoFactor); err != nil {
				return err
			}
			fmt.Fprintf(stdio.Stdout, "account %s created (two-factor: %v)\n", email, twoFactor)
			return nil
		},
	}
	return &ffcli.Command{
		Name:        "account",
		ShortUsage:  "shoplogin account <subcommand>",
		ShortHelp:   "manage accounts (add)",
		Subcommands: []*ffcli.Command{add},
		UsageFunc:   usage,
		Exec: func(context.Context, []string) error {
			return usagef("account needs a subcommand: add")
		},
	}
}

func readPassword(r io.Reader) (string, error) {
	br := bufio.NewReaderSize(io.LimitReader(r, password.MaxBytes+2), password.MaxBytes+2)
	line, err := br.ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password from stdin: %w", err)
	}
	line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	if line == "" {
		return "", usagef("no password on stdin: pipe it in, e.g. printf '%%s\\n' \"$PASSWORD\" | shoplogin account add ...")
	}
	return line, nil
}
