package tasks

import (
	"encoding/json"
	"time"
)

// Status is where a task stands, as MCP names it.
type Status string

// The statuses of a task. A task starts working; it may go to
// input_required and back as often as it needs; it ends completed, failed
// or cancelled, and then never changes again.
const (
	Working       Status = "working"
	InputRequired Status = "input_required"
	Completed     Status = "completed"
	Failed        Status = "failed"
	Cancelled     Status = "cancelled"
)

// Terminal reports whether s is completed, failed or cancelled.
func (s Status) Terminal() bool { return s == Completed || s == Failed || s == Cancelled }

// A Task is one MCP task as the store holds it.
type Task struct {
	// ID is the task's id: 26 characters carrying 130 random bits, a
	// valid MCP id, minted by Create.
	ID string

	// Principal owns the task; "" is the anonymous principal.
	Principal string

	// Session is the MCP session that created the task in the legacy
	// (2025-11-25) era, or "".
	Session string

	// Tool is the tool whose call the task runs, or "".
	Tool string

	Status        Status
	StatusMessage string

	// Result is the result a completed task was given, as JSON (for a
	// tool call, the CallToolResult); nil for any other status.
	Result json.RawMessage

	// Error is why a failed task failed; "" for any other status.
	Error string

	// CreatedAt and UpdatedAt are when the task was created and when its
	// status last changed, by the database's clock, to the millisecond.
	CreatedAt, UpdatedAt time.Time

	// TTL is how long after CreatedAt the task is kept, the extension's
	// ttl; 0 means for ever.
	TTL time.Duration

	// PollInterval is how often a client should poll the task, the
	// extension's pollInterval; 0 means the server suggests none.
	PollInterval time.Duration

	// Replica is the replica running the task (tasks.WithReplica of the
	// Store that created it), and LeaseUntil when its lease ends unless
	// that replica renews it.
	Replica    string
	LeaseUntil time.Time
}
