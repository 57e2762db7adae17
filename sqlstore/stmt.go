package sqlstore

import (
	"context"
	"database/sql"
	"sync"
)

// statements prepares each statement once per Store, when first used.
// database/sql then prepares it once per connection and reuses it: SQLite
// otherwise compiles every statement on every call, which costs more than
// running it. Preparing lazily lets a Store be built before its schema
// exists (without WithAutoMigrate).
type statements struct {
	db   *sql.DB
	mu   sync.Mutex // serialises preparing, so a statement is prepared once
	byQ  sync.Map   // query text -> *sql.Stmt
	done bool       // closed: prepare no more
}

func (p *statements) get(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := p.byQ.Load(query); ok {
		return st.(*sql.Stmt), nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if st, ok := p.byQ.Load(query); ok {
		return st.(*sql.Stmt), nil
	}
	if p.done {
		return nil, sql.ErrConnDone
	}
	st, err := p.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	p.byQ.Store(query, st)
	return st, nil
}

func (p *statements) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done = true
	p.byQ.Range(func(q, st any) bool {
		_ = st.(*sql.Stmt).Close()
		p.byQ.Delete(q)
		return true
	})
}
