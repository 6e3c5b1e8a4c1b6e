package store

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"testing/fstest"
	"time"
)

func openScratch(tb testing.TB) *DB {
	tb.Helper()
	db, err := Open(context.Background(), filepath.Join(tb.TempDir(), "x.db"), fstest.MapFS{
		"0001.sql": {Data: []byte("CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER NOT NULL);")},
	})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

func insert(tx *sql.Tx, v int) error {
	_, err := tx.Exec(`INSERT INTO t (v) VALUES (?)`, v)
	return err
}

// queueBehind holds the writer in a transaction until release is called, so that the
// transactions started meanwhile are committed together.
func queueBehind(t *testing.T, db *DB) (release func()) {
	t.Helper()
	started, hold := make(chan struct{}), make(chan struct{})
	done := make(chan error)
	go func() {
		done <- db.Tx(context.Background(), func(tx *sql.Tx) error {
			close(started)
			<-hold
			return insert(tx, -1)
		})
	}()
	<-started
	return func() {
		close(hold)
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}

func values(t *testing.T, db *DB) map[int]bool {
	t.Helper()
	rows, err := db.Read.Query(`SELECT v FROM t`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := map[int]bool{}
	for rows.Next() {
		var v int
		rows.Scan(&v)
		got[v] = true
	}
	return got
}

func TestTransactionsCommittedTogetherKeepTheirOwnOutcome(t *testing.T) {
	db := openScratch(t)
	release := queueBehind(t, db)
	refused := errors.New("refused")
	var wg sync.WaitGroup
	errs := make([]error, 40)
	for i := range errs {
		wg.Go(func() {
			errs[i] = db.Tx(context.Background(), func(tx *sql.Tx) error {
				if err := insert(tx, i); err != nil {
					return err
				}
				if i%2 == 1 {
					return refused // its insert must not survive
				}
				return nil
			})
		})
	}
	// Wait until every goroutine is queued behind the held transaction.
	waitQueued(db, len(errs))
	release()
	wg.Wait()
	got := values(t, db)
	for i, err := range errs {
		if i%2 == 1 {
			if !errors.Is(err, refused) || got[i] {
				t.Errorf("transaction %d: err %v, row kept %v; want its own error and no row", i, err, got[i])
			}
		} else if err != nil || !got[i] {
			t.Errorf("transaction %d: err %v, row kept %v; want it committed", i, err, got[i])
		}
	}
}

func TestAPanicInASharedCommitReachesItsCallerOnly(t *testing.T) {
	db := openScratch(t)
	release := queueBehind(t, db)
	var wg sync.WaitGroup
	var recovered any
	var otherErr error
	wg.Go(func() {
		defer func() { recovered = recover() }()
		db.Tx(context.Background(), func(tx *sql.Tx) error {
			insert(tx, 1)
			panic("boom")
		})
	})
	wg.Go(func() {
		otherErr = db.Tx(context.Background(), func(tx *sql.Tx) error { return insert(tx, 2) })
	})
	waitQueued(db, 2)
	release()
	wg.Wait()
	got := values(t, db)
	if recovered != "boom" || got[1] {
		t.Errorf("panicking transaction: recovered %v, row kept %v; want the panic and no row", recovered, got[1])
	}
	if otherErr != nil || !got[2] {
		t.Errorf("other transaction: err %v, row kept %v; want it committed", otherErr, got[2])
	}
}

func TestACancelledCallerIsLeftOutOfASharedCommit(t *testing.T) {
	db := openScratch(t)
	release := queueBehind(t, db)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var cancelledErr, otherErr error
	wg.Go(func() {
		cancelledErr = db.Tx(ctx, func(tx *sql.Tx) error { return insert(tx, 1) })
	})
	wg.Go(func() {
		otherErr = db.Tx(context.Background(), func(tx *sql.Tx) error { return insert(tx, 2) })
	})
	waitQueued(db, 2)
	cancel()
	release()
	wg.Wait()
	got := values(t, db)
	if !errors.Is(cancelledErr, context.Canceled) || got[1] {
		t.Errorf("cancelled transaction: err %v, row kept %v; want context.Canceled and no row", cancelledErr, got[1])
	}
	if otherErr != nil || !got[2] {
		t.Errorf("other transaction: err %v, row kept %v; want it committed", otherErr, got[2])
	}
}

// SQLite rolls a whole transaction back by itself on some errors (an interrupted write).
// Then the work of the transactions before it in the batch is gone too: they must fail,
// not report a commit that did not happen.
func TestATransactionRolledBackWholeDoesNotFailTheRestOfItsBatch(t *testing.T) {
	db := openScratch(t)
	release := queueBehind(t, db)
	var wg sync.WaitGroup
	errs := make([]error, 3)
	wg.Go(func() {
		errs[0] = db.Tx(context.Background(), func(tx *sql.Tx) error { return insert(tx, 1) })
	})
	waitQueued(db, 1) // queued first, so it runs first
	wg.Go(func() {
		errs[1] = db.Tx(context.Background(), func(tx *sql.Tx) error {
			tx.Exec(`ROLLBACK`) // as SQLite does on its own when a write is interrupted
			return errors.New("interrupted")
		})
	})
	waitQueued(db, 2)
	wg.Go(func() {
		errs[2] = db.Tx(context.Background(), func(tx *sql.Tx) error { return insert(tx, 2) })
	})
	waitQueued(db, 3)
	release()
	wg.Wait()
	got := values(t, db)
	if errs[0] != nil || !got[1] || errs[2] != nil || !got[2] {
		t.Errorf("the others in the batch: errs %v, %v; rows %v; want both committed", errs[0], errs[2], got)
	}
	if errs[1] == nil {
		t.Error("the rolled-back transaction reported success")
	}
	// The writer goes on with the next transactions.
	if err := db.Tx(context.Background(), func(tx *sql.Tx) error { return insert(tx, 3) }); err != nil || !values(t, db)[3] {
		t.Errorf("after a broken batch: %v", err)
	}
}

// A caller whose context ends in the middle of its write (SQLite interrupts the
// statement and rolls the whole shared transaction back) fails alone.
func TestACallerInterruptedMidWriteFailsAlone(t *testing.T) {
	db := openScratch(t)
	release := queueBehind(t, db)
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i := range 2 {
		wg.Go(func() {
			errs[i] = db.Tx(context.Background(), func(tx *sql.Tx) error { return insert(tx, 10+i) })
		})
		waitQueued(db, i+1)
	}
	ctx, cancel := context.WithCancel(context.Background())
	wg.Go(func() {
		errs[2] = db.Tx(ctx, func(tx *sql.Tx) error {
			time.AfterFunc(20*time.Millisecond, cancel)
			// A long write, cancelled while it runs.
			_, err := tx.ExecContext(ctx, `INSERT INTO t (v) WITH RECURSIVE c(x) AS (SELECT 100 UNION ALL SELECT x + 1 FROM c LIMIT 50000000) SELECT x FROM c`)
			return err
		})
	})
	waitQueued(db, 3)
	release()
	wg.Wait()
	got := values(t, db)
	if errs[0] != nil || errs[1] != nil || !got[10] || !got[11] {
		t.Fatalf("innocent members: errs %v %v, rows %v; want both committed", errs[0], errs[1], got)
	}
	if errs[2] == nil || got[100] {
		t.Fatalf("the interrupted member: err %v, its rows kept %v", errs[2], got[100])
	}
}

func TestTxAfterCloseFails(t *testing.T) {
	db := openScratch(t)
	db.Close()
	if err := db.Tx(context.Background(), func(tx *sql.Tx) error { return insert(tx, 1) }); err == nil {
		t.Error("Tx after Close succeeded")
	}
}

func TestAQueryReusedWhileItsRowsAreOpenGetsItsOwnStatement(t *testing.T) {
	db := openScratch(t)
	const q = `SELECT v FROM t WHERE v >= ? ORDER BY v`
	var pairs int
	err := db.Tx(context.Background(), func(tx *sql.Tx) error {
		for i := range 3 {
			if err := insert(tx, i); err != nil {
				return err
			}
		}
		rows, err := tx.Query(q, 0)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var v int
			if err := rows.Scan(&v); err != nil {
				return err
			}
			// The same text again, while the outer rows are still being read.
			inner, err := tx.Query(q, v)
			if err != nil {
				return err
			}
			for inner.Next() {
				pairs++
			}
			inner.Close()
		}
		return rows.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	if pairs != 3+2+1 {
		t.Errorf("nested queries saw %d pairs, want 6", pairs)
	}
}

func TestACachedStatementSeesASchemaChange(t *testing.T) {
	db := openScratch(t)
	ctx := context.Background()
	count := func() int {
		rows, err := db.Write.QueryContext(ctx, `SELECT * FROM t`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		cols, _ := rows.Columns()
		return len(cols)
	}
	before := count()
	if _, err := db.Write.ExecContext(ctx, `ALTER TABLE t ADD COLUMN w INTEGER`); err != nil {
		t.Fatal(err)
	}
	if after := count(); after != before+1 {
		t.Errorf("columns after ALTER TABLE: %d, want %d", after, before+1)
	}
}

// waitQueued waits until n transactions wait for the writer (which is busy, so it takes
// none meanwhile).
func waitQueued(db *DB, n int) {
	for db.waiting.Load() < int32(n) {
		runtime.Gosched()
	}
}

func BenchmarkTx(b *testing.B) {
	db := openScratch(b)
	ctx := context.Background()
	for b.Loop() {
		if err := db.Tx(ctx, func(tx *sql.Tx) error { return insert(tx, 1) }); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTxParallel is many callers at once: their commits are shared.
func BenchmarkTxParallel(b *testing.B) {
	db := openScratch(b)
	ctx := context.Background()
	b.SetParallelism(32)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := db.Tx(ctx, func(tx *sql.Tx) error { return insert(tx, 1) }); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
