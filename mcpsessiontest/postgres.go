package mcpsessiontest

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	tclog "github.com/testcontainers/testcontainers-go/log"
	tcpostgres "github.com/testcontainers/testcontainers-go/modules/postgres"
)

// ServerOption configures a server that StartPostgres starts.
type ServerOption func(*serverOptions)

type serverOptions struct {
	fixedPort bool
	durable   bool
}

// WithFixedHostPort publishes the server on a host port chosen free when it
// starts, and kept across Stop and Start; otherwise Docker picks a new
// random port on every start and the DSN would go stale.
func WithFixedHostPort() ServerOption { return func(o *serverOptions) { o.fixedPort = true } }

// WithDurableWrites keeps fsync on. Containers run with fsync=off by
// default, which is faster and loses nothing unless the host itself
// crashes; tests that check what survives a fault use this to have no
// doubt.
func WithDurableWrites() ServerOption { return func(o *serverOptions) { o.durable = true } }

// Server is a PostgreSQL server in a container this process started. Its
// methods are safe for concurrent use, but Stop, Start, Pause and Unpause
// are meant to be called by one test at a time.
type Server struct {
	ctr   *tcpostgres.PostgresContainer
	cli   *testcontainers.DockerClient
	dsn   string
	image string
	port  int

	terminate sync.Once
	termErr   error
}

// live holds the servers that are started and not yet terminated, so that
// TerminateAll can clean up after an interrupted run.
var live struct {
	sync.Mutex
	servers map[*Server]struct{}
}

// StartPostgres starts a server from the image the package chooses (see
// the package doc) and returns once it accepts connections. Terminate it
// when done: nothing else will, but TerminateAll and Main. Without Docker
// or an image, the error matches ErrNoDocker or ErrNoImage.
func StartPostgres(ctx context.Context, opts ...ServerOption) (*Server, error) {
	var o serverOptions
	for _, opt := range opts {
		opt(&o)
	}
	image, err := Image()
	if err != nil {
		return nil, err
	}
	var s *Server
	// A port found free can be taken by someone else before Docker binds
	// it; try again with another.
	for attempt := 1; attempt <= 3; attempt++ {
		s, err = start(ctx, image, o)
		if err == nil || !o.fixedPort || !isPortTaken(err) {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	live.Lock()
	if live.servers == nil {
		live.servers = map[*Server]struct{}{}
	}
	live.servers[s] = struct{}{}
	live.Unlock()
	return s, nil
}

func start(ctx context.Context, image string, o serverOptions) (*Server, error) {
	password := rand.Text()
	runID := os.Getenv(RunIDEnv)
	if runID == "" {
		runID = "local"
	}
	// Tests of several packages share a server; the default of 100
	// connections is too few for them all.
	cmd := []string{"postgres", "-c", "max_connections=300"}
	if !o.durable {
		cmd = append(cmd, "-c", "fsync=off")
	}
	customizers := []testcontainers.ContainerCustomizer{
		testcontainers.WithLogger(tclog.NewNoopLogger()),
		tcpostgres.WithDatabase("mcpsession"),
		tcpostgres.WithUsername("mcpsession"),
		tcpostgres.WithPassword(password),
		testcontainers.WithCmd(cmd...),
		testcontainers.WithLabels(map[string]string{RunLabel: runID}),
		tcpostgres.BasicWaitStrategies(),
	}
	port := 0
	if o.fixedPort {
		var err error
		if port, err = freePort(); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrStart, err)
		}
		binding := []network.PortBinding{{HostPort: strconv.Itoa(port)}}
		customizers = append(customizers, testcontainers.WithHostConfigModifier(func(hc *container.HostConfig) {
			hc.PortBindings = network.PortMap{network.MustParsePort("5432/tcp"): binding}
		}))
	}

	cli, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: docker client: %w", ErrStart, err)
	}
	ctr, err := tcpostgres.Run(ctx, image, customizers...)
	if err != nil {
		if ctr != nil {
			_ = testcontainers.TerminateContainer(ctr, testcontainers.StopTimeout(0))
		}
		_ = cli.Close()
		return nil, fmt.Errorf("%w from %s: %w", ErrStart, image, err)
	}
	s := &Server{ctr: ctr, cli: cli, image: image, port: port}
	dsn, err := ctr.ConnectionString(ctx, "sslmode=disable")
	if err == nil && port == 0 {
		s.port, err = mappedPort(ctx, ctr)
	}
	if err != nil {
		_ = s.Terminate(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("%w from %s: %w", ErrStart, image, err)
	}
	s.dsn = dsn
	if err := s.WaitReady(ctx, time.Minute); err != nil {
		_ = s.Terminate(context.WithoutCancel(ctx))
		return nil, err
	}
	return s, nil
}

