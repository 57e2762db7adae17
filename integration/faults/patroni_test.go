package faults_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/mcpsession/mcpsession/dialects/postgres"
	"github.com/mcpsession/mcpsession/integration/internal/pgtest"
	"github.com/mcpsession/mcpsession/internal/testdb"
	"github.com/mcpsession/mcpsession/sqlstore"
)

// A Patroni cluster as users run one: two PostgreSQL nodes managed by
// Patroni, their leader elected in etcd, synchronous_mode on, and HAProxy
// in front, sending connections to whichever node Patroni's REST API calls
// the primary. The store knows one address, HAProxy's.
//
// Patroni with etcd and HAProxy rather than pg_auto_failover: it is what
// most teams run (Zalando's Spilo and postgres-operator, Crunchy's and
// Percona's distributions all package it), it keeps the address users
// connect to fixed, where pg_auto_failover relies on each client's
// multi-host DSN, which TestFailover* already covers, and its leader
// election has no single monitor node to lose.
//
// The leader is killed under load: etcd's leader key expires (Patroni's
// ttl, 20 s, the least it allows), the synchronous standby promotes itself,
// HAProxy's health checks move to it, and the same store writes again.

// patroniTTL and friends are the cluster's Patroni settings: ttl is how
// long a dead leader's key lives in etcd, loop_wait how often each node
// looks, retry_timeout how long it retries etcd and Postgres.
const (
	patroniTTL          = 20
	patroniLoopWait     = 2
	patroniRetryTimeout = 5
)

const patroniConfig = `scope: mcpsession
name: %[1]s
restapi:
  listen: 0.0.0.0:8008
  connect_address: %[1]s:8008
etcd3:
  hosts: etcd:2379
bootstrap:
  dcs:
    ttl: %[3]d
    loop_wait: %[4]d
    retry_timeout: %[5]d
    maximum_lag_on_failover: 1048576
    synchronous_mode: true
    postgresql:
      use_pg_rewind: false
      parameters:
        max_connections: 300
        wal_level: replica
        hot_standby: "on"
        max_wal_senders: 10
        max_replication_slots: 10
  initdb:
    - encoding: UTF8
postgresql:
  listen: 0.0.0.0:5432
  connect_address: %[1]s:5432
  data_dir: /var/lib/postgresql/data/pg
  bin_dir: /usr/lib/postgresql/15/bin
  pgpass: /tmp/pgpass
  authentication:
    superuser:
      username: postgres
      password: %[2]s
    replication:
      username: replicator
      password: %[2]s
  parameters:
    unix_socket_directories: /tmp
  pg_hba:
    - local all all trust
    - host replication replicator all scram-sha-256
    - host all all all scram-sha-256
`

// haproxyConfig is Patroni's documented HAProxy setup: a TCP proxy whose
// health check asks each node's REST API whether it is the primary, and
// which ends the sessions of a node that stops being it.
const haproxyConfig = `global
    maxconn 1000
defaults
    mode tcp
    timeout connect 2s
    timeout client 30m
    timeout server 30m
    timeout check 1s
listen primary
    bind *:5000
    option httpchk GET /primary
    http-check expect status 200
    default-server inter 500ms fall 2 rise 1 on-marked-down shutdown-sessions
    server pg1 pg1:5432 maxconn 300 check port 8008
    server pg2 pg2:5432 maxconn 300 check port 8008
`

type patroniNode struct {
	*pgtest.Node
	name string
}

