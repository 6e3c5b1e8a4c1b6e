// Package server assembles the account server from its parts (database, secret, mail
// outbox, QA inbox, HTTP API) and runs it; `shoplogin serve` and the desktop app both
// start it through here.
package server

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"shoplogin/backend/api"
	"shoplogin/backend/auth"
	"shoplogin/backend/clock"
	"shoplogin/backend/httpapi"
	"shoplogin/backend/inbox"
	"shoplogin/backend/message"
	"shoplogin/backend/network"
	"shoplogin/backend/outbox"
	"shoplogin/backend/password"
	"shoplogin/backend/secret"
	"shoplogin/backend/store"
)

// Config is everything the server can be told. The zero value of a field means its default.
type Config struct {
	Addr    string // HTTP listen address; default 127.0.0.1:8080
	DataDir string // folder for the database, the secret key and the inbox

	QA bool // serve the QA API and let QA move the clock
	// AllowRemoteQA lets --qa listen on a non-loopback address. The QA API reads every
	// email and moves time: on a network it would hand every account to anyone.
	AllowRemoteQA bool

	InboxAddr string // the embedded inbox's SMTP address; default 127.0.0.1:0 (any free port)

	SMTPRelay    string // host:port of a real mail server; empty = deliver to the embedded inbox
	SMTPUser     string
	SMTPPassword string
	SMTPCAFile   string // PEM file of CAs to trust for the relay instead of the system roots
	SMTPInsecure bool   // no STARTTLS with the relay (only for loopback test relays)

	TrustedProxies []string

	Brand message.Brand

	Auth     auth.Config
	Password password.Params
	// Outbox tunes mail delivery (retry backoff, polling). Its From is the brand's address.
	Outbox outbox.Options

	Log *slog.Logger
	// Web is the website (the built frontend) served at /; nil serves the API only.
	Web fs.FS

	// Clock is the base time the QA clock moves from; default the system clock. Tests
	// give a fixed clock so that "9 minutes 59 seconds later" is exact.
	Clock clock.Clock
}

// Server is a running account server.
type Server struct {
	cfg      Config
	db       *store.DB
	inbox    *inbox.Inbox
	outbox   *outbox.Outbox
	auth     *auth.Service
	http     *http.Server
	httpLn   net.Listener
	inboxLn  net.Listener
	clock    *clock.Adjustable
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	closeErr error
	once     sync.Once
}

