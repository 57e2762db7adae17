package tasks

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/bus"
	"github.com/mcpsession/mcpsession/internal/driver"
	"github.com/mcpsession/mcpsession/internal/executor"
	"github.com/mcpsession/mcpsession/internal/msgbus"
	"github.com/mcpsession/mcpsession/sqlstore"
)

// Limits of what a task holds.
const (
	// MaxToolLength is the longest tool name, in bytes.
	MaxToolLength = 1024

	// MaxStatusMessageLength is the longest status message (and error), in
	// bytes.
	MaxStatusMessageLength = 64 << 10
)

// LeaseLapsedMessage is the status message (and error) of a task that
// failed because the lease of the replica running it lapsed.
const LeaseLapsedMessage = "the server running this task stopped before it finished"

// cancelledMessage is the status message of a task Cancel cancelled: the
// words mcp-go uses.
const cancelledMessage = "Task cancelled by request"

// publishTimeout bounds the announcement of a change that has committed,
// which goes on when the caller's context has ended.
const publishTimeout = 5 * time.Second

// Store keeps MCP tasks in a sqlstore.Store's database, so that every
// replica of a service answers for every task. It is safe for concurrent
// use.
type Store struct {
	x   *executor.Executor
	q   *driver.TaskStatements
	bus *msgbus.Bus
	cfg config

	// Test hooks, set before the Store is used: clock gives the instant
	// every statement takes for now (nil: the database's clock), waiting
	// is called each time Wait has read a task that is not finished and
	// is about to wait.
	clock   func() time.Time
	waiting func()
}

// New returns a Store over store's database, whose migrations hold its
// table. b is the bus between the replicas: every change of a task is
// announced on it, and Wait listens to it. For Wait to hear anything, b
// must be running (bus.Run), on this replica as on the others.
func New(store *sqlstore.Store, b *bus.Bus, opts ...Option) (*Store, error) {
	if store == nil {
		return nil, fmt.Errorf("%w: tasks.New: nil store", mcpsession.ErrInvalidOption)
	}
	if b == nil {
		return nil, fmt.Errorf("%w: tasks.New: nil bus", mcpsession.ErrInvalidOption)
	}
	cfg := defaultConfig()
	for i, o := range opts {
		if o == nil {
			return nil, fmt.Errorf("%w: tasks.New: option %d is nil", mcpsession.ErrInvalidOption, i)
		}
		if err := o.apply(&cfg); err != nil {
			return nil, err
		}
	}
	x := executor.Of(store)
	return &Store{x: x, q: x.Driver().Tasks(), bus: (*msgbus.Bus)(b), cfg: cfg}, nil
}

// Replica returns the name of the replica whose Store this is (WithReplica).
func (s *Store) Replica() string { return s.cfg.replica }

// Lease returns how long a task stays leased without a renewal (WithLease).
func (s *Store) Lease() time.Duration { return s.cfg.lease }

// CreateParams is what Create makes a task of.
type CreateParams struct {
	// Principal owns the task; "" is the anonymous principal.
	Principal string

	// Session is the MCP session the request came in, in the legacy era;
	// "" for none.
	Session string

	// Tool is the tool whose call the task runs; at most MaxToolLength
	// bytes.
	Tool string

	// TTL is how long after its creation the task is kept (at least a
	// millisecond; 0: for ever); PollInterval is how often a client should
	// poll it (0: no suggestion). Both are whole milliseconds.
	TTL, PollInterval time.Duration
}

// Create creates a working task, leased to this replica, and returns it
// once it is committed: from then on every replica finds it. The task's id
// is new, 130 random bits from crypto/rand.
func (s *Store) Create(ctx context.Context, p CreateParams) (Task, error) {
	if err := mcpsession.ValidatePrincipal(p.Principal); err != nil {
		return Task{}, err
	}
	if p.Session != "" {
		if err := mcpsession.ValidateID(p.Session); err != nil {
			return Task{}, fmt.Errorf("%w: session: %w", ErrInvalidArgument, err)
		}
	}
	if err := checkText("tool", p.Tool, MaxToolLength); err != nil {
		return Task{}, err
	}
	ttl, err := millis("ttl", p.TTL)
	if err != nil {
		return Task{}, err
	}
	poll, err := millis("poll interval", p.PollInterval)
	if err != nil {
		return Task{}, err
	}
	var session any
	if p.Session != "" {
		session = p.Session
	}
	var r row
	args := []any{mcpsession.NewID(), p.Principal, session, p.Tool, ttl, poll,
		s.cfg.replica, s.cfg.lease.Milliseconds(), s.now()}
	if err := s.x.WriteRow(ctx, "tasks: create", s.q.Create, args, r.dest()...); err != nil {
		if errors.Is(err, sql.ErrNoRows) { // an INSERT … RETURNING returns its row
			err = s.x.Wrap(ctx, "tasks: create", err)
		}
		return Task{}, err
	}
	return r.task(), nil
}

