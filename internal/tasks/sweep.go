package tasks

import (
	"context"
	"database/sql"
)

// RenewLeases extends, to WithLease from now, the lease of every
// unfinished, live task of this replica (WithReplica) whose lease has not
// lapsed, in one statement, and returns their ids. A replica calls it more
// often than its lease lasts (every third of it, say) for as long as it
// runs tasks. A task it runs but whose id is not returned is finished or
// gone (cancelled elsewhere, expired, or failed because its lease lapsed
// while this replica could not renew it), and its work can stop: a
// lapsed lease is lost for good.
func (s *Store) RenewLeases(ctx context.Context) ([]string, error) {
	var ids []string
	err := s.writeRows(ctx, "tasks: renew leases", s.q.Renew,
		[]any{s.cfg.replica, s.cfg.lease.Milliseconds(), s.now()}, func(rows *sql.Rows) error {
			var id string
			err := rows.Scan(&id)
			ids = append(ids, id)
			return err
		})
	if err != nil {
		return nil, err
	}
	return ids, nil
}

// Sweep deletes the tasks past their ttl, and writes down as failed, with
// the status message LeaseLapsedMessage and updated at the end of their
// lease, the unfinished tasks whose lease lapsed (the replica running them
// stopped, or lost the database for longer than the lease), as reads
// already show them. It returns how many tasks it deleted and failed
// together, and announces each change on the bus, so that waiters
// return.
//
// It works in batches (WithSweepBatchSize), each its own statement, until
// a batch comes back short. Several replicas may sweep at once: on
// Postgres each skips the rows another is changing, and on SQLite writes
// take turns. If ctx ends or a batch fails, Sweep returns what it did so
// far with the error. A janitor runs it (janitor.WithSweeper).
func (s *Store) Sweep(ctx context.Context) (int64, error) {
	var total int64
	for {
		var ids, statuses []string
		err := s.writeRows(ctx, "tasks: delete expired", s.q.DeleteExpired,
			[]any{s.cfg.sweepBatch, s.now()}, func(rows *sql.Rows) error {
				var id, status string
				err := rows.Scan(&id, &status)
				ids, statuses = append(ids, id), append(statuses, status)
				return err
			})
		if err != nil {
			return total, err
		}
		total += int64(len(ids))
		for i, id := range ids {
			if !Status(statuses[i]).Terminal() {
				s.announce(ctx, id, "")
			}
		}
		if len(ids) < s.cfg.sweepBatch {
			break
		}
	}
	for {
		var ids []string
		err := s.writeRows(ctx, "tasks: fail lapsed leases", s.q.FailLapsed,
			[]any{LeaseLapsedMessage, s.cfg.sweepBatch, s.now()}, func(rows *sql.Rows) error {
				var id string
				err := rows.Scan(&id)
				ids = append(ids, id)
				return err
			})
		if err != nil {
			return total, err
		}
		total += int64(len(ids))
		for _, id := range ids {
			s.announce(ctx, id, Failed)
		}
		if len(ids) < s.cfg.sweepBatch {
			return total, nil
		}
	}
}

// writeRows runs a write statement that selects rows (… RETURNING), in
// the turn for writes, calling scan for each row; what scan gathered
// counts only if writeRows returns nil, the statement then committed. A
// transaction of its own: the executor's single-row writes cannot return
// several rows.
func (s *Store) writeRows(ctx context.Context, op, query string, args []any, scan func(*sql.Rows) error) error {
	return s.x.WriteTx(ctx, op, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, query, args...)
		if err != nil {
			return s.x.Wrap(ctx, op, err)
		}
		defer rows.Close()
		for rows.Next() {
			if err := scan(rows); err != nil {
				return s.x.Wrap(ctx, op, err)
			}
		}
		return s.x.Wrap(ctx, op, rows.Err())
	})
}
