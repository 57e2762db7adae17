package driver

// TaskStatements is the SQL of package tasks: MCP tasks in mcp_tasks, each
// owned by one principal. Every statement that names a task by id also
// names its principal: a row whose principal differs is no row at all.
//
// A task is live until its expires_at (created_at plus its ttl; NULL for
// none); statements other than Get and DeleteExpired see only live tasks.
// Its status is one of working and input_required, which change, and
// completed, failed and cancelled, which are terminal: no statement changes
// a terminal task but DeleteExpired, which deletes it. An unfinished task
// whose lease_until has passed is failed from that instant: reads say so
// (lapsed), no statement changes or renews it, and FailLapsed writes it
// down as such.
//
// NOW, the last parameter of every statement, is the instant the statement
// takes for now, in Unix milliseconds, or NULL for the database's clock, as
// in production: tests move time by passing it.
//
// Each statement that selects a task selects, in this order: id,
// principal, session (NULL for none), tool, status, status message, result
// (NULL for none), error, created and updated at, ttl (NULL: none), poll
// interval (NULL: none), replica, lease until, whether the task has
// expired, and whether it is unfinished with its lease lapsed (both false
// but in Get and List). Times and durations are whole milliseconds, times
// since the Unix epoch.
type TaskStatements struct {
	// Create(id, principal, session, tool, ttl, poll, replica, lease, NOW)
	// inserts a working task created and updated at NOW, with an empty
	// status message, expiring ttl milliseconds after NOW (NULL: never),
	// leased to replica until lease milliseconds after NOW, and selects it.
	// session, ttl and poll may be NULL.
	Create string

	// Get(id, principal, NOW) selects the task, live or not: its last
	// column says whether it has expired.
	Get string

	// List(principal, after, session, limit, NOW) selects up to limit of
	// principal's live tasks whose id is greater than after (byte order),
	// in id order; with a session other than "", only those of that
	// session or of none.
	List string

	// Transition(id, principal, status, message, result, error, NOW) sets
	// a live task in a status that is not terminal, whose lease has not
	// lapsed, to status, with its status message (NULL: keep it), result
	// (NULL but for completed) and error ("" but for failed), updated at
	// NOW, and selects it; no row when there is no such task.
	Transition string

	// Renew(replica, lease, NOW) extends to lease milliseconds after NOW
	// the lease of every live task of replica whose status is not
	// terminal and whose lease has not lapsed, and selects their ids.
	Renew string

	// FailLapsed(message, limit, NOW) sets to failed, with message as its
	// status message and error, updated at the end of its lease, up to
	// limit tasks whose status is not terminal and whose lease ended
	// before NOW, oldest lease first, and selects their ids. On Postgres it skips rows another transaction has
	// locked (they are being changed, so their replica is alive).
	FailLapsed string

	// DeleteExpired(limit, NOW) deletes up to limit tasks whose
	// expires_at is at or before NOW, soonest first, and selects the id
	// and status of each.
	DeleteExpired string
}