// millis returns d in whole milliseconds for a nullable column: nil for 0.
func millis(what string, d time.Duration) (any, error) {
	switch {
	case d == 0:
		return nil, nil
	case d < time.Millisecond:
		return nil, fmt.Errorf("%w: %s %v: must be 0 or at least 1ms", ErrInvalidArgument, what, d)
	}
	return d.Milliseconds(), nil
}

// checkText refuses what a text column cannot hold faithfully.
func checkText(what, v string, limit int) error {
	switch {
	case len(v) > limit:
		return fmt.Errorf("%w: %s of %d bytes, the limit is %d", ErrInvalidArgument, what, len(v), limit)
	case !utf8.ValidString(v):
		return fmt.Errorf("%w: %s is not valid UTF-8", ErrInvalidArgument, what)
	case strings.IndexByte(v, 0) >= 0:
		return fmt.Errorf("%w: %s holds U+0000", ErrInvalidArgument, what)
	}
	return nil
}

// checkKey checks the id and principal a call names a task by. An id that
// no task can have is an unknown task.
func checkKey(id, principal string) error {
	if err := mcpsession.ValidatePrincipal(principal); err != nil {
		return err
	}
	if err := mcpsession.ValidateID(id); err != nil {
		return fmt.Errorf("%w: %w", ErrTaskNotFound, err)
	}
	return nil
}

// Get returns principal's task id. It is an error matching ErrTaskNotFound
// when principal has no such task (another principal's is no different),
// and ErrTaskExpired when the task is past its ttl.
func (s *Store) Get(ctx context.Context, id, principal string) (Task, error) {
	if err := checkKey(id, principal); err != nil {
		return Task{}, err
	}
	var r row
	err := s.x.QueryRow(ctx, "tasks: get", s.q.Get, []any{id, principal, s.now()}, r.dest()...)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return Task{}, ErrTaskNotFound
	case err != nil:
		return Task{}, err
	case r.expired:
		return Task{}, ErrTaskExpired
	}
	return r.task(), nil
}

// ListParams says which page of a principal's tasks List returns.
type ListParams struct {
	// Session, when not "", keeps only the tasks of that session and those
	// of none, as mcp-go lists a legacy session's tasks.
	Session string

	// Cursor is the NextCursor of the page before, or "" for the first.
	Cursor string

	// Limit is the most tasks a page holds; 0 means no limit.
	Limit int
}

// A Page is one page of List.
type Page struct {
	// Tasks are in the order of their ids' bytes; never nil.
	Tasks []Task

	// NextCursor is the cursor of the next page: "" when there is none.
	// A full page has one, even when nothing follows it (the next page is
	// then empty), as mcp-go pages.
	NextCursor string
}

