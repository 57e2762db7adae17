package tasks

import (
	"errors"

	"github.com/mcpsession/mcpsession"
)

var (
	// ErrTaskNotFound means the principal has no task of that id: it was
	// never created, was deleted, or belongs to another principal, which
	// is not revealed. It matches mcpsession.ErrNotFound too.
	ErrTaskNotFound error = &childError{"tasks: task not found", mcpsession.ErrNotFound}

	// ErrTaskExpired means the principal's task is past its ttl: it is
	// gone for every purpose, and the next sweep deletes it (after which
	// it is ErrTaskNotFound). It matches ErrTaskNotFound too.
	ErrTaskExpired error = &childError{"tasks: task expired", ErrTaskNotFound}

	// ErrTerminal means a task's status did not change because it is
	// terminal (completed, failed or cancelled), as it stays for good. The
	// error names the status; the call that returns it also returns the
	// task as it is.
	ErrTerminal = errors.New("tasks: task already finished")

	// ErrInvalidArgument means a call was given what a task cannot hold:
	// a tool name, session id, status message or result the store cannot
	// keep, a negative duration, a status the call does not set. The
	// error's text says which. Nothing was changed. It matches
	// mcpsession.ErrInvalidArgument too.
	ErrInvalidArgument error = &childError{"tasks: invalid argument", mcpsession.ErrInvalidArgument}

	// ErrInvalidCursor means List was given a cursor it did not make. It
	// matches ErrInvalidArgument too.
	ErrInvalidCursor error = &childError{"tasks: invalid cursor", ErrInvalidArgument}
)

// childError is a sentinel that also matches its parent sentinel.
type childError struct {
	msg    string
	parent error
}

func (e *childError) Error() string { return e.msg }
func (e *childError) Unwrap() error { return e.parent }
