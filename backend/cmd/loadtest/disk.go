package main

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing/fstest"
	"time"

	"shoplogin/backend/store"
)

// The physical limit of a durable write is the disk's flush: with synchronous=FULL every
// SQLite commit waits for one. These measure it in the data folder, on the same disk.

// syncFigures are flush latencies of the data folder's disk, with the call SQLite makes.
type syncFigures struct {
	append    stats // write 4 KiB at the end of a file, fsync: a growing WAL
	overwrite stats // overwrite 4 KiB, fsync: a WAL being reused after a checkpoint
}

func measureSync(dir string, d time.Duration) (syncFigures, error) {
	f, err := os.CreateTemp(dir, "fsync-*")
	if err != nil {
		return syncFigures{}, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	buf := make([]byte, 4096)
	var out syncFigures
	run := func(write func() error, sync func(int) error) (stats, error) {
		var lat []time.Duration
		start := time.Now()
		for time.Since(start) < d/2 {
			if err := write(); err != nil {
				return stats{}, err
			}
			t := time.Now()
			if err := sync(int(f.Fd())); err != nil {
				return stats{}, err
			}
			lat = append(lat, time.Since(t))
		}
		return summarize(lat, time.Since(start), 0), nil
	}
	if out.append, err = run(func() error { _, err := f.Write(buf); return err }, syscall.Fsync); err != nil {
		return out, err
	}
	if out.overwrite, err = run(func() error { _, err := f.WriteAt(buf, 0); return err }, syscall.Fsync); err != nil {
		return out, err
	}
	return out, nil
}

// measureCommits runs one-row write transactions back to back on a scratch database
// opened exactly as the server opens its own (WAL, synchronous=FULL, one writer): the
// serial commit ceiling of the disk, with no work in the transactions.
func measureCommits(dir string, d time.Duration) (stats, error) {
	ctx := context.Background()
	sub, err := os.MkdirTemp(dir, "commit-*")
	if err != nil {
		return stats{}, err
	}
	defer os.RemoveAll(sub)
	db, err := store.Open(ctx, filepath.Join(sub, "commits.db"), fstest.MapFS{
		"0001.sql": {Data: []byte("CREATE TABLE t (id INTEGER PRIMARY KEY, at INTEGER NOT NULL);")},
	})
	if err != nil {
		return stats{}, err
	}
	defer db.Close()
	var lat []time.Duration
	start := time.Now()
	for time.Since(start) < d {
		t := time.Now()
		if _, err := db.Write.ExecContext(ctx, `INSERT INTO t (at) VALUES (?)`, t.UnixNano()); err != nil {
			return stats{}, err
		}
		lat = append(lat, time.Since(t))
	}
	return summarize(lat, time.Since(start), 0), nil
}
