package sqlitestore

import (
	"container/list"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
)

// openDataStmtsMax bounds the prepared open data statements. Clients send
// a few dozen request shapes (Grafana's window, QGIS's pages, the latest
// of every datastream); each reader connection keeps its own compiled copy
// of a statement, so the bound is also one on memory.
const openDataStmtsMax = 128

// stmtCache keeps the SensorThings statements prepared, by SQL text, least
// recently used out first. SQLite otherwise parses and plans the same
// ~1.5 KB statement again for every parent of an $expand: 1 ms each, where
// the prepared statement runs in 30 µs. The text holds no values (they are
// arguments, now included), so one request shape is one entry. A *sql.Stmt
// of the reader pool is safe for concurrent use and prepares itself on
// each connection that runs it.
type stmtCache struct {
	mu     sync.Mutex
	max    int
	order  *list.List // of *cachedStmt, most recently used first
	byText map[string]*list.Element
	closed bool
}

type cachedStmt struct {
	text    string
	st      *sql.Stmt
	users   int  // queries running on it
	evicted bool // out of the cache: closed when its last user is done
}

var errStmtCacheClosed = errors.New("sqlitestore: store closed")

// acquire returns the prepared statement of query, preparing it on db if
// needed; release it when its rows are closed.
func (c *stmtCache) acquire(ctx context.Context, db *sql.DB, query string) (*cachedStmt, error) {
	if cs := c.lookup(query); cs != nil {
		return cs, nil
	}
	// Prepared outside the lock: a slow prepare holds up no other query.
	st, err := db.PrepareContext(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("prepare: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		st.Close()
		return nil, errStmtCacheClosed
	}
	if e, ok := c.byText[query]; ok { // prepared meanwhile by another request
		st.Close()
		cs := e.Value.(*cachedStmt)
		c.order.MoveToFront(e)
		cs.users++
		return cs, nil
	}
	if c.order == nil {
		c.order, c.byText = list.New(), map[string]*list.Element{}
	}
	if c.max <= 0 {
		c.max = openDataStmtsMax
	}
	cs := &cachedStmt{text: query, st: st, users: 1}
	c.byText[query] = c.order.PushFront(cs)
	for c.order.Len() > c.max {
		c.evictLocked(c.order.Back())
	}
	return cs, nil
}

func (c *stmtCache) lookup(query string) *cachedStmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.byText[query]
	if !ok || c.closed {
		return nil
	}
	c.order.MoveToFront(e)
	cs := e.Value.(*cachedStmt)
	cs.users++
	return cs
}

func (c *stmtCache) evictLocked(e *list.Element) {
	cs := c.order.Remove(e).(*cachedStmt)
	delete(c.byText, cs.text)
	cs.evicted = true
	if cs.users == 0 {
		cs.st.Close()
	}
}

func (c *stmtCache) release(cs *cachedStmt) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cs.users--
	if cs.evicted && cs.users == 0 {
		cs.st.Close()
	}
}

// len is the number of statements kept (tests).
func (c *stmtCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.order == nil {
		return 0
	}
	return c.order.Len()
}

// close closes every statement not in use now, and the rest when their
// queries end; nothing is prepared afterwards. Called before the pool is
// closed, whose connections must have no statements left.
func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	for c.order != nil && c.order.Len() > 0 {
		c.evictLocked(c.order.Back())
	}
}
