package pgtest

import (
	"context"

	"github.com/mcpsession/mcpsession/mcpsessiontest"
)

// Environment variables the harness reads.
const (
	DSNEnv     = mcpsessiontest.DSNEnv
	RequireEnv = mcpsessiontest.RequireEnv
	ImageEnv   = mcpsessiontest.ImageEnv
	RunIDEnv   = mcpsessiontest.RunIDEnv
)

// RunLabel is the label of every container the harness starts.
const RunLabel = mcpsessiontest.RunLabel

var (
	ErrNoDocker = mcpsessiontest.ErrNoDocker
	ErrNoImage  = mcpsessiontest.ErrNoImage
	ErrStart    = mcpsessiontest.ErrStart
)

// Server is a PostgreSQL server in a container this process started.
type Server = mcpsessiontest.Server

// Option configures a server that Start starts.
type Option = mcpsessiontest.ServerOption

var (
	// Main runs a package's tests and terminates its containers.
	Main = mcpsessiontest.Main
	// DSN is a new schema of the test's own on the package's server.
	DSN = mcpsessiontest.PostgresDSN
	// AdminDSN is the package's server itself, as its superuser.
	AdminDSN = mcpsessiontest.PostgresAdminDSN
	// Dedicated is a server the test owns, for tests that stop or pause it.
	Dedicated = mcpsessiontest.PostgresServer
	// DockerAvailable is nil when a container can be started here.
	DockerAvailable = mcpsessiontest.Available
	// WithFixedHostPort keeps the server's host port across Stop and Start.
	WithFixedHostPort = mcpsessiontest.WithFixedHostPort
	// WithDurableWrites keeps fsync on.
	WithDurableWrites = mcpsessiontest.WithDurableWrites
	// TerminateAll terminates every server started and not terminated yet.
	TerminateAll = mcpsessiontest.TerminateAll
)

// Start starts a server; Terminate it when done.
func Start(ctx context.Context, opts ...Option) (*Server, error) {
	return mcpsessiontest.StartPostgres(ctx, opts...)
}

// Image returns the image containers are started from, or "" when there is
// none to be had (DockerAvailable says why).
func Image() string {
	img, _ := mcpsessiontest.Image()
	return img
}
