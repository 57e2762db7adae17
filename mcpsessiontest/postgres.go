package mcpsessiontest

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/url"
	"time"

	"github.com/mcpsession/mcpsession/internal/testdb"
)

// server is a PostgreSQL server in a container this process started: the
// testdb.Server the runtime hands out.
type server struct {
	c     *dockerContainer
	dsn   string
	image string
}

// The server's superuser and database.
const (
	serverUser     = "mcpsession"
	serverDatabase = "mcpsession"
)

// startPostgres starts a server from the image the package chooses (see
// the package doc) and returns once it accepts connections. Terminate it
// when done: nothing else will, but terminateAll and Main. Without Docker
// or an image, the error matches errNoDocker or errNoImage.
func startPostgres(ctx context.Context, o testdb.ServerOptions) (*server, error) {
	image, err := probeImage()
	if err != nil {
		return nil, err
	}
	password := rand.Text()
	// Tests of several packages share a server; the default of 100
	// connections is too few for them all.
	cmd := []string{"postgres", "-c", "max_connections=300"}
	if !o.DurableWrites {
		cmd = append(cmd, "-c", "fsync=off")
	}
	c, err := startContainer(ctx, testdb.ContainerSpec{
		Image: image,
		Cmd:   cmd,
		Env: map[string]string{
			"POSTGRES_USER": serverUser, "POSTGRES_PASSWORD": password, "POSTGRES_DB": serverDatabase,
		},
		Ports:      []string{"5432/tcp"},
		FixedPorts: o.FixedHostPort,
	})
	if err != nil {
		return nil, err
	}
	u := url.URL{Scheme: "postgres", User: url.UserPassword(serverUser, password),
		Host: c.Addr("5432/tcp"), Path: "/" + serverDatabase, RawQuery: "sslmode=disable"}
	s := &server{c: c, dsn: u.String(), image: image}
	if err := s.WaitReady(ctx, time.Minute); err != nil {
		_ = s.Terminate(context.WithoutCancel(ctx))
		return nil, err
	}
	return s, nil
}

// DSN returns the server's DSN: its superuser, password included, and its
// database. Do not print it; dialects.Redact hides the password.
func (s *server) DSN() string { return s.dsn }

// Image returns the image the server runs.
func (s *server) Image() string { return s.image }

// HostPort returns the host port the server is published on.
func (s *server) HostPort() int { return s.c.HostPort("5432/tcp") }

// WaitReady polls the server with new connections until one succeeds, or
// fails after timeout (or when ctx ends).
func (s *server) WaitReady(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := testdb.WaitAccepting(ctx, s.dsn); err != nil {
		return fmt.Errorf("%w: %s did not accept connections within %v: %w", errStart, s.image, timeout, err)
	}
	return nil
}

// Stop stops the container as `docker stop` does: Postgres gets SIGINT, a
// fast shutdown that ends every session. The data stays.
func (s *server) Stop(ctx context.Context) error { return s.c.Stop(ctx) }

// Start starts a stopped container again. It returns once the container
// runs, before Postgres accepts connections: WaitReady waits for that.
// Without WithFixedHostPort the host port changes and DSN goes stale.
func (s *server) Start(ctx context.Context) error { return s.c.Start(ctx) }

// Pause freezes every process of the container (`docker pause`): its
// connections stay open but nothing answers.
func (s *server) Pause(ctx context.Context) error { return s.c.Pause(ctx) }

// Unpause thaws a paused container.
func (s *server) Unpause(ctx context.Context) error { return s.c.Unpause(ctx) }

// Terminate removes the container and its data. Calling it again returns
// the first call's result.
func (s *server) Terminate(ctx context.Context) error { return s.c.Terminate(ctx) }
