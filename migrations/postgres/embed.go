// Package postgres embeds the Postgres migrations of the session store, the goose
// SQL files of this directory, for package dialects/postgres, whose dialect
// migrations.Up applies. Begin with migrations.Up, or run the files with
// the goose CLI as they stand (it skips this Go file, which has no version
// prefix):
//
//	goose -table mcpsession_db_version -dir migrations/postgres postgres "$DSN" up
package postgres

import (
	"embed"
	"io/fs"
)

//go:embed *.sql
var files embed.FS

// FS returns the migrations, at its root.
func FS() fs.FS { return files }
