package pgtest

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/mcpsession/mcpsession/internal/testdb"
)

// The user and database of every server node; the password is the node's.
const (
	nodeUser     = "mcpsession"
	nodeDatabase = "mcpsession"
)

// PGNode is a PostgreSQL server node: a primary, or a streaming standby of
// one.
type PGNode struct {
	*Node
	password string
}

// Server settings every server node runs with, beside the caller's:
// replication on, and room for the connections of several stores.
var nodeSettings = []string{
	"-c", "max_connections=300",
	"-c", "wal_level=replica",
	"-c", "max_wal_senders=10",
	"-c", "max_replication_slots=10",
	"-c", "hot_standby=on",
	"-c", "wal_sender_timeout=5s",
	"-c", "wal_receiver_timeout=5s",
}

// allowReplication lets the standbys' walreceivers in, with the same
// password as everyone else.
const allowReplication = `#!/bin/bash
printf 'host replication all all scram-sha-256\n' >>"$PGDATA/pg_hba.conf"
`

// StartPrimary starts a server node, with settings (each "name=value")
// added to its command line, and returns once it accepts connections.
func StartPrimary(t testing.TB, nw *Network, alias string, settings ...string) *PGNode {
	t.Helper()
	password := rand.Text()
	cmd := append([]string{"postgres"}, nodeSettings...)
	for _, s := range settings {
		cmd = append(cmd, "-c", s)
	}
	p := &PGNode{password: password, Node: StartNode(t, nw, NodeSpec{
		Alias: alias,
		Cmd:   cmd,
		Env: map[string]string{
			"POSTGRES_USER": nodeUser, "POSTGRES_PASSWORD": password, "POSTGRES_DB": nodeDatabase,
		},
		Files: map[string]string{"/docker-entrypoint-initdb.d/replication.sh": allowReplication},
		Ports: []string{"5432/tcp"},
	})}
	p.waitReady(t)
	return p
}

// standbyScript clones the primary with pg_basebackup (as the postgres
// user, into an empty PGDATA) with a replication slot named after the
// standby, and runs the server as a hot standby of it. The standby's
// cluster_name is its application_name on the primary, for
// synchronous_standby_names.
const standbyScript = `#!/bin/bash
set -euo pipefail
primary="$1" name="$2"
shift 2
mkdir -p "$PGDATA" && chown postgres: "$PGDATA" && chmod 700 "$PGDATA"
exec setpriv --reuid=postgres --regid=postgres --init-groups bash -c '
set -euo pipefail
until pg_basebackup -h "$0" -U "$POSTGRES_USER" -D "$PGDATA" -R -X stream -C -S "$1" --checkpoint=fast; do
	rm -rf "${PGDATA:?}"/*
	sleep 0.5
done
exec postgres -c cluster_name="$1" "${@:2}"
' "$primary" "$name" "$@"
`

// StartStandby starts a hot standby of primary, streaming from it, and
// returns once it accepts connections.
func StartStandby(t testing.TB, nw *Network, alias string, primary *PGNode, settings ...string) *PGNode {
	t.Helper()
	cmd := append([]string{"/usr/local/bin/standby.sh", primary.Alias, alias}, nodeSettings...)
	for _, s := range settings {
		cmd = append(cmd, "-c", s)
	}
	s := &PGNode{password: primary.password, Node: StartNode(t, nw, NodeSpec{
		Alias: alias,
		Cmd:   cmd,
		Env: map[string]string{
			"POSTGRES_USER": nodeUser, "PGPASSWORD": primary.password, "PGDATA": "/var/lib/postgresql/data",
		},
		Files: map[string]string{"/usr/local/bin/standby.sh": standbyScript},
		Ports: []string{"5432/tcp"},
	})}
	s.waitReady(t)
	return s
}

// DSN returns the node's DSN on its published port, its database, with
// params (k=v&k=v) added. It holds the password: show it only through
// dialects.Redact.
func (p *PGNode) DSN(params string) string { return p.DatabaseDSN(nodeDatabase, params) }

// DatabaseDSN is DSN for another database of the node, such as one
// CreateDatabase made.
func (p *PGNode) DatabaseDSN(database, params string) string {
	return nodeDSN(p.password, []string{p.Addr("5432/tcp")}, database, params)
}

// HostPort is the node's published address, as host:port, for a
// multi-host DSN.
func (p *PGNode) HostPort() string { return p.Addr("5432/tcp") }

// MultiHostDSN is a DSN over the published addresses of nodes, in that
// order, with params added: what a store on a primary and its standbys
// uses.
func MultiHostDSN(params string, nodes ...*PGNode) string {
	hosts := make([]string, len(nodes))
	for i, n := range nodes {
		hosts[i] = n.HostPort()
	}
	return nodeDSN(nodes[0].password, hosts, nodeDatabase, params)
}