// List returns a page of principal's live tasks, in the order mcp-go lists
// tasks (by id) and with its cursors (the base64 of the last id): a task
// created while a client pages appears on a later page if its id sorts
// after the cursor, and no task appears twice. A cursor List did not make
// is an error matching ErrInvalidCursor.
func (s *Store) List(ctx context.Context, principal string, p ListParams) (Page, error) {
	if err := mcpsession.ValidatePrincipal(principal); err != nil {
		return Page{}, err
	}
	if p.Limit < 0 {
		return Page{}, fmt.Errorf("%w: limit %d: must be 0 or more", ErrInvalidArgument, p.Limit)
	}
	if p.Session != "" {
		if err := mcpsession.ValidateID(p.Session); err != nil {
			return Page{}, fmt.Errorf("%w: session: %w", ErrInvalidArgument, err)
		}
	}
	after, err := decodeCursor(p.Cursor)
	if err != nil {
		return Page{}, err
	}
	limit := int64(math.MaxInt64)
	if p.Limit > 0 {
		limit = int64(p.Limit)
	}
	rows, err := s.x.Query(ctx, "tasks: list", s.q.List, principal, after, p.Session, limit, s.now())
	if err != nil {
		return Page{}, err
	}
	defer rows.Close()
	page := Page{Tasks: []Task{}}
	for rows.Next() {
		var r row
		if err := rows.Scan(r.dest()...); err != nil {
			return Page{}, s.x.Wrap(ctx, "tasks: list", err)
		}
		page.Tasks = append(page.Tasks, r.task())
	}
	if err := rows.Err(); err != nil {
		return Page{}, s.x.Wrap(ctx, "tasks: list", err)
	}
	if p.Limit > 0 && len(page.Tasks) == p.Limit {
		page.NextCursor = encodeCursor(page.Tasks[len(page.Tasks)-1].ID)
	}
	return page, nil
}

// encodeCursor is mcp-go's cursor for the page after the task id.
func encodeCursor(id string) string { return base64.StdEncoding.EncodeToString([]byte(id)) }

// decodeCursor returns the id after which a cursor's page starts. It takes
// mcp-go's composite form too (name.tieBreak), whose tie-break means
// nothing for tasks, whose ids are unique.
func decodeCursor(cursor string) (string, error) {
	if cursor == "" {
		return "", nil
	}
	name, tieBreak, composite := strings.Cut(cursor, ".")
	after, err := base64.StdEncoding.DecodeString(name)
	if err == nil && composite {
		_, err = base64.StdEncoding.DecodeString(tieBreak)
	}
	if err != nil || len(after) == 0 || checkText("cursor", string(after), mcpsession.MaxIDLength) != nil {
		return "", ErrInvalidCursor
	}
	return string(after), nil
}

// SetStatus sets principal's unfinished task id to working or
// input_required, with a status message (which may be ""). It returns the
// task as it is now. A task in a terminal status is not changed: the
// error matches ErrTerminal, and the task is returned as it is.
func (s *Store) SetStatus(ctx context.Context, id, principal string, status Status, message string) (Task, error) {
	if status != Working && status != InputRequired {
		return Task{}, fmt.Errorf("%w: SetStatus sets working or input_required, not %q; Complete, Fail and Cancel end a task", ErrInvalidArgument, status)
	}
	if err := checkText("status message", message, MaxStatusMessageLength); err != nil {
		return Task{}, err
	}
	return s.transition(ctx, "tasks: set status", id, principal, status, message, nil, "")
}

// Complete ends principal's unfinished task id as completed with its
// result, valid JSON of at most WithMaxResultBytes (for a tool call, the
// CallToolResult, even one whose isError is true). The status message
// stays what it was. It returns the task as it is now; a task in a
// terminal status is not changed (ErrTerminal).
func (s *Store) Complete(ctx context.Context, id, principal string, result json.RawMessage) (Task, error) {
	switch {
	case len(result) > s.cfg.maxResult:
		return Task{}, fmt.Errorf("%w: result of %d bytes, the limit is %d", ErrInvalidArgument, len(result), s.cfg.maxResult)
	case !json.Valid(result):
		return Task{}, fmt.Errorf("%w: result is not valid JSON", ErrInvalidArgument)
	}
	return s.transition(ctx, "tasks: complete", id, principal, Completed, nil, []byte(result), "")
}

// Fail ends principal's unfinished task id as failed, with message as its
// status message and its error. It returns the task as it is now; a task
// in a terminal status is not changed (ErrTerminal).
func (s *Store) Fail(ctx context.Context, id, principal, message string) (Task, error) {
	if err := checkText("error message", message, MaxStatusMessageLength); err != nil {
		return Task{}, err
	}
	return s.transition(ctx, "tasks: fail", id, principal, Failed, message, nil, message)
}

