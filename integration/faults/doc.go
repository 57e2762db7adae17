// Package faults breaks the database under a running store and measures
// what the store does about it:
//
//   - Postgres stopped and started (docker stop/start), and paused
//     (docker pause/unpause), while eight goroutines create and read
//     sessions through one Store: every call must return by its context
//     deadline plus a little slack, the same Store must work again within
//     a few seconds of the server coming back, without being reopened,
//     every Create it acknowledged must still be there, and no goroutine
//     may outlive the Store.
//   - Failover (TestFailover*): a primary and a streaming standby on a
//     private network, the store on a multi-host DSN
//     (target_session_attrs=read-write, connect_timeout=1), the primary
//     killed (or frozen with docker pause) under load and the standby
//     promoted. With synchronous replication no acknowledged write may be
//     lost; with asynchronous replication the loss is measured. Every
//     error must match mcpsession.ErrUnavailable, ErrReadOnly or the
//     call's deadline, no call may overrun it, and the same Store must
//     write again on the new primary.
//   - A Patroni cluster (TestPatroniFailover): etcd, two Patroni nodes in
//     synchronous_mode and HAProxy in front; the leader is killed, Patroni
//     promotes the standby, and the same assertions hold through
//     HAProxy's one address.
//   - SQLite: a child process creating sessions in a loop is killed with
//     SIGKILL, again and again; the file must pass PRAGMA integrity_check
//     and hold every Create the child acknowledged.
//   - SQLite, fresh file (TestSQLiteFreshFileManyProcessesSoak): ten
//     processes started at once on a file that does not exist yet all
//     open, migrate and write, ten rounds over; sqlstore's unit test runs
//     two.
//
// Each Postgres test starts a container of its own (the test kit's
// PostgresServer, with a fixed host port, so the DSN outlives a restart), or
// nodes of the production-Postgres image (pgtest.HAImage, built by `make
// ha-image`) on a network of its own, so they need Docker even when
// MCPSESSION_TEST_POSTGRES_DSN is set. They run
// one at a time, so that the goroutine count of one is not disturbed by
// another.
//
// Each test logs one line that starts with FAULT, with what it measured:
//
//	go test -v -run . ./faults | grep FAULT
//
// and, when MCPSESSION_FAULT_REPORT names a file, appends it there: make
// test prints that file.
//
// It has tests only.
package faults
