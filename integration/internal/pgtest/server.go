package pgtest

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
	"github.com/mcpsession/mcpsession/internal/testdb"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	tclog "github.com/testcontainers/testcontainers-go/log"
	tcpostgres "github.com/testcontainers/testcontainers-go/modules/postgres"
)

// Environment variables this package reads.
const (
	// DSNEnv names a server to use instead of a container.
	DSNEnv = testdb.PostgresEnv
	// RequireEnv, set to 1, turns "no Postgres" from a skip into a failure.
	RequireEnv = testdb.RequireEnv
	// ImageEnv names the image containers are started from.
	ImageEnv = "MCPSESSION_TEST_POSTGRES_IMAGE"
	// RunIDEnv values the RunLabel of the containers this process starts.
	RunIDEnv = "MCPSESSION_TEST_RUN_ID"
)

// DefaultImage is the image used when ImageEnv is not set.
const DefaultImage = "postgres:17-alpine"

// RunLabel is the label every container started here carries, valued from
// RunIDEnv, so that a CI job can find and remove what a killed test binary
// left behind.
const RunLabel = "dev.mcpsession.test-run"

var (
	// ErrNoDocker means there is no Docker engine to start a container on.
	ErrNoDocker = errors.New("pgtest: no Docker engine")

	// ErrStart means a container could not be started or never accepted
	// connections.
	ErrStart = errors.New("pgtest: cannot start postgres container")
)

// Image returns the image containers are started from: ImageEnv, or
// DefaultImage.
func Image() string {
	if img := os.Getenv(ImageEnv); img != "" {
		return img
	}
	return DefaultImage
}

var docker struct {
	once sync.Once
	err  error
}

// DockerAvailable returns nil when a Docker engine answers, or an error
// matching ErrNoDocker that says in one line why not. The answer is
// computed once per process.
func DockerAvailable() error {
	docker.once.Do(func() { docker.err = pingDocker() })
	return docker.err
}

func pingDocker() (err error) {
	quietTestcontainers()
	// testcontainers' host discovery panics in some setups without an
	// engine; that is an answer too.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w (%s)", ErrNoDocker, oneLine(fmt.Sprint(r)))
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	cli, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		return fmt.Errorf("%w (%s)", ErrNoDocker, oneLine(err.Error()))
	}
	defer cli.Close()
	if _, err := cli.Ping(ctx, client.PingOptions{}); err != nil {
		return fmt.Errorf("%w (%s)", ErrNoDocker, oneLine(err.Error()))
	}
	return nil
}

var quietOnce sync.Once

// quietTestcontainers stops testcontainers from printing its banner and
// progress to stderr: errors come back as values, and a command that runs
// tests must not bury their output.
func quietTestcontainers() {
	quietOnce.Do(func() { tclog.SetDefault(tclog.NewNoopLogger()) })
}

// oneLine keeps the first line of s, trimmed, for skip and error messages.
func oneLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

// Option configures a server that Start starts.
type Option func(*options)

type options struct {
	fixedPort bool
	durable   bool
}

// WithFixedHostPort publishes the server on a host port chosen free when it
// starts, and kept across Stop and Start; otherwise Docker picks a new
// random port on every start and the DSN would go stale.
func WithFixedHostPort() Option { return func(o *options) { o.fixedPort = true } }

// WithDurableWrites keeps fsync on. Containers run with fsync=off by
// default, which is faster and loses nothing unless the host itself
// crashes; tests that check what survives a fault use this to have no
// doubt.
func WithDurableWrites() Option { return func(o *options) { o.durable = true } }

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

// Start starts a server from Image() and returns once it accepts
// connections. Terminate it when done: nothing else will.
func Start(ctx context.Context, opts ...Option) (*Server, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if err := DockerAvailable(); err != nil {
		return nil, err
	}
	image := Image()
	var (
		s   *Server
		err error
	)
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

func start(ctx context.Context, image string, o options) (*Server, error) {
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
	_, inspectErr := cli.ImageInspect(ctx, image)
	imageLocal := inspectErr == nil

	ctr, err := tcpostgres.Run(ctx, image, customizers...)
	if err != nil {
		if ctr != nil {
			_ = testcontainers.TerminateContainer(ctr, testcontainers.StopTimeout(0))
		}
		_ = cli.Close()
		hint := ""
		if !imageLocal {
			hint = fmt.Sprintf(" (the image is not on this host; if it cannot be pulled, build one with `make postgres-image` and set %s=mcpsession-postgres:local)", ImageEnv)
		}
		return nil, fmt.Errorf("%w from %s: %w%s", ErrStart, image, err, hint)
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
		return fmt.Errorf("pgtest: stop container: %w", err)
	}
	return nil
}

// Start starts a stopped container again. It returns once the container
// runs, before Postgres accepts connections: WaitReady waits for that.
// Without WithFixedHostPort the host port changes and DSN goes stale.
func (s *Server) Start(ctx context.Context) error {
	if _, err := s.cli.ContainerStart(ctx, s.ContainerID(), client.ContainerStartOptions{}); err != nil {
		return fmt.Errorf("pgtest: start container: %w", err)
	}
	return nil
}

// Pause freezes every process of the container (`docker pause`): its
// connections stay open but nothing answers.
func (s *Server) Pause(ctx context.Context) error {
	if _, err := s.cli.ContainerPause(ctx, s.ContainerID(), client.ContainerPauseOptions{}); err != nil {
		return fmt.Errorf("pgtest: pause container: %w", err)
	}
	return nil
}

// Unpause thaws a paused container.
func (s *Server) Unpause(ctx context.Context) error {
	if _, err := s.cli.ContainerUnpause(ctx, s.ContainerID(), client.ContainerUnpauseOptions{}); err != nil {
		return fmt.Errorf("pgtest: unpause container: %w", err)
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
			s.termErr = fmt.Errorf("pgtest: terminate container %.12s: %w", s.ContainerID(), err)
		}
		_ = s.cli.Close()
	})
	return s.termErr
}

// TerminateAll terminates every server Start started that is not
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
	errs = append(errs, terminateNodes(ctx)) // cluster.go
	return errors.Join(errs...)
}
