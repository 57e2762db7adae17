package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// pgTarget is the Postgres server the fleet works against: one the
// generator started (native binaries, a temporary cluster), or the one of
// -dsn.
type pgTarget struct {
	admin *url.URL // the server's DSN, database postgres
	// pid is the postmaster's, for its CPU time; 0 when unknown (a server
	// of -dsn, which may be in another PID namespace).
	pid     int
	version string
	// settings is what the report says of the server's configuration.
	settings string
	source   string
	cred     *syscall.Credential // whom the server and PgBouncer run as
	dir      string              // the cluster's directory, when the generator made it
	cmd      *exec.Cmd
	done     chan struct{} // closed when the server the generator started exited
}

// pgOptions configure a server the generator starts.
type pgOptions struct {
	bin      string   // directory of initdb and postgres
	settings []string // key=value, after the defaults
	workDir  string
}

// pgDefaults are the server's settings unless -pg-set says otherwise: a
// production-like durable server (fsync and synchronous_commit on), with
// room for a fleet's pools and a table of 10^7 sessions.
var pgDefaults = []string{
	"max_connections=300",
	"shared_buffers=1GB",
	"fsync=on",
	"synchronous_commit=on",
	"max_wal_size=4GB",
	"checkpoint_timeout=15min",
	"track_io_timing=on",
}

// runAs is the user to run Postgres and PgBouncer as: they refuse root,
// so as root the postgres account (Debian's packages make it), else the
// current user.
func runAs() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root, and Postgres refuses root: %w (install Debian's postgresql package, or run as another user)", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

func chownTo(path string, cred *syscall.Credential) error {
	if cred == nil {
		return nil
	}
	return os.Chown(path, int(cred.Uid), int(cred.Gid))
}

// freePort asks the kernel for a free loopback port.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// serverNice is the niceness the servers under test run at (-server-nice):
// on a machine whose cores they share with the generator, the generator's
// timeline comes first, so that its sends leave on time; it takes little
// CPU, and the servers get the rest.
var serverNice = 10

// niced runs name at serverNice.
func niced(name string, args ...string) *exec.Cmd {
	if serverNice <= 0 {
		return exec.Command(name, args...)
	}
	return exec.Command("nice", append([]string{"-n", strconv.Itoa(serverNice), name}, args...)...)
}

// command runs a server program as cred, niced, its output into log.
func command(cred *syscall.Credential, log *os.File, name string, args ...string) *exec.Cmd {
	cmd := niced(name, args...)
	cmd.Stdout, cmd.Stderr = log, log
	// Pdeathsig: a generator that dies takes its servers with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGKILL, Setpgid: true}
	return cmd
}

// startPostgres makes a cluster in a temporary directory and starts it on
// a free loopback port.
func startPostgres(ctx context.Context, o pgOptions) (*pgTarget, error) {
	cred, err := runAs()
	if err != nil {
		return nil, err
	}
	for _, b := range []string{"initdb", "postgres"} {
		if _, err := os.Stat(filepath.Join(o.bin, b)); err != nil {
			return nil, fmt.Errorf("no %s in -pg-bin %s: %w", b, o.bin, err)
		}
	}
	dir, err := os.MkdirTemp(o.workDir, "postgres-")
	if err != nil {
		return nil, err
	}
	if err := chownTo(dir, cred); err != nil {
		return nil, err
	}
	log, err := os.Create(filepath.Join(dir, "postgres.log"))
	if err != nil {
		return nil, err
	}
	_ = chownTo(log.Name(), cred)
	data := filepath.Join(dir, "data")
	initdb := command(cred, log, filepath.Join(o.bin, "initdb"), "-D", data, "-U", "postgres", "--auth=trust",
		"-E", "UTF8", "--locale=C", "--no-sync")
	if err := initdb.Run(); err != nil {
		return nil, fmt.Errorf("initdb (log in %s): %w", log.Name(), err)
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	settings := append([]string{
		"listen_addresses=127.0.0.1",
		"port=" + strconv.Itoa(port),
		"unix_socket_directories=" + dir,
	}, append(pgDefaults, o.settings...)...)
	args := []string{"-D", data}
	for _, s := range settings {
		args = append(args, "-c", s)
	}
	cmd := command(cred, log, filepath.Join(o.bin, "postgres"), args...)
	cmd.SysProcAttr.Pdeathsig = syscall.SIGQUIT // immediate shutdown of the whole server
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	admin, _ := url.Parse(fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port))
	t := &pgTarget{admin: admin, pid: cmd.Process.Pid, cred: cred, dir: dir, cmd: cmd, done: make(chan struct{}),
		source: fmt.Sprintf("started by loadgen from %s", o.bin)}
	go func() {
		_ = cmd.Wait()
		close(t.done)
	}()
	deadline := time.Now().Add(60 * time.Second)
	for {
		conn, err := pgx.Connect(ctx, admin.String())
		if err == nil {
			_ = conn.Close(ctx)
			break
		}
		select {
		case <-t.done:
			return nil, fmt.Errorf("postgres exited (log in %s)", log.Name())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.stop()
			return nil, fmt.Errorf("postgres did not answer within a minute (log in %s)", log.Name())
		}
	}
	if err := t.describe(ctx); err != nil {
		t.stop()
		return nil, err
	}
	return t, nil
}

// externalPostgres is the server of -dsn: the generator creates and drops
// databases there and cannot read its CPU time.
func externalPostgres(ctx context.Context, dsn string) (*pgTarget, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return nil, errors.New("-dsn: not a postgres:// URL")
	}
	if u.Scheme != "postgres" && u.Scheme != "postgresql" {
		return nil, errors.New("-dsn: not a postgres:// URL")
	}
	admin := *u
	admin.Path = "/postgres"
	t := &pgTarget{admin: &admin, source: "the server of -dsn (its CPU time not measured)"}
	return t, t.describe(ctx)
}

