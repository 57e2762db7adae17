package sqlite

import "github.com/mcpsession/mcpsession/internal/driver"

// Tasks returns the SQL of package tasks.
func (sqliteDriver) Tasks() *driver.TaskStatements { return &sqliteTasks }

// sqliteTaskNow is the instant a task statement takes for now: its
// parameter (Unix milliseconds) when a test gives one, else the database's
// clock, which SQLite holds fixed for a whole statement.
func sqliteTaskNow(param string) string { return `coalesce(` + param + `, ` + sqliteNow + `)` }

// sqliteTaskColumns are the columns a task statement selects (see
// driver.TaskStatements), with expired and lapsed the last. Unqualified: a
// RETURNING clause may name only the table it changes.
func sqliteTaskColumns(expired, lapsed string) string {
	return `id, principal, session_id, tool, status, status_message, result, error, ` +
		`created_at, updated_at, ttl_ms, poll_interval_ms, replica, lease_until, ` + expired + `, ` + lapsed
}

// sqliteTaskRead are the columns of a read of a task at now.
func sqliteTaskRead(now string) string {
	return sqliteTaskColumns("(expires_at IS NOT NULL AND expires_at <= "+now+")",
		"("+sqliteUnfinished+" AND lease_until < "+now+")")
}

// sqliteTaskWritten are the columns of a task just written: live, its
// lease held.
var sqliteTaskWritten = sqliteTaskColumns("0", "0")

// sqliteUnfinished is "the task is not in a terminal status"; the partial
// indexes of migration 00005 have the same predicate, which SQLite must
// find word for word in a query to use them.
const sqliteUnfinished = `status IN ('working', 'input_required')`

// sqliteTaskLive is "the task has not expired at now".
func sqliteTaskLive(now string) string { return `(expires_at IS NULL OR expires_at > ` + now + `)` }

// sqliteLeaseHeld is "the task's lease has not lapsed at now".
func sqliteLeaseHeld(now string) string { return `lease_until >= ` + now }

// The statements are those of Postgres but for the placeholders, times in
// milliseconds, and what SQLite has no part of: no FROM in the UPDATEs
// (their RETURNING could not name it), no row locks (writes take turns).
var sqliteTasks = driver.TaskStatements{
	Create: `INSERT INTO mcp_tasks (id, principal, session_id, tool, status, status_message, error,
  created_at, updated_at, ttl_ms, expires_at, poll_interval_ms, replica, lease_until)
SELECT ?1, ?2, ?3, ?4, 'working', '', '', c.t, c.t, ?5, c.t + ?5, ?6, ?7, c.t + ?8
FROM (SELECT ` + sqliteTaskNow("?9") + ` AS t) AS c
RETURNING ` + sqliteTaskWritten,

	Get: `SELECT ` + sqliteTaskRead(sqliteTaskNow("?3")) + `
FROM mcp_tasks WHERE id = ?1 AND principal = ?2`,

	List: `SELECT ` + sqliteTaskRead(sqliteTaskNow("?5")) + `
FROM mcp_tasks
WHERE principal = ?1 AND id > ?2
  AND (?3 = '' OR session_id IS NULL OR session_id = ?3)
  AND ` + sqliteTaskLive(sqliteTaskNow("?5")) + `
ORDER BY id
LIMIT ?4`,

	Transition: `UPDATE mcp_tasks
SET status = ?3, status_message = coalesce(?4, status_message), result = ?5, error = ?6, updated_at = ` + sqliteTaskNow("?7") + `
WHERE id = ?1 AND principal = ?2 AND ` + sqliteUnfinished + ` AND ` + sqliteTaskLive(sqliteTaskNow("?7")) + `
  AND ` + sqliteLeaseHeld(sqliteTaskNow("?7")) + `
RETURNING ` + sqliteTaskWritten,

	Renew: `UPDATE mcp_tasks
SET lease_until = ` + sqliteTaskNow("?3") + ` + ?2
WHERE replica = ?1 AND ` + sqliteUnfinished + ` AND ` + sqliteTaskLive(sqliteTaskNow("?3")) + `
  AND ` + sqliteLeaseHeld(sqliteTaskNow("?3")) + `
RETURNING id`,

	FailLapsed: `UPDATE mcp_tasks
SET status = 'failed', status_message = ?1, error = ?1, updated_at = lease_until
WHERE id IN (
  SELECT id FROM mcp_tasks
  WHERE ` + sqliteUnfinished + ` AND lease_until < ` + sqliteTaskNow("?3") + `
  ORDER BY lease_until
  LIMIT ?2)
RETURNING id`,

	DeleteExpired: `DELETE FROM mcp_tasks WHERE id IN (
  SELECT id FROM mcp_tasks WHERE expires_at <= ` + sqliteTaskNow("?2") + ` ORDER BY expires_at LIMIT ?1)
RETURNING id, status`,
}