// isPrimary asks the node's REST API, on its published port, whether it
// is the leader.
func (n patroniNode) is(ctx context.Context, role string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+n.Addr("8008/tcp")+"/"+role, nil)
	if err != nil {
		return false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

func TestPatroniFailover(t *testing.T) {
	pgtest.RequireHAImage(t)
	nw := pgtest.NewNetwork(t)
	password := rand.Text()
	pgtest.StartNode(t, nw, pgtest.NodeSpec{
		Alias: "etcd",
		Cmd: []string{"etcd", "--name=etcd", "--data-dir=/tmp/etcd",
			"--listen-client-urls=http://0.0.0.0:2379", "--advertise-client-urls=http://etcd:2379",
			"--listen-peer-urls=http://0.0.0.0:2380", "--initial-advertise-peer-urls=http://etcd:2380",
			"--initial-cluster=etcd=http://etcd:2380"},
	})
	var nodes []patroniNode
	for _, name := range []string{"pg1", "pg2"} {
		n := pgtest.StartNode(t, nw, pgtest.NodeSpec{
			Alias: name,
			Cmd:   []string{"setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "patroni", "/etc/patroni.yml"},
			Files: map[string]string{
				"/etc/patroni.yml": fmt.Sprintf(patroniConfig, name, password, patroniTTL, patroniLoopWait, patroniRetryTimeout),
			},
			Ports: []string{"8008/tcp"},
		})
		nodes = append(nodes, patroniNode{n, name})
	}
	haproxy := pgtest.StartNode(t, nw, pgtest.NodeSpec{
		Alias: "haproxy",
		Cmd:   []string{"haproxy", "-f", "/etc/haproxy/mcpsession.cfg", "-db"},
		Files: map[string]string{"/etc/haproxy/mcpsession.cfg": haproxyConfig},
		Ports: []string{"5000/tcp"},
	})
	ctx := t.Context()

	// A leader, and the other node its synchronous standby.
	var leader, standby patroniNode
	poll(t, "a Patroni leader and a synchronous standby", 3*time.Minute, func() bool {
		for i, n := range nodes {
			if n.is(ctx, "primary") && nodes[1-i].is(ctx, "sync") {
				leader, standby = n, nodes[1-i]
				return true
			}
		}
		return false
	})
	dsn := "postgres://postgres:" + password + "@" + haproxy.Addr("5000/tcp") + "/postgres?sslmode=disable&connect_timeout=1"
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := testdb.WaitAccepting(wctx, dsn); err != nil {
		t.Fatal(err)
	}
	store, err := sqlstore.Open(ctx, postgres.Dialect(), dsn, sqlstore.WithAutoMigrate())
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	// Calls through HAProxy with no primary behind it fail at once; a
	// worker waits a little before the next, so that the outage of a
	// whole ttl does not spin.
	l := startPacedLoad(store, 20*time.Millisecond)
	defer l.cancel()
	l.await(t, "300 acknowledged Creates", time.Minute, func(l *load) bool { return len(l.acked) >= 300 })
	ackedBefore, _ := l.counts()

	killAt := time.Now()
	if err := leader.Kill(ctx); err != nil {
		t.Fatal(err)
	}
	l.watchFirstOK()
	poll(t, standby.name+" promoted by Patroni", 2*time.Minute, func() bool { return standby.is(ctx, "primary") })
	promotedAt := time.Now()
	l.await(t, fmt.Sprintf("an acknowledged write within %v of the promotion", 2*recoverWithin), 2*recoverWithin,
		func(l *load) bool { return !l.firstWrite.IsZero() })
	firstWrite := max(0, l.firstWriteAt().Sub(promotedAt))
	ackedAtRecovery, _ := l.counts()
	l.await(t, "200 more acknowledged Creates on the new primary", time.Minute,
		func(l *load) bool { return len(l.acked) >= ackedAtRecovery+200 })
	l.stop(t)

	l.checkCalls(t, nil)
	lost := l.verifyAcked(t)
	committed := l.committedFailures(t)
	acked, _ := l.counts()
	l.logExamples(t)
	l.mu.Lock()
	unmatched, example, calls, maxCall, late := l.unmatched, l.unmatchedExample, l.calls, l.maxCall, len(l.late)
	l.mu.Unlock()
	// failover: from the kill to Patroni's REST API calling the standby
	// the primary; first_write: from then to the store's first
	// acknowledged Create through HAProxy; outage: the two together.
	reportFault(t, "patroni-failover: replication=sync(patroni synchronous_mode) ttl=%ds failover=%.2fs first_write_after_promotion=%.3fs outage=%.2fs errors=%s unmatched_errors=%d calls=%d max_call=%.2fs late=%d acked_before_fault=%d acked=%d lost=%d failed_but_committed=%d",
		patroniTTL, promotedAt.Sub(killAt).Seconds(), firstWrite.Seconds(), l.firstWriteAt().Sub(killAt).Seconds(),
		l.errorSummary(), unmatched, calls, maxCall.Seconds(), late, ackedBefore, acked, lost, committed)
	if unmatched > 0 {
		t.Errorf("%d errors match neither ErrUnavailable, ErrReadOnly nor the call's deadline, e.g. %s", unmatched, example)
	}
	if lost > 0 {
		t.Errorf("%d acknowledged sessions lost under Patroni's synchronous mode", lost)
	}
}

// poll waits for cond, which nothing signals, checking it every 100 ms,
// and fails t after timeout.
func poll(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
