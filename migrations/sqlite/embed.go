// Package sqlite embeds the SQLite migrations of the store: the goose SQL
// files of this directory, which dialects.SQLite.Migrations returns. The
// goose CLI runs the files as they stand (it skips this Go file, which has
// no version prefix).
package sqlite

import "embed"

// FS holds the migrations, at its root.
//
//go:embed *.sql
var FS embed.FS