func mappedPort(ctx context.Context, ctr testcontainers.Container) (int, error) {
	p, err := ctr.MappedPort(ctx, "5432/tcp")
	if err != nil {
		return 0, err
	}
	return int(p.Num()), nil
}

// freePort returns a TCP port that is free on this host right now.
func freePort() (int, error) {
	l, err := net.Listen("tcp", ":0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func isPortTaken(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "port is already allocated") || strings.Contains(msg, "address already in use")
}

// DSN returns the server's DSN: its superuser, password included, and its
// database. Do not print it; dialects.Redact hides the password.
func (s *Server) DSN() string { return s.dsn }

// Image returns the image the server runs.
func (s *Server) Image() string { return s.image }

// HostPort returns the host port the server is published on.
func (s *Server) HostPort() int { return s.port }

// ContainerID returns the Docker id of the server's container.
func (s *Server) ContainerID() string { return s.ctr.GetContainerID() }

// WaitReady polls the server with new connections until one succeeds, or
// fails after timeout (or when ctx ends).
func (s *Server) WaitReady(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for {
		attempt, stop := context.WithTimeout(ctx, 2*time.Second)
		conn, err := pgx.Connect(attempt, s.dsn)
		if err == nil {
			err = conn.Ping(attempt)
			_ = conn.Close(context.WithoutCancel(attempt))
		}
		stop()
		if err == nil {
			return nil
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: %s did not accept connections within %v: %w", ErrStart, s.image, timeout, last)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Stop stops the container as `docker stop` does: Postgres gets SIGINT, a
// fast shutdown that ends every session. The data stays.
func (s *Server) Stop(ctx context.Context) error {
	timeout := 30
	if _, err := s.cli.ContainerStop(ctx, s.ContainerID(), client.ContainerStopOptions{Timeout: &timeout}); err != nil {
		return fmt.Errorf("mcpsessiontest: stop container: %w", err)
	}
	return nil
}

// Start starts a stopped container again. It returns once the container
// runs, before Postgres accepts connections: WaitReady waits for that.
// Without WithFixedHostPort the host port changes and DSN goes stale.
func (s *Server) Start(ctx context.Context) error {
	if _, err := s.cli.ContainerStart(ctx, s.ContainerID(), client.ContainerStartOptions{}); err != nil {
		return fmt.Errorf("mcpsessiontest: start container: %w", err)
	}
	return nil
}

// Pause freezes every process of the container (`docker pause`): its
// connections stay open but nothing answers.
func (s *Server) Pause(ctx context.Context) error {
	if _, err := s.cli.ContainerPause(ctx, s.ContainerID(), client.ContainerPauseOptions{}); err != nil {
		return fmt.Errorf("mcpsessiontest: pause container: %w", err)
	}
	return nil
}

// Unpause thaws a paused container.
func (s *Server) Unpause(ctx context.Context) error {
	if _, err := s.cli.ContainerUnpause(ctx, s.ContainerID(), client.ContainerUnpauseOptions{}); err != nil {
		return fmt.Errorf("mcpsessiontest: unpause container: %w", err)
	}
	return nil
}

// Terminate removes the container and its data. Calling it again returns
// the first call's result.
func (s *Server) Terminate(ctx context.Context) error {
	s.terminate.Do(func() {
		live.Lock()
		delete(live.servers, s)
		live.Unlock()
		// A paused container cannot be stopped; thaw it first.
		_, _ = s.cli.ContainerUnpause(ctx, s.ContainerID(), client.ContainerUnpauseOptions{})
		if err := s.ctr.Terminate(ctx, testcontainers.StopTimeout(0)); err != nil {
			s.termErr = fmt.Errorf("mcpsessiontest: terminate container %.12s: %w", s.ContainerID(), err)
		}
		_ = s.cli.Close()
	})
	return s.termErr
}

// TerminateAll terminates every server StartPostgres started that is not
// terminated yet. Commands and TestMain call it on the way out and on
// interrupts.
func TerminateAll(ctx context.Context) error {
	live.Lock()
	servers := make([]*Server, 0, len(live.servers))
	for s := range live.servers {
		servers = append(servers, s)
	}
	live.Unlock()
	var errs []error
	for _, s := range servers {
		errs = append(errs, s.Terminate(ctx))
	}
	return errors.Join(errs...)
}
