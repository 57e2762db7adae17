package postgres

import (
	"fmt"
	"strings"

	"github.com/mcpsession/mcpsession/internal/driver"
)

// pgParam is Postgres's placeholder for parameter n.
func pgParam(n int) string { return fmt.Sprintf("$%d", n) }

// pgLive is the predicate for a live row s, given the placeholders of the
// idle timeout and the max lifetime in milliseconds. A bigint times an
// interval is computed once per statement, so the comparisons can use the
// indexes.
func pgLive(idle, lifetime string) string {
	return fmt.Sprintf("(%[1]s::bigint = 0 OR s.updated_at >= now() - %[1]s::bigint * interval '1 millisecond')"+
		" AND (%[2]s::bigint = 0 OR s.created_at >= now() - %[2]s::bigint * interval '1 millisecond')", idle, lifetime)
}

// pgRemaining is how many milliseconds a record stamped at column has left
// under a limit of ms milliseconds (the placeholder), or driver.NoExpiry when the
// limit is 0.
func pgRemaining(column, ms string) string {
	return fmt.Sprintf(`CASE WHEN %[2]s::bigint = 0 THEN %[3]d ELSE %[2]s::bigint + floor(extract(epoch FROM %[1]s - now()) * 1000)::bigint END`,
		column, ms, driver.NoExpiry)
}

// pgCleanup deletes one batch of rows whose column is older than the
// duration in $1, oldest first, at most $2 of them. The rows are locked
// first, skipping any another transaction holds (it is using them, so they
// are not idle); a row touched after the statement's snapshot is re-checked
// against the cutoff before it is locked, so a record used at the last
// moment is not deleted.
func pgCleanup(table, column string) string {
	return fmt.Sprintf(`DELETE FROM %[1]s WHERE ctid = ANY (ARRAY(
  SELECT ctid FROM %[1]s
  WHERE %[2]s < now() - $1::bigint * interval '1 millisecond'
  ORDER BY %[2]s
  LIMIT $2
  FOR UPDATE SKIP LOCKED))`, table, column)
}

// pgFloorWindow selects the idle sweep's window (see driver.Records): the
// ctids of the first $2 rows by updated_floor below the cutoff of $1
// milliseconds ago, locked as pgCleanup locks them. The statements over it
// judge updated_at on the locked rows, which no other writer can change
// until the statement ends.
func pgFloorWindow(table string) string {
	return fmt.Sprintf(`ctid = ANY (ARRAY(
  SELECT ctid FROM %[1]s
  WHERE updated_floor < now() - $1::bigint * interval '1 millisecond'
  ORDER BY updated_floor
  LIMIT $2
  FOR UPDATE SKIP LOCKED))`, table)
}

// Writes stamp rows with clock_timestamp(), the time the row is written,
// not now(), the time the transaction (or a statement run on its own)
// started: a write that waited for a row lock, or Modify's write after its
// function ran, would otherwise stamp a time from before the wait, making
// the record older than it is and letting updated_at move backwards under
// contention. Liveness checks keep now(): a statement's snapshot is taken at
// its start, so that is the instant they judge.
func pgRecords(t driver.Table) driver.Records {
	k := len(t.Key)
	p := func(n int) string { return pgParam(k + n) } // the parameters after the key
	key := t.KeyMatch("s.", pgParam)
	cols := strings.Join(t.Key, ", ")
	keyParams := make([]string, k)
	var setKeys string
	for i, c := range t.Key {
		keyParams[i] = pgParam(i + 1)
		if i > 0 { // the primary key is the conflict target; the rest is replaced
			setKeys += fmt.Sprintf("%[1]s = EXCLUDED.%[1]s, ", c)
		}
	}
	return driver.Records{
		Create: fmt.Sprintf(`INSERT INTO %[1]s AS s (%[2]s, %[3]s, created_at, updated_at, updated_floor)
SELECT %[4]s, %[5]s::jsonb, t, t, t FROM (SELECT clock_timestamp() AS t) AS c
ON CONFLICT (%[6]s) DO UPDATE
SET %[7]s%[3]s = EXCLUDED.%[3]s, created_at = EXCLUDED.created_at, updated_at = EXCLUDED.updated_at,
  updated_floor = EXCLUDED.updated_floor
WHERE NOT (%[8]s)`, t.Name, cols, t.Doc, strings.Join(keyParams, ", "), p(1), t.Key[0], setKeys, pgLive(p(2), p(3))),

		Get: fmt.Sprintf(`SELECT %s FROM %s AS s WHERE %s AND %s`, t.Doc, t.Name, key, pgLive(p(1), p(2))),

		GetTTL: fmt.Sprintf(`SELECT %s, least(%s, %s) FROM %s AS s WHERE %s AND %s`, t.Doc,
			pgRemaining("s.updated_at", p(1)), pgRemaining("s.created_at", p(2)), t.Name, key, pgLive(p(1), p(2))),

		Update: fmt.Sprintf(`UPDATE %[1]s AS s SET %[2]s = s.%[2]s || %[3]s::jsonb, updated_at = clock_timestamp()
WHERE %[4]s AND %[5]s`, t.Name, t.Doc, p(1), key, pgLive(p(2), p(3))),

		Touch: fmt.Sprintf(`UPDATE %s AS s SET updated_at = clock_timestamp() WHERE %s AND %s`, t.Name, key, pgLive(p(1), p(2))),

		Delete: fmt.Sprintf(`DELETE FROM %s AS s WHERE %s`, t.Name, key),

		Lock: fmt.Sprintf(`SELECT %s FROM %s AS s WHERE %s AND %s FOR UPDATE`, t.Doc, t.Name, key, pgLive(p(1), p(2))),

		Replace: fmt.Sprintf(`UPDATE %[1]s AS s SET %[2]s = %[3]s::jsonb, updated_at = clock_timestamp() WHERE %[4]s`,
			t.Name, t.Doc, p(1), key),

		RaiseFloor: fmt.Sprintf(`UPDATE %[1]s SET updated_floor = updated_at WHERE %[2]s
  AND updated_at >= now() - $1::bigint * interval '1 millisecond'`, t.Name, pgFloorWindow(t.Name)),
		CleanupIdle: fmt.Sprintf(`DELETE FROM %[1]s WHERE %[2]s
  AND updated_at < now() - $1::bigint * interval '1 millisecond'`, t.Name, pgFloorWindow(t.Name)),
		CleanupLifetime: pgCleanup(t.Name, "created_at"),
	}
}

var statements = driver.Statements{
	Records: pgRecords(driver.SessionsTable),
	Handles: pgRecords(driver.HandlesTable),
	Bus:     postgresBus,
	Events:  postgresEvents,

	TakeLease: `INSERT INTO ` + driver.LeasesTable + ` AS l (name, holder, expires_at)
VALUES ($1, $2, now() + $3::bigint * interval '1 millisecond')
ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
WHERE l.holder = EXCLUDED.holder OR l.expires_at < now()`,
	ReleaseLease: `DELETE FROM ` + driver.LeasesTable + ` WHERE name = $1 AND holder = $2`,
}