// Cancel ends principal's unfinished task id as cancelled, with the status
// message "Task cancelled by request" (mcp-go's). It returns the task as
// it is now; a task in a terminal status is not changed (ErrTerminal).
// Stopping the work is the business of the replica running it, which
// learns of it through Watch.
func (s *Store) Cancel(ctx context.Context, id, principal string) (Task, error) {
	return s.transition(ctx, "tasks: cancel", id, principal, Cancelled, cancelledMessage, nil, "")
}

// transition moves a live, unfinished task to status in one statement,
// which a concurrent transition of the same task waits for and then finds
// the task finished: of two racing ends, exactly one wins. A nil message
// keeps the status message.
func (s *Store) transition(ctx context.Context, op, id, principal string, status Status, message any, result []byte, errMsg string) (Task, error) {
	if err := checkKey(id, principal); err != nil {
		return Task{}, err
	}
	var res any
	if result != nil {
		res = result
	}
	// A task refused is missing, expired, finished or another principal's,
	// which Get tells apart; each of those stays so, but an expiry on a
	// clock that a test moved back: then try again, a few times.
	for range 3 {
		var r row
		err := s.x.WriteRow(ctx, op, s.q.Transition, []any{id, principal, string(status), message, res, errMsg, s.now()}, r.dest()...)
		if err == nil {
			t := r.task()
			s.announce(ctx, id, t.Status)
			return t, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return Task{}, err
		}
		t, err := s.Get(ctx, id, principal)
		if err != nil {
			return Task{}, err
		}
		if t.Status.Terminal() {
			return t, fmt.Errorf("%w: it is %s", ErrTerminal, t.Status)
		}
	}
	return Task{}, fmt.Errorf("%s: the task kept changing; try again", op)
}

// now is the instant the statements take for now: NULL, the database's
// clock, but in tests.
func (s *Store) now() any {
	if s.clock == nil {
		return nil
	}
	return s.clock().UnixMilli()
}

// topic is the bus topic of a task's changes. A digest, not the id: a
// task's id is all an anonymous client needs to read it, and the bus's
// table is no place for it.
func topic(id string) string { return "mcpsession/task/" + driver.WakeKey('t', id) }

// announce tells every replica's Watch and Wait that the task is now in
// status ("" once deleted). The change has committed; a message lost here
// only delays waiters until their backstop.
func (s *Store) announce(ctx context.Context, id string, status Status) {
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), publishTimeout)
	defer cancel()
	if _, err := s.bus.Publish(pctx, topic(id), []byte(status)); err != nil {
		s.cfg.logger.LogAttrs(ctx, slog.LevelWarn, "tasks: a change of a task was not announced on the bus; waiters elsewhere learn of it by their backstop",
			slog.String("status", string(status)), slog.String("error", err.Error()))
	}
}

// row is a task as its statements select it.
type row struct {
	id, principal         string
	session               sql.NullString
	tool, status, message string
	result                []byte
	errMsg                string
	created, updated      int64
	ttl, poll             sql.NullInt64
	replica               string
	lease                 int64
	expired, lapsed       bool
}

func (r *row) dest() []any {
	return []any{&r.id, &r.principal, &r.session, &r.tool, &r.status, &r.message, &r.result, &r.errMsg,
		&r.created, &r.updated, &r.ttl, &r.poll, &r.replica, &r.lease, &r.expired, &r.lapsed}
}

// task is the task the row holds. An unfinished task whose lease lapsed
// failed when it lapsed, whether or not a sweep has written it down yet:
// it reads as the sweep writes it.
func (r *row) task() Task {
	if r.lapsed {
		r.status, r.message, r.errMsg, r.updated = string(Failed), LeaseLapsedMessage, LeaseLapsedMessage, r.lease
	}
	return Task{
		ID:            r.id,
		Principal:     r.principal,
		Session:       r.session.String,
		Tool:          r.tool,
		Status:        Status(r.status),
		StatusMessage: r.message,
		Result:        r.result,
		Error:         r.errMsg,
		CreatedAt:     time.UnixMilli(r.created).UTC(),
		UpdatedAt:     time.UnixMilli(r.updated).UTC(),
		TTL:           time.Duration(r.ttl.Int64) * time.Millisecond,
		PollInterval:  time.Duration(r.poll.Int64) * time.Millisecond,
		Replica:       r.replica,
		LeaseUntil:    time.UnixMilli(r.lease).UTC(),
	}
}
