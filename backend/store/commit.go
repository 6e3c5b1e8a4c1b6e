package store

import (
	"context"
	"database/sql"
	"fmt"
)

// Group commit. With synchronous=FULL every commit waits for the disk to flush the WAL, and
// with one writer the flushes happen one after another: the disk's flush latency would cap
// write transactions at a few thousand a second whatever the CPU. So the writer takes every
// transaction that queued up while the previous commit was flushing and commits them
// together, with one flush. Each runs inside a SAVEPOINT of the shared transaction: one
// that fails rolls back its own work only, as if it had run alone. None is answered before
// the commit that holds its work is on disk, so durability is the same as one commit each.
// At low load a transaction finds nothing queued beside it and runs exactly as before.

// maxBatch bounds the transactions that share one commit, and so the wait of the first.
const maxBatch = 128

// txRequest is one caller's transaction, waiting for the writer.
type txRequest struct {
	ctx  context.Context
	fn   func(*sql.Tx) error
	done chan txResult
}

type txResult struct {
	err      error
	panicked bool
	panicVal any
}

// Tx runs fn in a write transaction and commits if fn returns nil. fn's error is returned
// as is, so callers can commit work and still report a failure by returning nil from fn
// and the failure beside it. fn may share its commit with transactions of other callers
// (see above); it must not start another transaction itself. A panic in fn is raised
// again in the caller, with fn's work rolled back.
func (db *DB) Tx(ctx context.Context, fn func(*sql.Tx) error) error {
	req := &txRequest{ctx: ctx, fn: fn, done: make(chan txResult, 1)}
	db.waiting.Add(1)
	select {
	case db.requests <- req:
		db.waiting.Add(-1)
	case <-db.closing:
		db.waiting.Add(-1)
		return fmt.Errorf("begin: %w", sql.ErrConnDone)
	case <-ctx.Done():
		db.waiting.Add(-1)
		return fmt.Errorf("begin: %w", ctx.Err())
	}
	// Once the writer has the request, its answer must be awaited: the work may commit.
	res := <-req.done
	if res.panicked {
		panic(res.panicVal)
	}
	return res.err
}

// writer runs the write transactions until Close.
func (db *DB) writer() {
	defer close(db.writerDone)
	batch := make([]*txRequest, 0, maxBatch)
	for {
		select {
		case <-db.closing:
			return
		case req := <-db.requests:
			batch = append(batch[:0], req)
		}
	gather:
		for len(batch) < maxBatch {
			select {
			case req := <-db.requests:
				batch = append(batch, req)
			default:
				break gather
			}
		}
		if len(batch) == 1 {
			db.runOne(batch[0])
		} else {
			db.runBatch(batch)
		}
		clear(batch)
	}
}

// runOne runs a transaction on its own, as a plain BEGIN ... COMMIT.
func (db *DB) runOne(req *txRequest) {
	tx, err := db.Write.BeginTx(req.ctx, nil)
	if err != nil {
		req.done <- txResult{err: fmt.Errorf("begin: %w", err)}
		return
	}
	res := call(req.fn, tx)
	if res.err != nil || res.panicked {
		tx.Rollback()
		req.done <- res
		return
	}
	if err := tx.Commit(); err != nil {
		res.err = fmt.Errorf("commit: %w", err)
	}
	req.done <- res
}

// runBatch runs several transactions in one, each in a savepoint, and commits once.
func (db *DB) runBatch(batch []*txRequest) {
	results := make([]txResult, len(batch))
	answer := func() {
		for i, req := range batch {
			req.done <- results[i]
		}
	}
	// The shared transaction must not end with one caller's context. Each caller's own
	// statements still run under its context; if one is cancelled mid-write, SQLite ends
	// the whole transaction, and the others are run again below.
	ctx := context.Background()
	tx, err := db.Write.BeginTx(ctx, nil)
	if err != nil {
		for i := range results {
			results[i].err = fmt.Errorf("begin: %w", err)
		}
		answer()
		return
	}
	// brokeAt is the member during which the shared transaction ended under us: SQLite
	// rolls a whole transaction back when a write in it is interrupted (a caller's context
	// cancelled mid-statement). Nothing has been answered yet, so the other members are
	// run again, each on its own: one caller's cancellation must not fail the rest.
	brokeAt := -1
	for i, req := range batch {
		if err := req.ctx.Err(); err != nil {
			results[i].err = fmt.Errorf("begin: %w", err)
			continue
		}
		if _, err := tx.ExecContext(ctx, "SAVEPOINT tx"); err != nil {
			brokeAt = i
			break
		}
		results[i] = call(req.fn, tx)
		if results[i].err != nil || results[i].panicked {
			if _, err := tx.ExecContext(ctx, "ROLLBACK TO tx"); err != nil {
				brokeAt = i
				break
			}
		}
		if _, err := tx.ExecContext(ctx, "RELEASE tx"); err != nil {
			brokeAt = i
			break
		}
	}
	if brokeAt >= 0 {
		tx.Rollback()
		for i, req := range batch {
			failed := results[i].err != nil || results[i].panicked
			switch {
			case i == brokeAt && failed:
				// The member that broke the transaction keeps its own failure.
				req.done <- results[i]
			case i < brokeAt && failed:
				req.done <- results[i]
			default:
				db.runOne(req)
			}
		}
		return
	}
	if err := tx.Commit(); err != nil {
		// Every transaction that would have committed fails instead.
		for i := range results {
			if results[i].err == nil && !results[i].panicked {
				results[i].err = fmt.Errorf("commit: %w", err)
			}
		}
	}
	answer()
}

// call runs fn, turning a panic into a result the caller re-raises.
func call(fn func(*sql.Tx) error, tx *sql.Tx) (res txResult) {
	defer func() {
		if p := recover(); p != nil {
			res = txResult{panicked: true, panicVal: p}
		}
	}()
	return txResult{err: fn(tx)}
}