func (t *pgTarget) describe(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, t.admin.String())
	if err != nil {
		return fmt.Errorf("connect to postgres: %w", err)
	}
	defer conn.Close(ctx)
	if err := conn.QueryRow(ctx, `SELECT version()`).Scan(&t.version); err != nil {
		return err
	}
	if v, _, ok := strings.Cut(t.version, " on "); ok {
		t.version = v
	}
	var parts []string
	for _, name := range []string{"fsync", "synchronous_commit", "shared_buffers", "max_connections", "max_wal_size"} {
		var v string
		if err := conn.QueryRow(ctx, `SELECT current_setting($1)`, name).Scan(&v); err == nil {
			parts = append(parts, name+"="+v)
		}
	}
	t.settings = strings.Join(parts, ", ")
	return nil
}

// dsn is the DSN of database db on this server, with pgx parameters.
func (t *pgTarget) dsn(db string, params map[string]string) string {
	u := *t.admin
	u.Path = "/" + db
	q := u.Query()
	for k, v := range params {
		q.Set(k, v)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// createDatabase makes a fresh database named name (dropping any of that
// name), with pgstattuple in it.
func (t *pgTarget) createDatabase(ctx context.Context, name string) error {
	conn, err := pgx.Connect(ctx, t.admin.String())
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	ident := pgx.Identifier{name}.Sanitize()
	if _, err := conn.Exec(ctx, `DROP DATABASE IF EXISTS `+ident+` WITH (FORCE)`); err != nil {
		return fmt.Errorf("drop database %s: %w", name, err)
	}
	if _, err := conn.Exec(ctx, `CREATE DATABASE `+ident+` ENCODING 'UTF8' TEMPLATE template0`); err != nil {
		return fmt.Errorf("create database %s: %w", name, err)
	}
	db, err := pgx.Connect(ctx, t.dsn(name, nil))
	if err != nil {
		return err
	}
	defer db.Close(ctx)
	if _, err := db.Exec(ctx, `CREATE EXTENSION IF NOT EXISTS pgstattuple`); err != nil {
		return fmt.Errorf("create extension pgstattuple (Postgres's contrib package): %w", err)
	}
	return nil
}

func (t *pgTarget) dropDatabase(ctx context.Context, name string) error {
	conn, err := pgx.Connect(ctx, t.admin.String())
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, `DROP DATABASE IF EXISTS `+pgx.Identifier{name}.Sanitize()+` WITH (FORCE)`)
	return err
}

// cpu is the server's CPU time so far, or false when it cannot be read.
func (t *pgTarget) cpu() (time.Duration, bool) {
	if t.pid == 0 {
		return 0, false
	}
	d, err := treeCPU(t.pid)
	return d, err == nil
}

// stop shuts a server the generator started down (fast: its clients are
// gone); its directory stays in the work directory.
func (t *pgTarget) stop() {
	if t.cmd == nil {
		return
	}
	_ = t.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-t.done:
	case <-time.After(30 * time.Second):
		_ = syscall.Kill(-t.cmd.Process.Pid, syscall.SIGKILL) // its process group: the backends too
		<-t.done
	}
	t.cmd = nil
}
