package bench

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/internal/executor"
	"github.com/mcpsession/mcpsession/sqlstore"
)

// sessions is what every benchmarked implementation offers: the store, the
// raw driver baselines and the peers.
type sessions interface {
	Create(ctx context.Context, id string, metadata map[string]any) error
	Get(ctx context.Context, id string) (map[string]any, error)
	Update(ctx context.Context, id string, patch map[string]any) error
	Touch(ctx context.Context, id string) error
	Delete(ctx context.Context, id string) error
}

var _ sessions = (*sqlstore.Store)(nil)

// statements is the SQL the store runs, copied from the dialect, so that a
// baseline issues the very same text.
type statements struct {
	create, get, update, touch, delete string
}

func statementsOf(s *sqlstore.Store) statements {
	q := executor.Of(s).Statements()
	return statements{create: q.Create, get: q.Get, update: q.Update, touch: q.Touch, delete: q.Delete}
}

// limits are the expiry limits as the statements take them: whole
// milliseconds, 0 for none.
type limits struct{ idle, lifetime int64 }

// pgRaw is the Postgres baseline: the store's statements, with the store's
// parameters, straight on a pgx pool. Documents are encoded with
// json.Marshal and decoded with json.Unmarshal from the driver's buffer, as
// the store does, so that the ratio shows what the store adds: id and
// metadata validation, and database/sql with pgx's stdlib adapter between
// it and pgx.
type pgRaw struct {
	pool *pgxpool.Pool
	q    statements
	lim  limits
	// textDocs sends documents as text, as the store does: pgx sends a
	// []byte as bytea in the query exec modes that do not ask the server
	// for the parameters' types (exec, simple_protocol).
	textDocs bool
}

// docArg is doc as the statement's argument.
func (r *pgRaw) docArg(doc []byte) any {
	if r.textDocs {
		return string(doc)
	}
	return doc
}

func newPGRaw(pool *pgxpool.Pool, s *sqlstore.Store) *pgRaw {
	return &pgRaw{pool: pool, q: statementsOf(s), lim: storeLimits()}
}

// storeLimits are the store's expiry limits as statement parameters.
func storeLimits() limits {
	return limits{idle: idleTimeout.Milliseconds(), lifetime: maxLifetime.Milliseconds()}
}

func (r *pgRaw) Create(ctx context.Context, id string, metadata map[string]any) error {
	doc, err := json.Marshal(metadata)
	if err != nil {
		return err
	}
	tag, err := r.pool.Exec(ctx, r.q.create, id, r.docArg(doc), r.lim.idle, r.lim.lifetime)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return mcpsession.ErrExists
	}
	return nil
}

func (r *pgRaw) Get(ctx context.Context, id string) (map[string]any, error) {
	rows, err := r.pool.Query(ctx, r.q.get, id, r.lim.idle, r.lim.lifetime)
	return pgDocument(rows, err, mcpsession.ErrNotFound)
}

// pgDocument decodes the document the first row of rows holds, or returns
// notFound when there is none.
func pgDocument(rows pgx.Rows, err, notFound error) (map[string]any, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, err
		}
		return nil, notFound
	}
	// jsonb comes back as text (pgx's preferred format for it): decode
	// it where it lies, as the store decodes its sql.RawBytes.
	var m map[string]any
	if err := json.Unmarshal(rows.RawValues()[0], &m); err != nil {
		return nil, err
	}
	return m, nil
}

func (r *pgRaw) Update(ctx context.Context, id string, patch map[string]any) error {
	doc, err := json.Marshal(patch)
	if err != nil {
		return err
	}
	return affectedPG(r.pool.Exec(ctx, r.q.update, id, r.docArg(doc), r.lim.idle, r.lim.lifetime))
}

func (r *pgRaw) Touch(ctx context.Context, id string) error {
	return affectedPG(r.pool.Exec(ctx, r.q.touch, id, r.lim.idle, r.lim.lifetime))
}

func (r *pgRaw) Delete(ctx context.Context, id string) error {
	_, err := r.pool.Exec(ctx, r.q.delete, id)
	return err
}

// affectedPG turns "no row" into ErrNotFound, for Update and Touch.
func affectedPG(tag pgconn.CommandTag, err error) error {
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return mcpsession.ErrNotFound
	}
	return nil
}

// sqliteRaw is the SQLite baseline: the store's statements, with the
// store's parameters, through database/sql on modernc.org/sqlite, each
// prepared once (modernc.org/sqlite caches nothing: a statement run by
// text is compiled again on every call; pgx's statement cache does that
// for the Postgres baseline), without the store's validation and without
// its in-process write serialisation.
type sqliteRaw struct {
	create, get, update, touch, delete *sql.Stmt
	lim                                limits
}

func newSQLiteRaw(db *sql.DB, s *sqlstore.Store) (*sqliteRaw, error) {
	q := statementsOf(s)
	r := &sqliteRaw{lim: storeLimits()}
	for _, p := range []struct {
		stmt **sql.Stmt
		sql  string
	}{{&r.create, q.create}, {&r.get, q.get}, {&r.update, q.update}, {&r.touch, q.touch}, {&r.delete, q.delete}} {
		stmt, err := db.Prepare(p.sql)
		if err != nil {
			return nil, err
		}
		*p.stmt = stmt
	}
	return r, nil
}

func (r *sqliteRaw) Create(ctx context.Context, id string, metadata map[string]any) error {
	doc, err := json.Marshal(metadata)
	if err != nil {
		return err
	}
	// A string: the column is TEXT in a STRICT table, and a []byte
	// would be bound as a BLOB.
	res, err := r.create.ExecContext(ctx, id, string(doc), r.lim.idle, r.lim.lifetime)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return errors.Join(err, mcpsession.ErrExists)
	}
	return nil
}

func (r *sqliteRaw) Get(ctx context.Context, id string) (map[string]any, error) {
	rows, err := r.get.QueryContext(ctx, id, r.lim.idle, r.lim.lifetime)
	return sqlDocument(rows, err, mcpsession.ErrNotFound)
}

// sqlDocument decodes the document the first row of rows holds, straight
// from the driver's buffer, or returns notFound when there is none.
func sqlDocument(rows *sql.Rows, err, notFound error) (map[string]any, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, err
		}
		return nil, notFound
	}
	var doc sql.RawBytes
	if err := rows.Scan(&doc); err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(doc, &m); err != nil {
		return nil, err
	}
	return m, nil
}

func (r *sqliteRaw) Update(ctx context.Context, id string, patch map[string]any) error {
	doc, err := json.Marshal(patch)
	if err != nil {
		return err
	}
	return affectedSQL(r.update.ExecContext(ctx, id, string(doc), r.lim.idle, r.lim.lifetime))
}

func (r *sqliteRaw) Touch(ctx context.Context, id string) error {
	return affectedSQL(r.touch.ExecContext(ctx, id, r.lim.idle, r.lim.lifetime))
}

func (r *sqliteRaw) Delete(ctx context.Context, id string) error {
	_, err := r.delete.ExecContext(ctx, id)
	return err
}

// affectedSQL turns "no row" into ErrNotFound, for Update and Touch.
func affectedSQL(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return mcpsession.ErrNotFound
	}
	return nil
}

// merge is the shallow merge of Update, for the peers that read, merge and
// write back.
func merge(into, patch map[string]any) map[string]any {
	if into == nil {
		into = map[string]any{}
	}
	maps.Copy(into, patch)
	return into
}

func notFound(id string) error { return fmt.Errorf("%w: %s", mcpsession.ErrNotFound, id) }
