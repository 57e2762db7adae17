package testdb

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"
)

// Runtime starts the tests' containers. The test kit (mcpsessiontest)
// registers the one implementation with SetDocker when it is linked in: of
// the project's modules it alone depends on Docker's client libraries, so
// the library's own tests never start a container, and the integration
// suite starts every container through the kit's code.
type Runtime interface {
	// Image returns the image Postgres containers start from, or an error
	// saying in one line why there is none here (no engine, no image).
	Image() (string, error)

	// SharedPostgres returns the superuser DSN of the server the test
	// binary's tests share, started on the first call.
	SharedPostgres() (string, error)

	// HasImage returns nil when the engine holds image, or an error saying
	// in one line why it cannot be used (no engine, or not there).
	HasImage(ctx context.Context, image string) error

	// Start starts a container and returns once it runs (not once what it
	// runs is ready: the caller waits for that). The process's TestMain
	// (mcpsessiontest.Main) terminates whatever is left at the end and on
	// interrupt.
	Start(ctx context.Context, spec ContainerSpec) (Container, error)

	// NewNetwork creates a private network for containers to meet on.
	NewNetwork(ctx context.Context) (Network, error)

	// StartPostgres starts a Postgres server in a container and returns
	// once it accepts connections. The caller terminates it (TerminateAll
	// and Main terminate what is left).
	StartPostgres(ctx context.Context, o ServerOptions) (Server, error)

	// PostgresServer starts a server that t owns, terminated when t ends:
	// for tests that stop, pause or restart their database. Without an
	// engine or an image it skips t (or fails it as SkipOrFail does).
	PostgresServer(t testing.TB, o ServerOptions) Server

	// Notes says what the runtime changed in the environment to work here
	// (Ryuk off, ports on localhost), "" when nothing.
	Notes() string

	// TerminateAll terminates every container the process started that is
	// not terminated yet.
	TerminateAll(ctx context.Context) error
}

// ServerOptions configure a Postgres server a Runtime starts.
type ServerOptions struct {
	// FixedHostPort publishes the server on a host port chosen free at
	// start and kept across Stop and Start, so that its DSN stays good.
	FixedHostPort bool
	// DurableWrites keeps fsync on (containers run with fsync=off).
	DurableWrites bool
}

// Server is a Postgres server in a container. Its methods are safe for
// concurrent use; Stop, Start, Pause and Unpause are meant for one test at
// a time.
type Server interface {
	// DSN is the superuser's DSN, password included: never print it.
	DSN() string
	Image() string
	HostPort() int
	// WaitReady polls with new connections until one succeeds, or fails
	// after timeout.
	WaitReady(ctx context.Context, timeout time.Duration) error
	// Stop is `docker stop` (a fast shutdown); the data stays.
	Stop(ctx context.Context) error
	// Start starts a stopped server; WaitReady waits until it accepts.
	Start(ctx context.Context) error
	// Pause freezes it (`docker pause`): connections stay open, nothing
	// answers.
	Pause(ctx context.Context) error
	Unpause(ctx context.Context) error
	// Terminate removes it and its data; again returns the first result.
	Terminate(ctx context.Context) error
}

// ContainerSpec describes a container to start.
type ContainerSpec struct {
	Image string
	// Cmd is what the image's entrypoint runs.
	Cmd []string
	Env map[string]string
	// Files are written into the container before it starts, mode 0755.
	Files map[string]string
	// Ports are the container's ports to publish, e.g. "5432/tcp".
	Ports []string
	// FixedPorts publishes each port on a host port found free at start
	// and kept across Stop and Start; otherwise Docker picks a new one on
	// every start.
	FixedPorts bool
	// Network and Alias put the container on a network, where the others
	// reach it by its alias (also its host name).
	Network Network
	Alias   string
}

// Container is a container a Runtime started, as the cluster tests use
// one. Its methods are safe for concurrent use.
type Container interface {
	// Addr returns host:port where the container's port is published.
	Addr(port string) string
	// Exec runs cmd in the container as user ("" for root) and returns what
	// it printed; a command that exits non-zero is an error holding its
	// output.
	Exec(ctx context.Context, user string, cmd ...string) (string, error)
	// Kill kills every process at once (SIGKILL): a host that died.
	Kill(ctx context.Context) error
	// Pause freezes every process (`docker pause`): a hung host whose
	// connections stay open.
	Pause(ctx context.Context) error
	// Logs returns what it printed, or why that cannot be had.
	Logs(ctx context.Context) string
	// Terminate removes it; calling it again returns the first result.
	Terminate(ctx context.Context) error
}

// Network is a private network of a Runtime.
type Network interface {
	Remove(ctx context.Context) error
}

// Errors of the runtime, as the test kit reports them.
var (
	// ErrNoDocker: no Docker engine answers.
	ErrNoDocker = errors.New("mcpsessiontest: no Docker engine")
	// ErrNoImage: the engine holds no Postgres image and cannot pull one.
	ErrNoImage = errors.New("mcpsessiontest: no Postgres image")
)

var docker atomic.Pointer[Runtime]

// SetDocker registers the container runtime; the test kit calls it from
// its init.
func SetDocker(r Runtime) { docker.Store(&r) }

// Containers returns the registered runtime, for commands that start
// servers outside tests; the error says why there is none.
func Containers() (Runtime, error) {
	d := docker.Load()
	if d == nil {
		return nil, fmt.Errorf("%w: no container runtime; import mcpsessiontest to register it", ErrNoDocker)
	}
	return *d, nil
}

// PostgresImage returns the registered runtime and the image its Postgres
// servers start from, or an error matching ErrNoDocker or ErrNoImage that
// says in one line why there is none.
func PostgresImage() (Runtime, string, error) {
	rt, err := Containers()
	if err != nil {
		return nil, "", err
	}
	img, err := rt.Image()
	return rt, img, err
}

// Docker returns the registered runtime, failing t when none is: a test
// package that starts containers links the test kit.
func Docker(t testing.TB) Runtime {
	t.Helper()
	d := docker.Load()
	if d == nil {
		t.Fatal("testdb: no container runtime; the test package must import mcpsessiontest (its TestMain calls mcpsessiontest.Main)")
	}
	return *d
}
