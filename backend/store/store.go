// Package store opens the server's SQLite database with the settings an auth server needs
// and brings its schema up to date.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"modernc.org/sqlite"
)

// DB is the database: one writer connection and a small pool of readers. WAL lets readers
// run beside the writer; a single writer makes write transactions queue in Go instead of
// failing with SQLITE_BUSY.
type DB struct {
	// Write takes every transaction that writes. Its transactions begin IMMEDIATE.
	Write *sql.DB
	// Read serves queries only.
	Read *sql.DB
	path string

	requests   chan *txRequest // to the writer goroutine, see Tx
	waiting    atomic.Int32    // callers of Tx not yet taken by the writer
	closing    chan struct{}
	writerDone chan struct{}
	closeOnce  sync.Once
	closeErr   error
}

//go:embed migrations/*.sql
var accountMigrations embed.FS

// AccountMigrations is the account server's schema.
func AccountMigrations() fs.FS {
	sub, _ := fs.Sub(accountMigrations, "migrations")
	return sub
}

// Open opens (creating if needed) the SQLite file at path and applies the migrations: the
// *.sql files of migrations in name order, PRAGMA user_version recording how many ran.
func Open(ctx context.Context, path string, migrations fs.FS) (*DB, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	w, err := openPool(abs, false)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxIdleTime(0)
	db := &DB{Write: w, path: abs}
	if err := checkPragmas(ctx, w); err != nil {
		w.Close()
		return nil, fmt.Errorf("open database %s: %w", abs, err)
	}
	if err := migrate(ctx, w, migrations); err != nil {
		w.Close()
		return nil, fmt.Errorf("migrate database %s: %w", abs, err)
	}
	r, err := openPool(abs, true)
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open database: %w", err)
	}
	r.SetMaxOpenConns(4)
	r.SetMaxIdleConns(4)
	db.Read = r
	db.requests = make(chan *txRequest)
	db.closing = make(chan struct{})
	db.writerDone = make(chan struct{})
	go db.writer()
	return db, nil
}

// openPool opens a pool of connections that keep their prepared statements (stmtcache.go).
func openPool(path string, readOnly bool) (*sql.DB, error) {
	c, err := sqlite.NewConnector(dsn(path, readOnly))
	if err != nil {
		return nil, err
	}
	return sql.OpenDB(cachingConnector{c}), nil
}

// Path is the database file's absolute path.
func (db *DB) Path() string { return db.path }

// Close stops taking transactions, checkpoints the WAL into the main file and closes both
// pools. Transactions already running finish first.
func (db *DB) Close() error {
	db.closeOnce.Do(func() {
		close(db.closing)
		<-db.writerDone
		var errs []error
		if db.Read != nil {
			errs = append(errs, db.Read.Close())
		}
		// A clean shutdown leaves one self-contained file behind.
		_, err := db.Write.Exec("PRAGMA wal_checkpoint(TRUNCATE)")
		errs = append(errs, err, db.Write.Close())
		db.closeErr = errors.Join(errs...)
	})
	return db.closeErr
}

// dsn builds the connection string. busy_timeout is applied by the driver before the
// other pragmas; synchronous=FULL because every write here (a code consumed, a counter
// raised, a token revoked) must survive a power cut, not only a crash.
func dsn(path string, readOnly bool) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(5000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(FULL)")
	// Temporary data (the sub-journals of savepoints, see Tx, and of statements; sorts)
	// stays in memory instead of going through temporary files.
	q.Add("_pragma", "temp_store(MEMORY)")
	if readOnly {
		q.Add("_pragma", "query_only(1)")
	} else {
		q.Set("_txlock", "immediate")
	}
	u := url.URL{Scheme: "file", Path: path, RawQuery: q.Encode()}
	return u.String()
}

// checkPragmas reads the settings back: a DSN key the driver ignored would otherwise go
// unnoticed until the first "database is locked".
func checkPragmas(ctx context.Context, db *sql.DB) error {
	want := map[string]string{
		"journal_mode": "wal",
		"foreign_keys": "1",
		"synchronous":  "2",
		"busy_timeout": "5000",
		"temp_store":   "2",
	}
	for name, value := range want {
		var got string
		if err := db.QueryRowContext(ctx, "PRAGMA "+name).Scan(&got); err != nil {
			return fmt.Errorf("read pragma %s: %w", name, err)
		}
		if !strings.EqualFold(got, value) {
			return fmt.Errorf("pragma %s is %q, want %q", name, got, value)
		}
	}
	return nil
}

func migrate(ctx context.Context, db *sql.DB, migrations fs.FS) error {
	names, err := fs.Glob(migrations, "*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var version int
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return err
	}
	if version > len(names) {
		return fmt.Errorf("schema version %d is newer than this program (%d): use a newer shoplogin", version, len(names))
	}
	for i := version; i < len(names); i++ {
		body, err := fs.ReadFile(migrations, names[i])
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, string(body)); err != nil {
			return fmt.Errorf("%s: %w", names[i], err)
		}
	}
	// PRAGMA does not take parameters; the value is an integer we computed.
	if _, err := tx.ExecContext(ctx, "PRAGMA user_version = "+strconv.Itoa(len(names))); err != nil {
		return err
	}
	return tx.Commit()
}
