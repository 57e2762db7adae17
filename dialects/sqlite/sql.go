package sqlite

import (
	"fmt"
	"strings"

	"github.com/mcpsession/mcpsession/internal/driver"
)

// sqliteNow is the current time in Unix milliseconds. SQLite keeps 'now' in
// whole milliseconds and holds it fixed for the whole of one statement;
// rounding undoes the float division inside unixepoch.
const sqliteNow = `CAST(round(unixepoch('subsec') * 1000) AS INTEGER)`

// sqliteParam is SQLite's placeholder for parameter n.
func sqliteParam(n int) string { return fmt.Sprintf("?%d", n) }

func sqliteLive(table, idle, lifetime string) string {
	return fmt.Sprintf("(%[2]s = 0 OR %[1]s.updated_at >= %[4]s - %[2]s)"+
		" AND (%[3]s = 0 OR %[1]s.created_at >= %[4]s - %[3]s)",
		table, idle, lifetime, sqliteNow)
}

// sqliteRemaining is how many milliseconds a record stamped at column has
// left under a limit of ms milliseconds (the placeholder), or driver.NoExpiry when
// the limit is 0.
func sqliteRemaining(column, ms string) string {
	return fmt.Sprintf(`CASE WHEN %[2]s = 0 THEN %[3]d ELSE %[1]s + %[2]s - %[4]s END`, column, ms, driver.NoExpiry, sqliteNow)
}

// sqliteCleanup deletes one batch by rowid: the subquery reads only the
// index on the column (which holds the rowid), oldest first.
func sqliteCleanup(table, column string) string {
	return fmt.Sprintf(`DELETE FROM %[1]s WHERE rowid IN (
  SELECT rowid FROM %[1]s WHERE %[2]s < %[3]s - ?1 ORDER BY %[2]s LIMIT ?2)`, table, column, sqliteNow)
}

// sqliteFloorWindow is the idle sweep's window (see driver.Records): the
// rowids of the first ?2 rows by updated_floor below the cutoff of ?1
// milliseconds ago, read from the index alone.
func sqliteFloorWindow(table string) string {
	return fmt.Sprintf(`rowid IN (
  SELECT rowid FROM %[1]s WHERE updated_floor < %[2]s - ?1 ORDER BY updated_floor LIMIT ?2)`, table, sqliteNow)
}

func sqliteRecords(t driver.Table) driver.Records {
	k := len(t.Key)
	p := func(n int) string { return sqliteParam(k + n) } // the parameters after the key
	key := t.KeyMatch(t.Name+".", sqliteParam)
	cols := strings.Join(t.Key, ", ")
	keyParams := make([]string, k)
	var setKeys string
	for i, c := range t.Key {
		keyParams[i] = sqliteParam(i + 1)
		if i > 0 { // the primary key is the conflict target; the rest is replaced
			setKeys += fmt.Sprintf("%[1]s = excluded.%[1]s, ", c)
		}
	}
	return driver.Records{
		Create: fmt.Sprintf(`INSERT INTO %[1]s (%[2]s, %[3]s, created_at, updated_at, updated_floor)
VALUES (%[4]s, %[5]s, %[6]s, %[6]s, %[6]s)
ON CONFLICT (%[7]s) DO UPDATE
SET %[8]s%[3]s = excluded.%[3]s, created_at = excluded.created_at, updated_at = excluded.updated_at,
  updated_floor = excluded.updated_floor
WHERE NOT (%[9]s)`, t.Name, cols, t.Doc, strings.Join(keyParams, ", "), p(1), sqliteNow, t.Key[0], setKeys,
			sqliteLive(t.Name, p(2), p(3))),

		Get: fmt.Sprintf(`SELECT %s FROM %s WHERE %s AND %s`, t.Doc, t.Name, key, sqliteLive(t.Name, p(1), p(2))),

		// min() of two values: SQLite's scalar min is NULL if either is,
		// so each side is a number.
		GetTTL: fmt.Sprintf(`SELECT %s, min(%s, %s) FROM %s WHERE %s AND %s`, t.Doc,
			sqliteRemaining(t.Name+".updated_at", p(1)), sqliteRemaining(t.Name+".created_at", p(2)),
			t.Name, key, sqliteLive(t.Name, p(1), p(2))),

		// The shallow merge of jsonb ||: every stored key the patch does
		// not name, then every key of the patch, each value copied as JSON
		// text (the -> operator) so numbers keep their exact text and null
		// stays null. json_patch is not used: it merges nested objects and
		// deletes keys set to null (RFC 7396).
		Update: fmt.Sprintf(`UPDATE %[1]s SET
  %[2]s = (
    SELECT json_group_object(k, json(v)) FROM (
      SELECT o.key AS k, %[1]s.%[2]s -> o.fullkey AS v
        FROM json_each(%[1]s.%[2]s) AS o
        WHERE o.key NOT IN (SELECT key FROM json_each(%[3]s))
      UNION ALL
      SELECT p.key, %[3]s -> p.fullkey FROM json_each(%[3]s) AS p)),
  updated_at = %[4]s
WHERE %[5]s AND %[6]s`, t.Name, t.Doc, p(1), sqliteNow, key, sqliteLive(t.Name, p(2), p(3))),

		Touch: fmt.Sprintf(`UPDATE %s SET updated_at = %s WHERE %s AND %s`, t.Name, sqliteNow, key, sqliteLive(t.Name, p(1), p(2))),

		Delete: fmt.Sprintf(`DELETE FROM %s WHERE %s`, t.Name, key),

		// A write as the transaction's first statement takes SQLite's
		// write lock at once (waiting under busy_timeout), instead of
		// upgrading a read lock later, which fails with SQLITE_BUSY
		// without waiting.
		Lock: fmt.Sprintf(`UPDATE %[1]s SET updated_at = updated_at WHERE %[2]s AND %[3]s RETURNING %[4]s`,
			t.Name, key, sqliteLive(t.Name, p(1), p(2)), t.Doc),

		Replace: fmt.Sprintf(`UPDATE %s SET %s = %s, updated_at = %s WHERE %s`, t.Name, t.Doc, p(1), sqliteNow, key),

		RaiseFloor: fmt.Sprintf(`UPDATE %[1]s SET updated_floor = updated_at WHERE %[2]s AND updated_at >= %[3]s - ?1`,
			t.Name, sqliteFloorWindow(t.Name), sqliteNow),
		CleanupIdle: fmt.Sprintf(`DELETE FROM %[1]s WHERE %[2]s AND updated_at < %[3]s - ?1`,
			t.Name, sqliteFloorWindow(t.Name), sqliteNow),
		CleanupLifetime: sqliteCleanup(t.Name, "created_at"),
	}
}

var statements = driver.Statements{
	Records: sqliteRecords(driver.SessionsTable),
	Handles: sqliteRecords(driver.HandlesTable),
	Bus:     sqliteBus,
	Events:  sqliteEvents,

	TakeLease: `INSERT INTO ` + driver.LeasesTable + ` (name, holder, expires_at)
VALUES (?1, ?2, ` + sqliteNow + ` + ?3)
ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
WHERE ` + driver.LeasesTable + `.holder = excluded.holder OR ` + driver.LeasesTable + `.expires_at < ` + sqliteNow,
	ReleaseLease: `DELETE FROM ` + driver.LeasesTable + ` WHERE name = ?1 AND holder = ?2`,
}
