package migrations

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"

	"github.com/mcpsession/mcpsession/dialects"
	"github.com/mcpsession/mcpsession/internal/driver"
	"github.com/pressly/goose/v3"
)

// tableName is the goose version table of this schema.
const tableName = "mcpsession_db_version"

// migrationsOf returns the driver and the migrations of dialect d, which
// the dialect's package embeds (migrations/NAME of the repository).
func migrationsOf(d dialects.Dialect) (driver.Driver, fs.FS, error) {
	if d == nil {
		return nil, nil, errors.New("migrations: nil dialect")
	}
	drv := d.Driver()
	fsys := drv.Migrations()
	if m, _ := fs.Glob(fsys, "*.sql"); len(m) == 0 {
		return nil, nil, fmt.Errorf("migrations: no migrations for dialect %q", d.Name())
	}
	return drv, fsys, nil
}

// NewProvider returns a goose provider over the embedded migrations of
// dialect d, recording versions in mcpsession_db_version and, on databases that have
// one, holding the dialect's migration lock (ctx bounds finding its key).
// Use it for what Up does not do (Status, Down, DownTo); opts are passed to
// goose after ours.
func NewProvider(ctx context.Context, db *sql.DB, d dialects.Dialect, opts ...goose.ProviderOption) (*goose.Provider, error) {
	drv, fsys, err := migrationsOf(d)
	if err != nil {
		return nil, err
	}
	base := []goose.ProviderOption{
		goose.WithTableName(tableName),
		// Go migrations an application registers with goose globally are
		// the application's, not ours.
		goose.WithDisableGlobalRegistry(true),
	}
	locker, err := drv.MigrationLocker(ctx, db)
	if err != nil {
		return nil, fmt.Errorf("migrations: lock: %w", err)
	}
	if locker != nil {
		base = append(base, goose.WithLocker(locker))
	}
	p, err := goose.NewProvider(drv.GooseDialect(), db, fsys, append(base, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	return p, nil
}

// Up applies every pending migration of dialect d to db. Several processes
// may call it at once on one database: on Postgres they take turns under
// goose's table lock; on SQLite, a migrator that loses the race to another
// one carries on from where that one got to.
func Up(ctx context.Context, db *sql.DB, d dialects.Dialect) error {
	p, err := NewProvider(ctx, db, d)
	if err != nil {
		return err
	}
	// A migration that fails because another process applied it first
	// (on SQLite, which has no migration lock) means that process made
	// progress: try again from where it got to, at most once per
	// migration.
	// The first failure is the one reported: a retry that fails too (on a
	// version table the first attempt could not even create) says less.
	var firstErr error
	for range len(p.ListSources()) + 1 {
		_, err := p.Up(ctx)
		if err == nil {
			return nil
		}
		if firstErr == nil {
			firstErr = err
		}
		if pending, err := p.HasPending(ctx); err == nil && !pending {
			return nil
		}
		if ctx.Err() != nil {
			break
		}
	}
	return fmt.Errorf("migrations: up: %w", firstErr)
}