// Start opens the data folder, starts listening and runs the server in the background.
// Errors name what to fix: a busy port, an unwritable folder, a bad relay setting.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:8080"
	}
	if cfg.InboxAddr == "" {
		cfg.InboxAddr = "127.0.0.1:0"
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.Brand == (message.Brand{}) {
		cfg.Brand = message.DefaultBrand()
	}
	if cfg.Auth == (auth.Config{}) {
		cfg.Auth = auth.DefaultConfig()
	}
	if cfg.Password == (password.Params{}) {
		cfg.Password = password.DefaultParams()
	}
	if cfg.QA && !cfg.AllowRemoteQA && !isLoopback(cfg.Addr) {
		return nil, fmt.Errorf("--qa exposes every email and the clock: listen on a loopback address (127.0.0.1:PORT), or add --allow-remote-qa if you really mean %s", cfg.Addr)
	}
	resolver, err := network.NewResolver(cfg.TrustedProxies)
	if err != nil {
		return nil, err
	}
	if err := prepareDataDir(cfg.DataDir); err != nil {
		return nil, err
	}
	keys, err := secret.LoadOrCreate(cfg.DataDir)
	if err != nil {
		return nil, err
	}

	if cfg.Clock == nil {
		cfg.Clock = clock.System{}
	}
	s := &Server{cfg: cfg, clock: clock.NewAdjustable(cfg.Clock)}
	clk := cfg.Clock
	if cfg.QA {
		clk = s.clock
	}
	ok := false
	defer func() {
		if !ok {
			s.Close()
		}
	}()

	if s.db, err = store.Open(ctx, filepath.Join(cfg.DataDir, "shoplogin.db"), store.AccountMigrations()); err != nil {
		return nil, err
	}
	if s.httpLn, err = listen(cfg.Addr, "HTTP API"); err != nil {
		return nil, err
	}

	var sender outbox.Sender
	if cfg.SMTPRelay == "" {
		if s.inbox, err = inbox.Open(ctx, filepath.Join(cfg.DataDir, "inbox.db"), clk, cfg.Log.With("component", "inbox"), inbox.Options{}); err != nil {
			return nil, err
		}
		if s.inboxLn, err = listen(cfg.InboxAddr, "QA inbox (SMTP)"); err != nil {
			return nil, err
		}
		// The embedded inbox is on loopback in this process: plain SMTP is fine there.
		sender = &outbox.SMTPSender{Addr: s.inboxLn.Addr().String(), Timeout: 10 * time.Second, LocalName: "localhost"}
	} else {
		if sender, err = relaySender(cfg); err != nil {
			return nil, err
		}
	}
	mailOpts := cfg.Outbox
	mailOpts.From = cfg.Brand.FromAddress
	s.outbox = outbox.New(s.db, clk, keys.Outbox, sender, cfg.Log.With("component", "outbox"), mailOpts)
	s.auth = auth.New(auth.Deps{
		DB: s.db, Clock: clk, Random: rand.Reader, Hasher: password.NewHasher(cfg.Password, nil),
		Keys: keys, Mail: s.outbox, Brand: cfg.Brand, Log: cfg.Log.With("component", "auth"),
	}, cfg.Auth)

	var qa *httpapi.QA
	if cfg.QA {
		if err := s.loadClock(ctx); err != nil {
			return nil, err
		}
		qa = &httpapi.QA{Clock: s.clock, SaveClock: s.saveClock}
		if s.inbox != nil {
			qa.Inbox = s.inbox
		}
	}
	handler := httpapi.New(httpapi.Options{Auth: s.auth, Resolver: resolver, QA: qa, Web: cfg.Web,
		LoopbackOnly: isLoopback(s.httpLn.Addr().String()), Log: cfg.Log.With("component", "http")})
	s.http = &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      90 * time.Second, // above the longest QA code wait
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          slog.NewLogLogger(cfg.Log.Handler(), slog.LevelWarn),
	}

	runCtx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.goRun(func() { s.outbox.Run(runCtx) })
	if s.inbox != nil {
		s.goRun(func() { s.inbox.Serve(s.inboxLn) })
	}
	s.goRun(func() { s.http.Serve(s.httpLn) })
	ok = true
	cfg.Log.Info("server started", slog.String("api", s.URL()), slog.String("inbox", s.InboxAddr()),
		slog.Bool("qa", cfg.QA), slog.String("data", cfg.DataDir))
	return s, nil
}

func (s *Server) goRun(f func()) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		f()
	}()
}

// URL is the HTTP API's base URL.
func (s *Server) URL() string {
	if s.httpLn == nil {
		return ""
	}
	return "http://" + s.httpLn.Addr().String()
}

// InboxAddr is the embedded inbox's SMTP address, empty with a relay.
func (s *Server) InboxAddr() string {
	if s.inboxLn == nil {
		return ""
	}
	return s.inboxLn.Addr().String()
}

// Auth is the account service, for in-process callers (the CLI, tests).
func (s *Server) Auth() *auth.Service { return s.auth }

// Clock is the QA clock (it moves only when the server runs with QA on).
func (s *Server) Clock() *clock.Adjustable { return s.clock }

// Inbox is the embedded inbox, nil with a relay.
func (s *Server) Inbox() *inbox.Inbox { return s.inbox }

