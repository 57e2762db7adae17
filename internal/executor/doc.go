// Package executor runs this module's SQL on one store's database, with
// the store's discipline, for every package that keeps tables there: sqlstore
// (sessions, handles, the cleanup lease), bus and eventstore. It is river's
// driver executor: the statements come from the driver (internal/driver),
// and what the executor adds is stated once here rather than in each
// package:
//
//   - the turn for writes: on a driver that serialises writes (SQLite), one
//     write statement or transaction at a time in the process, queued in
//     order and honouring each caller's context;
//   - the statement cache: prepared once per store where the driver asks
//     for it (SQLite), run by their text elsewhere;
//   - the errors: wrapped with the operation, matching ctx.Err() once the
//     caller's context has ended, mcpsession.ErrUnavailable or
//     mcpsession.ErrReadOnly when the driver says the database error means
//     that;
//   - the refusal of every call made from inside a Modify function
//     (mcpsession.ErrCallInModify), and of every write of a store opened
//     read-only.
//
// A *sqlstore.Store has one Executor; packages bus and eventstore, which
// take the store, reach it with [Of].
package executor
