package postgres

import (
	"fmt"

	"github.com/mcpsession/mcpsession/internal/driver"
)

// Tasks returns the SQL of package tasks.
func (pgDriver) Tasks() *driver.TaskStatements { return &postgresTasks }

// pgTaskNow is the instant a task statement takes for now: its parameter
// (Unix milliseconds) when a test gives one, else the time the row is
// written (clock_timestamp(), as the store stamps its rows).
func pgTaskNow(param string) string {
	return fmt.Sprintf(`coalesce(timestamptz 'epoch' + %s::bigint * interval '1 millisecond', clock_timestamp())`, param)
}

// pgEpochMillis is a timestamptz as Unix milliseconds.
func pgEpochMillis(col string) string {
	return fmt.Sprintf(`floor(extract(epoch FROM %s) * 1000)::bigint`, col)
}

// pgTaskColumns are the columns a task statement selects (see
// driver.TaskStatements), of the row t, with expired and lapsed the last.
func pgTaskColumns(expired, lapsed string) string {
	return `t.id, t.principal, t.session_id, t.tool, t.status, t.status_message, t.result, t.error, ` +
		pgEpochMillis("t.created_at") + `, ` + pgEpochMillis("t.updated_at") + `, t.ttl_ms, t.poll_interval_ms, t.replica, ` +
		pgEpochMillis("t.lease_until") + `, ` + expired + `, ` + lapsed
}

// pgTaskRead are the columns of a read of the task t at c.t.
var pgTaskRead = pgTaskColumns("(t.expires_at IS NOT NULL AND t.expires_at <= c.t)", "("+pgUnfinished+" AND t.lease_until < c.t)")

// pgTaskWritten are the columns of a task just written: live, its lease
// held.
var pgTaskWritten = pgTaskColumns("false", "false")

// pgUnfinished is "the task t is not in a terminal status"; the partial
// indexes of migration 00005 have the same predicate.
const pgUnfinished = `t.status IN ('working', 'input_required')`

// pgTaskLive is "the task t has not expired at c.t".
const pgTaskLive = `(t.expires_at IS NULL OR t.expires_at > c.t)`

// pgLeaseHeld is "the lease of the task t has not lapsed at c.t".
const pgLeaseHeld = `t.lease_until >= c.t`

// Writes take now once, in a subquery (c.t), so that every column a
// statement stamps holds the same instant.
var postgresTasks = driver.TaskStatements{
	Create: `INSERT INTO mcp_tasks AS t (id, principal, session_id, tool, status, status_message, error,
  created_at, updated_at, ttl_ms, expires_at, poll_interval_ms, replica, lease_until)
SELECT $1, $2, $3, $4, 'working', '', '', c.t, c.t,
  $5::bigint, c.t + $5::bigint * interval '1 millisecond', $6::bigint,
  $7, c.t + $8::bigint * interval '1 millisecond'
FROM (SELECT ` + pgTaskNow("$9") + ` AS t) AS c
RETURNING ` + pgTaskWritten,

	Get: `SELECT ` + pgTaskRead + `
FROM mcp_tasks AS t, (SELECT ` + pgTaskNow("$3") + ` AS t) AS c
WHERE t.id = $1 AND t.principal = $2`,

	List: `SELECT ` + pgTaskRead + `
FROM mcp_tasks AS t, (SELECT ` + pgTaskNow("$5") + ` AS t) AS c
WHERE t.principal = $1 AND t.id > $2
  AND ($3::text = '' OR t.session_id IS NULL OR t.session_id = $3::text)
  AND ` + pgTaskLive + `
ORDER BY t.id
LIMIT $4`,

	Transition: `UPDATE mcp_tasks AS t
SET status = $3, status_message = coalesce($4, t.status_message), result = $5, error = $6, updated_at = c.t
FROM (SELECT ` + pgTaskNow("$7") + ` AS t) AS c
WHERE t.id = $1 AND t.principal = $2 AND ` + pgUnfinished + ` AND ` + pgTaskLive + ` AND ` + pgLeaseHeld + `
RETURNING ` + pgTaskWritten,

	Renew: `UPDATE mcp_tasks AS t
SET lease_until = c.t + $2::bigint * interval '1 millisecond'
FROM (SELECT ` + pgTaskNow("$3") + ` AS t) AS c
WHERE t.replica = $1 AND ` + pgUnfinished + ` AND ` + pgTaskLive + ` AND ` + pgLeaseHeld + `
RETURNING t.id`,

	// As the store's cleanup: the rows are picked once (ARRAY) and locked
	// first, skipping those another transaction holds (a completion, a
	// renewal); a row renewed or finished after the statement's snapshot
	// is checked again before it is locked, and left as it is.
	FailLapsed: `UPDATE mcp_tasks AS t
SET status = 'failed', status_message = $1, error = $1, updated_at = t.lease_until
FROM (SELECT ` + pgTaskNow("$3") + ` AS t) AS c
WHERE t.id = ANY (ARRAY(
    SELECT l.id FROM mcp_tasks AS l
    WHERE l.status IN ('working', 'input_required') AND l.lease_until < ` + pgTaskNow("$3") + `
    ORDER BY l.lease_until
    LIMIT $2
    FOR UPDATE SKIP LOCKED))
  AND ` + pgUnfinished + ` AND t.lease_until < c.t
RETURNING t.id`,

	DeleteExpired: `DELETE FROM mcp_tasks WHERE id = ANY (ARRAY(
    SELECT id FROM mcp_tasks
    WHERE expires_at <= ` + pgTaskNow("$2") + `
    ORDER BY expires_at
    LIMIT $1
    FOR UPDATE SKIP LOCKED))
RETURNING id, status`,
}