func nodeDSN(password string, hosts []string, database, params string) string {
	u := url.URL{
		Scheme: "postgres", User: url.UserPassword(nodeUser, password),
		Host: strings.Join(hosts, ","), Path: "/" + database,
	}
	q := "sslmode=disable"
	if params != "" {
		q += "&" + params
	}
	return u.String() + "?" + q
}

func (p *PGNode) waitReady(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := testdb.WaitAccepting(ctx, p.DSN("")); err != nil {
		t.Fatalf("%s: %v; logs: %s", p.Alias, err, p.LogsTail(t))
	}
}

// Query runs one statement on the node over its published port and
// returns the first column of its first row as text ("" without rows).
func (p *PGNode) Query(ctx context.Context, query string, args ...any) (string, error) {
	conn, err := pgx.Connect(ctx, p.DSN(""))
	if err != nil {
		return "", err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var out *string
	err = conn.QueryRow(ctx, query, args...).Scan(&out)
	if err == pgx.ErrNoRows {
		return "", nil
	}
	if err != nil || out == nil {
		return "", err
	}
	return *out, nil
}

// WaitStreaming waits until primary has n standbys streaming to it, all
// of them synchronous when sync is set.
func (p *PGNode) WaitStreaming(ctx context.Context, n int, sync bool) error {
	q := `SELECT count(*)::text FROM pg_stat_replication WHERE state = 'streaming'`
	if sync {
		q += ` AND sync_state IN ('sync', 'quorum')`
	}
	for {
		got, err := p.Query(ctx, q)
		if err == nil && got == strconv.Itoa(n) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %s of %d standbys streaming (sync %v): %v", p.Alias, got, n, sync, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Promote makes a standby the primary (pg_promote, waiting for it to
// finish).
func (p *PGNode) Promote(ctx context.Context) error {
	out, err := p.Exec(ctx, "postgres", "psql", "-X", "-A", "-t", "-U", nodeUser, "-d", nodeDatabase,
		"-c", "SELECT pg_promote(true, 60)")
	if err != nil {
		return err
	}
	if strings.TrimSpace(out) != "t" {
		return fmt.Errorf("pgtest: pg_promote on %s returned %q", p.Alias, out)
	}
	return nil
}

// CreateDatabase creates a new database on the node, dropped (its
// connections ended) when t ends, and returns its name.
func (p *PGNode) CreateDatabase(t testing.TB) string {
	t.Helper()
	name := "t_" + strings.ToLower(rand.Text())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := p.Query(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create database on %s: %v", p.Alias, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := p.Query(ctx, "DROP DATABASE "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop database on %s: %v", p.Alias, err)
		}
	})
	return name
}

// Bouncer is a PgBouncer node in front of a server node.
type Bouncer struct {
	*Node
	backend *PGNode
}

// bouncerConfig routes every database name to the same database on the
// backend, authenticating clients with SCRAM against a userlist that holds
// the one user's password, which PgBouncer then uses to log in to the
// server: the setup of PgBouncer's documentation for a single application
// user.
const bouncerConfig = `[databases]
* = host=%s port=5432

[pgbouncer]
listen_addr = 0.0.0.0
listen_port = 6432
unix_socket_dir =
auth_type = scram-sha-256
auth_file = /etc/pgbouncer/userlist.txt
pool_mode = %s
default_pool_size = %d
max_client_conn = 2000
max_db_connections = 0
server_login_retry = 1
log_connections = 0
log_disconnections = 0
`

// StartBouncer starts PgBouncer on nw in front of backend, in pool mode
// (session, transaction or statement) with poolSize server connections per
// database, and returns once it passes a connection through.
func StartBouncer(t testing.TB, nw *Network, alias string, backend *PGNode, mode string, poolSize int) *Bouncer {
	t.Helper()
	b := &Bouncer{backend: backend, Node: StartNode(t, nw, NodeSpec{
		Alias: alias,
		Cmd: []string{"setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups",
			"pgbouncer", "/etc/pgbouncer/mcpsession.ini"},
		Files: map[string]string{
			"/etc/pgbouncer/mcpsession.ini": fmt.Sprintf(bouncerConfig, backend.Alias, mode, poolSize),
			"/etc/pgbouncer/userlist.txt":   fmt.Sprintf("%q %q\n", nodeUser, backend.password),
		},
		Ports: []string{"6432/tcp"},
	})}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := testdb.WaitAccepting(ctx, b.DSN(nodeDatabase, "")); err != nil {
		t.Fatalf("%s: %v; logs: %s", alias, err, b.LogsTail(t))
	}
	return b
}

// DSN returns the DSN of database through the bouncer, with params added.
func (b *Bouncer) DSN(database, params string) string {
	return nodeDSN(b.backend.password, []string{b.Addr("6432/tcp")}, database, params)
}