// Close stops accepting work, lets requests in flight finish (up to ctx's deadline) and
// closes the databases.
func (s *Server) Shutdown(ctx context.Context) error {
	s.once.Do(func() {
		var errs []error
		if s.http != nil {
			errs = append(errs, s.http.Shutdown(ctx))
		}
		if s.inbox != nil {
			errs = append(errs, s.inbox.Close())
		}
		if s.cancel != nil {
			s.cancel()
		}
		if s.http == nil && s.httpLn != nil {
			s.httpLn.Close()
		}
		if s.inboxLn != nil && s.inbox == nil {
			s.inboxLn.Close()
		}
		s.wg.Wait()
		if s.db != nil {
			errs = append(errs, s.db.Close())
		}
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}

// Close shuts down with a short grace period.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return s.Shutdown(ctx)
}

// loadClock restores the QA clock's offset saved by an earlier run.
func (s *Server) loadClock(ctx context.Context) error {
	var offset int64
	err := s.db.Read.QueryRowContext(ctx, `SELECT offset_seconds FROM qa_clock WHERE id = 1`).Scan(&offset)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read the QA clock: %w", err)
	}
	s.clock.Advance(time.Duration(offset) * time.Second)
	return nil
}

func (s *Server) saveClock(ctx context.Context, offset time.Duration) error {
	_, err := s.db.Write.ExecContext(ctx, `INSERT INTO qa_clock (id, offset_seconds) VALUES (1, ?)
		ON CONFLICT (id) DO UPDATE SET offset_seconds = excluded.offset_seconds`, int64(offset/time.Second))
	if err != nil {
		return fmt.Errorf("save the QA clock: %w", err)
	}
	return nil
}

func prepareDataDir(dir string) error {
	if dir == "" {
		return errors.New("no data folder given: use --data DIR")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("data folder %s cannot be created: %w", dir, err)
	}
	probe, err := os.CreateTemp(dir, ".write-test-*")
	if err != nil {
		return fmt.Errorf("data folder %s is not writable: %w", dir, err)
	}
	probe.Close()
	os.Remove(probe.Name())
	return nil
}

func listen(addr, what string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return nil, fmt.Errorf("%s: %s is already in use by another program; pick another with its flag", what, addr)
		}
		return nil, fmt.Errorf("%s: cannot listen on %s: %w", what, addr, err)
	}
	return ln, nil
}

func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func relaySender(cfg Config) (outbox.Sender, error) {
	host, _, err := net.SplitHostPort(cfg.SMTPRelay)
	if err != nil {
		return nil, fmt.Errorf("--smtp-relay %q: want host:port", cfg.SMTPRelay)
	}
	sender := &outbox.SMTPSender{Addr: cfg.SMTPRelay, Username: cfg.SMTPUser, Password: cfg.SMTPPassword,
		Timeout: 30 * time.Second, LocalName: "localhost"}
	if cfg.SMTPInsecure {
		if !isLoopback(cfg.SMTPRelay) {
			return nil, errors.New("--smtp-insecure is only allowed for a relay on loopback")
		}
		return sender, nil
	}
	tlsCfg := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	if cfg.SMTPCAFile != "" {
		pem, err := os.ReadFile(cfg.SMTPCAFile)
		if err != nil {
			return nil, fmt.Errorf("--smtp-ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--smtp-ca %s: no PEM certificates in it", cfg.SMTPCAFile)
		}
		tlsCfg.RootCAs = pool
	}
	sender.TLS = tlsCfg
	return sender, nil
}

// AddAccount creates an account in the data folder's database, for `shoplogin account
// add`. It works beside a running server: SQLite serialises the two writers.
func AddAccount(ctx context.Context, dataDir, email, pw string, twoFactor bool) error {
	if err := prepareDataDir(dataDir); err != nil {
		return err
	}
	keys, err := secret.LoadOrCreate(dataDir)
	if err != nil {
		return err
	}
	db, err := store.Open(ctx, filepath.Join(dataDir, "shoplogin.db"), store.AccountMigrations())
	if err != nil {
		return err
	}
	defer db.Close()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc := auth.New(auth.Deps{
		DB: db, Clock: clock.System{}, Random: rand.Reader, Hasher: password.NewHasher(password.DefaultParams(), nil),
		Keys: keys, Log: log, Brand: message.DefaultBrand(),
		// Creating an account sends no mail; nothing here runs the outbox.
		Mail: outbox.New(db, clock.System{}, keys.Outbox, nil, log, outbox.Options{}),
	}, auth.DefaultConfig())
	err = svc.CreateAccount(ctx, email, pw, twoFactor)
	var apiErr *api.Error
	if errors.As(err, &apiErr) {
		return errors.New(apiErr.Message)
	}
	return err
}
