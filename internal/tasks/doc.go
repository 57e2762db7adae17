// Package tasks is the implementation behind package tasks: MCP tasks
// kept in the store's database, so that any replica answers for any task
// (see package tasks for the rules). The SDK adapter that runs tasks
// creates, polls, lists, awaits, completes and cancels them here; the
// user only makes the Store (package tasks's New), which is this package's
// Store under its public name, and lets a janitor sweep it.
//
// # Rules
//
//   - A task's id is minted by Create: 130 random bits from crypto/rand, a
//     valid MCP id. Create returns once the task is committed, so that a
//     CreateTaskResult is sent only for a task every replica can find.
//   - A task belongs to the principal that created it. Every call names
//     the principal it acts for, and another principal's task is exactly an
//     unknown one (ErrTaskNotFound, which matches mcpsession.ErrNotFound):
//     it sees nothing and changes nothing.
//   - A task is working or input_required until it is completed (with a
//     result), failed (with an error) or cancelled; those three are
//     terminal and never change again. A change a terminal task refuses is
//     ErrTerminal, and changes nothing. Each change is one statement, so of
//     two replicas that end one task at once, exactly one wins.
//   - A task's ttl counts from its creation, as the extension defines it;
//     past it, the task is gone (ErrTaskExpired) and Sweep deletes it.
//   - A task is leased to the replica that created it (WithLease, 30 s),
//     which renews the lease with RenewLeases while it runs the task. An
//     unfinished task whose lease lapsed has failed, with
//     LeaseLapsedMessage, from that instant: every read says so, no call
//     changes it or renews its lease any more (its replica, if it is alive
//     after all, finds it gone from RenewLeases), and Sweep writes it down
//     as such.
//   - List pages a principal's tasks as mcp-go does: in the order of their
//     ids, with cursors that are keys, not offsets, so that paging while
//     tasks are created never shows a task twice nor skips one that was
//     there.
//
// # Waiting
//
// Every change of a task is announced on the bus under a topic of its
// own, after it commits. Wait, for tasks/result, reads the task, and reads
// it again when an announcement says it has finished: on Postgres a NOTIFY
// wakes the bus within a round trip or two of the commit, on SQLite its
// poll (100 ms by default) finds the message. A backstop re-read
// (WithBackstop, 30 s) covers an announcement lost with the replica that
// was to make it, and a task failed by the lapse of its lease before a
// sweep announced it. Watch gives the same announcements to the replica
// running a task, so that it learns when a client cancelled the task on
// another replica.
//
// Times (created, updated, lease, expiry) are the database's clock, so
// replicas whose clocks differ agree on them.
package tasks
