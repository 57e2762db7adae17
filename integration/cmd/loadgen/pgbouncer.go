package main

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// bouncer is PgBouncer in transaction mode in front of the target, as
// docs/production.md's "Production Postgres" runs it: every database name passes to
// the same database on the server. The replicas reach it with
// default_query_exec_mode=exec, which also tells the store it is pooled
// (its bus polls, its cache reads through).
type bouncer struct {
	port int
	cmd  *exec.Cmd
	done chan struct{}
}

// bouncerIni: one pool per database, poolSize server connections each.
const bouncerIni = `[databases]
* = host=%s port=%s user=%s %s

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = %d
unix_socket_dir =
auth_type = any
pool_mode = transaction
default_pool_size = %d
max_client_conn = 5000
max_db_connections = 0
server_login_retry = 1
log_connections = 0
log_disconnections = 0
logfile = %s
`

func startBouncer(ctx context.Context, target *pgTarget, poolSize int, workDir string) (*bouncer, error) {
	bin, err := exec.LookPath("pgbouncer")
	if err != nil {
		return nil, fmt.Errorf("pgbouncer is not installed (Debian: apt-get install pgbouncer): %w", err)
	}
	dir, err := os.MkdirTemp(workDir, "pgbouncer-")
	if err != nil {
		return nil, err
	}
	if err := chownTo(dir, target.cred); err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	password := ""
	if p, ok := target.admin.User.Password(); ok {
		password = "password=" + p
	}
	ini := filepath.Join(dir, "pgbouncer.ini")
	logPath := filepath.Join(dir, "pgbouncer.log")
	conf := fmt.Sprintf(bouncerIni, target.admin.Hostname(), portOf(target.admin), target.admin.User.Username(), password,
		port, poolSize, logPath)
	if err := os.WriteFile(ini, []byte(conf), 0o600); err != nil {
		return nil, err
	}
	if err := chownTo(ini, target.cred); err != nil {
		return nil, err
	}
	out, err := os.Create(filepath.Join(dir, "stderr.log"))
	if err != nil {
		return nil, err
	}
	cmd := command(target.cred, out, bin, ini)
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	b := &bouncer{port: port, cmd: cmd, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(b.done)
	}()
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), time.Second)
		if err == nil {
			c.Close()
			return b, nil
		}
		select {
		case <-b.done:
			return nil, fmt.Errorf("pgbouncer exited (logs in %s)", dir)
		case <-ctx.Done():
			b.stop()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			b.stop()
			return nil, fmt.Errorf("pgbouncer did not listen within 30s (logs in %s)", dir)
		}
	}
}

// dsn is database db through PgBouncer, as the store needs it there.
func (b *bouncer) dsn(target *pgTarget, db string) string {
	u := *target.admin
	u.Host = net.JoinHostPort("127.0.0.1", strconv.Itoa(b.port))
	u.Path = "/" + db
	q := url.Values{"sslmode": {"disable"}, "default_query_exec_mode": {"exec"}}
	u.RawQuery = q.Encode()
	return u.String()
}

func (b *bouncer) cpu() (time.Duration, bool) {
	d, err := processCPU(b.cmd.Process.Pid)
	return d, err == nil
}

func (b *bouncer) stop() {
	_ = b.cmd.Process.Signal(syscall.SIGTERM) // immediate: SIGINT waits for the clients
	select {
	case <-b.done:
	case <-time.After(10 * time.Second):
		_ = b.cmd.Process.Kill()
		<-b.done
	}
}

func portOf(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	return "5432"
}
