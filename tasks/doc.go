// Package tasks keeps MCP tasks (the tasks utility of 2025-11-25, the
// tasks extension of 2026-07-28) in the store's database, so that any
// replica of a service answers for any task: a task created on one replica
// is polled, listed, awaited and cancelled on another, survives a restart
// of every replica, and is failed, not left working for ever, when the
// replica running it dies.
//
// An SDK such as mcp-go keeps its tasks in one process's memory; the
// adapter that runs tasks (package mcpgo) lets the SDK run a task where the
// request arrived and makes this store the truth every replica answers
// from. A user makes the [Store], gives it to that adapter, and lets a
// janitor sweep it.
//
// # Getting started
//
//	b, err := bus.New(store) // store is a *sqlstore.Store, migrated
//	if err != nil {
//		return err
//	}
//	go b.Run(ctx)
//	ts, err := tasks.New(store, b, tasks.WithReplica(podName))
//	if err != nil {
//		return err
//	}
//	j, err := janitor.New(store, janitor.WithSweeper(ts.Sweep))
//
// # Rules
//
// A task belongs to the principal that created it: another principal's
// task is exactly an unknown one (the adapter answers "task not found").
// A task's ttl counts from its creation; past it, the task is gone and Sweep deletes it. A
// task is leased to the replica running it (WithLease, 30 s); once the
// lease has lapsed, because that replica died, the task has failed, for
// every replica. Every change of a task is announced on the bus, so that a
// client waiting for its result on any replica learns of it at once, and
// reads it again now and then in case an announcement was lost. Times are the database's clock, so replicas whose clocks differ
// agree on them.
package tasks
