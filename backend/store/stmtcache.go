package store

import (
	"context"
	"database/sql/driver"
	"errors"
	"sync"
)

// The driver parses every query it is given, and database/sql keeps no statements between
// calls: on a session check, parsing the SQL cost more than running it. cachingConnector
// keeps each connection's prepared statements, by query text, for the connection's life.
// SQLite re-prepares a cached statement by itself when the schema changes.

// Bounds on the cache: the server's queries are constant strings, a few dozen in all; a
// long text is a migration script, run once.
const (
	maxCachedStmts    = 200
	maxCachedQueryLen = 4096
)

type cachingConnector struct {
	driver.Connector
}

func (c cachingConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	for _, iface := range []bool{
		isA[driver.ConnPrepareContext](conn), isA[driver.ConnBeginTx](conn),
		isA[driver.SessionResetter](conn), isA[driver.Validator](conn),
	} {
		if !iface {
			conn.Close()
			return nil, errors.New("store: the sqlite driver lacks an interface the statement cache needs")
		}
	}
	return &cachingConn{Conn: conn, stmts: map[string]*cachedStmt{}}, nil
}

func isA[T any](v any) bool { _, ok := v.(T); return ok }

// cachingConn is a driver connection with a statement cache. It deliberately does not
// implement ExecerContext or QueryerContext: database/sql then prepares every query
// through PrepareContext, which answers from the cache.
type cachingConn struct {
	driver.Conn
	mu    sync.Mutex // database/sql uses a connection from one goroutine at a time; this is cheap insurance
	stmts map[string]*cachedStmt
}

// cachedStmt is a statement kept open for reuse. inUse is set while a caller holds it (a
// Rows still open, say): a second use of the same query meanwhile gets a statement of its own.
type cachedStmt struct {
	driver.Stmt
	conn  *cachingConn
	inUse bool
}

func (c *cachingConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	c.mu.Lock()
	if s, ok := c.stmts[query]; ok && !s.inUse {
		s.inUse = true
		c.mu.Unlock()
		return s, nil
	}
	c.mu.Unlock()
	st, err := c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if len(query) > maxCachedQueryLen {
		return st, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.stmts[query]; ok || len(c.stmts) >= maxCachedStmts {
		return st, nil // closed by its caller as usual
	}
	s := &cachedStmt{Stmt: st, conn: c, inUse: true}
	c.stmts[query] = s
	return s, nil
}

func (c *cachingConn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

func (c *cachingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.Conn.(driver.ConnBeginTx).BeginTx(ctx, opts)
}

func (c *cachingConn) ResetSession(ctx context.Context) error {
	return c.Conn.(driver.SessionResetter).ResetSession(ctx)
}

func (c *cachingConn) IsValid() bool { return c.Conn.(driver.Validator).IsValid() }

// Close finalizes the cached statements: SQLite cannot close a connection that has some.
func (c *cachingConn) Close() error {
	c.mu.Lock()
	var errs []error
	for q, s := range c.stmts {
		errs = append(errs, s.Stmt.Close())
		delete(c.stmts, q)
	}
	c.mu.Unlock()
	return errors.Join(append(errs, c.Conn.Close())...)
}

// Close gives the statement back to the cache. The driver has already reset it: after an
// Exec, and when its Rows closed.
func (s *cachedStmt) Close() error {
	s.conn.mu.Lock()
	s.inUse = false
	s.conn.mu.Unlock()
	return nil
}

func (s *cachedStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	return s.Stmt.(driver.StmtExecContext).ExecContext(ctx, args)
}

func (s *cachedStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	return s.Stmt.(driver.StmtQueryContext).QueryContext(ctx, args)
}
