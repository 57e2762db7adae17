package main

import (
	"context"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// monitorApp is the application_name of the generator's own connections,
// which the connection count leaves out.
const monitorApp = "loadgen-monitor"

// monitor reads what a run costs the database: the server's CPU time from
// /proc, its WAL position, and the connections the fleet holds.
type monitor struct {
	target  *pgTarget
	bouncer *bouncer
	db      string // the fleet's database

	mu   sync.Mutex // conn is not safe for concurrent use
	conn *pgx.Conn
}

func newMonitor(ctx context.Context, target *pgTarget, b *bouncer, db string) (*monitor, error) {
	conn, err := pgx.Connect(ctx, target.dsn(db, map[string]string{"application_name": monitorApp}))
	if err != nil {
		return nil, err
	}
	return &monitor{target: target, bouncer: b, db: db, conn: conn}, nil
}

func (m *monitor) close() {
	m.mu.Lock()
	defer m.mu.Unlock()
	_ = m.conn.Close(context.Background())
}

// costSnapshot is the counters at one moment.
type costSnapshot struct {
	at                          time.Time
	pg, replicas, pooler, self  time.Duration
	pgKnown, poolerKnown, walOK bool
	wal                         int64 // bytes since the WAL's start
}

func (m *monitor) snapshot(ctx context.Context, f *fleet) costSnapshot {
	s := costSnapshot{at: time.Now()}
	s.pg, s.pgKnown = m.target.cpu()
	if f != nil {
		s.replicas, _ = f.cpu()
	}
	if m.bouncer != nil {
		s.pooler, s.poolerKnown = m.bouncer.cpu()
	}
	s.self, _ = processCPU(selfPID)
	m.mu.Lock()
	defer m.mu.Unlock()
	err := m.conn.QueryRow(ctx, `SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint`).Scan(&s.wal)
	s.walOK = err == nil
	return s
}

// connections is the number of client connections to the fleet's database,
// the generator's own left out.
func (m *monitor) connections(ctx context.Context) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var n int
	err := m.conn.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
WHERE backend_type = 'client backend' AND datname = $1 AND application_name <> $2`, m.db, monitorApp).Scan(&n)
	return n, err
}

// costs is what a window cost, in total.
type costs struct {
	Window                                time.Duration
	PGCPU, ReplicaCPU, PoolerCPU, SelfCPU time.Duration
	PGKnown, PoolerKnown, WALKnown        bool
	WALBytes                              int64
	MaxConns                              int
	MeanConns                             float64
}

func diffCosts(a, b costSnapshot) costs {
	return costs{
		Window: b.at.Sub(a.at),
		PGCPU:  b.pg - a.pg, ReplicaCPU: b.replicas - a.replicas, PoolerCPU: b.pooler - a.pooler, SelfCPU: b.self - a.self,
		PGKnown: a.pgKnown && b.pgKnown, PoolerKnown: a.poolerKnown && b.poolerKnown, WALKnown: a.walOK && b.walOK,
		WALBytes: b.wal - a.wal,
	}
}

// connSampler samples the connection count every interval until stopped.
type connSampler struct {
	stop chan struct{}
	done chan struct{}
	max  int
	sum  float64
	n    int
}

func (m *monitor) sampleConnections(ctx context.Context, every time.Duration) *connSampler {
	s := &connSampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			if n, err := m.connections(ctx); err == nil {
				s.max = max(s.max, n)
				s.sum += float64(n)
				s.n++
			}
			select {
			case <-s.stop:
				return
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return s
}

// finish stops the sampler and returns the largest and the mean count.
func (s *connSampler) finish() (int, float64) {
	close(s.stop)
	<-s.done
	if s.n == 0 {
		return 0, 0
	}
	return s.max, s.sum / float64(s.n)
}
