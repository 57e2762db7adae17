package mcpsessiontest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/mcpsession/mcpsession/internal/testdb"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	tclog "github.com/testcontainers/testcontainers-go/log"
)

// Environment variables this package reads.
const (
	// dsnEnv names a Postgres server to use instead of a container.
	dsnEnv = testdb.PostgresEnv
	// imageEnv names the image containers are started from.
	imageEnv = "MCPSESSION_TEST_POSTGRES_IMAGE"
	// runIDEnv values the runLabel of the containers this process starts.
	runIDEnv = "MCPSESSION_TEST_RUN_ID"
)

// Images the package chooses from when imageEnv is not set.
const (
	// defaultImage is the official image, used when the engine has it or
	// can pull it.
	defaultImage = "postgres:17-alpine"
	// offlineImage is the image the project's `make postgres-image` builds
	// from Debian packages, for hosts that reach no container registry.
	offlineImage = "mcpsession-postgres:local"
)

// runLabel is the label every container started here carries, valued from
// runIDEnv (default "local").
const runLabel = "dev.mcpsession.test-run"

// testcontainers' own variables, which the package may set (see the
// package doc).
const (
	ryukDisabledEnv = "TESTCONTAINERS_RYUK_DISABLED"
	hostOverrideEnv = "TESTCONTAINERS_HOST_OVERRIDE"
	hubPrefixEnv    = "TESTCONTAINERS_HUB_IMAGE_NAME_PREFIX"
)

var (
	// errNoDocker means there is no Docker engine to start a container on.
	errNoDocker = testdb.ErrNoDocker

	// errNoImage means the engine has no Postgres image to start and cannot
	// pull one.
	errNoImage = testdb.ErrNoImage

	// errStart means a container could not be started or never accepted
	// connections.
	errStart = errors.New("mcpsessiontest: cannot start postgres container")
)

// engine is what the choices below need of a Docker engine.
type engine interface {
	// has reports whether the engine holds image.
	has(ctx context.Context, image string) bool
	// pull pulls image, and fails when it cannot.
	pull(ctx context.Context, image string) error
}

// chooseImage returns the image to start Postgres from: named (imageEnv)
// when set; else defaultImage if the engine has it; else offlineImage if it
// has that; else defaultImage if it can be pulled. Otherwise the error
// matches errNoImage and says why.
func chooseImage(ctx context.Context, named string, e engine) (string, error) {
	if named != "" {
		return named, nil
	}
	if e.has(ctx, defaultImage) {
		return defaultImage, nil
	}
	if e.has(ctx, offlineImage) {
		return offlineImage, nil
	}
	err := e.pull(ctx, defaultImage)
	if err == nil {
		return defaultImage, nil
	}
	return "", fmt.Errorf("%w: the engine has neither %s nor %s, and pulling %s failed (%s); build %s with `make postgres-image` in the mcpsession repository, or set %s",
		errNoImage, defaultImage, offlineImage, defaultImage, oneLine(err.Error()), offlineImage, imageEnv)
}

// ryukUsable reports whether testcontainers' reaper can start: its image
// is on the engine or can be pulled.
func ryukUsable(ctx context.Context, e engine) bool {
	image := ryukImage()
	return e.has(ctx, image) || e.pull(ctx, image) == nil
}

// ryukImage is the reaper's image as testcontainers names it, behind the
// registry prefix of TESTCONTAINERS_HUB_IMAGE_NAME_PREFIX when set.
func ryukImage() string {
	image := os.Getenv(hubPrefixEnv)
	if image != "" && !strings.HasSuffix(image, "/") {
		image += "/"
	}
	return image + testcontainers.ReaperDefaultImage //lint:ignore SA1019 the only public name of the image testcontainers starts
}

// localPorts reports whether the ports the engine publishes are reachable
// on localhost although testcontainers would dial the bridge gateway:
// the engine is reached through a unix socket, a /.dockerenv file makes
// testcontainers believe it runs in a container, and yet this process runs
// on the engine's host (same host name, or the engine's process in this
// network namespace).
func localPorts(daemonURL string, dockerenv, sameHost bool) bool {
	return strings.HasPrefix(daemonURL, "unix://") && dockerenv && sameHost
}

// dockerEngine is an engine over a Docker client.
type dockerEngine struct{ cli *client.Client }

func (d dockerEngine) has(ctx context.Context, image string) bool {
	_, err := d.cli.ImageInspect(ctx, image)
	return err == nil
}

func (d dockerEngine) pull(ctx context.Context, image string) error {
	resp, err := d.cli.ImagePull(ctx, image, client.ImagePullOptions{})
	if err != nil {
		return err
	}
	defer resp.Close()
	return resp.Wait(ctx)
}

// probe is what this process learnt of its Docker engine, once.
var probe struct {
	once   sync.Once
	err    error        // nil, or matches errNoDocker
	engine dockerEngine // when err is nil; open for the process's life
	image  string       // the image to start, when err is nil
	// imageErr matches errNoImage when there is no image to be had.
	imageErr error
	// notes says what the probe set for testcontainers, and why.
	notes []string
}

// available returns nil when a Postgres container can be started here: a
// Docker engine answers and an image is at hand (see the package doc). It
// returns an error matching errNoDocker or errNoImage otherwise, which says
// in one line why not. The engine is asked once per process.
func available() error {
	_, err := probeImage()
	return err
}

// probeImage returns the image containers are started from, chosen as the
// package doc says, or an error matching errNoDocker or errNoImage.
func probeImage() (string, error) {
	probe.once.Do(runProbe)
	if probe.err != nil {
		return "", probe.err
	}
	return probe.image, probe.imageErr
}

// engineErr probes the engine once and returns nil when it answers, or an
// error matching errNoDocker.
func engineErr() error {
	probe.once.Do(runProbe)
	return probe.err
}

// setupNotes describes, in one line, what the package set for testcontainers
// on this host (the Ryuk reaper off, the host override), or "" when it
// left testcontainers' defaults alone. Commands print it so that a reader
// knows why.
func setupNotes() string {
	probe.once.Do(runProbe)
	return strings.Join(probe.notes, "; ")
}

func runProbe() {
	quietTestcontainers()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cli, err := engineClient(ctx)
	if err != nil {
		probe.err = err
		return
	}
	probe.engine = dockerEngine{cli}
	probe.image, probe.imageErr = chooseImage(ctx, os.Getenv(imageEnv), probe.engine)
}

// engineClient returns a client of the engine that answers: the one
// DOCKER_HOST names when it is set (and none if that one does not answer,
// as for the docker command), else the one on the default socket. Either
// can be asked about testcontainers' settings before testcontainers reads
// them, which it does once per process. Failing both, it lets
// testcontainers find an engine its own way (Docker contexts, rootless
// and Docker Desktop sockets, its properties file) and leaves its settings
// alone.
func engineClient(ctx context.Context) (*client.Client, error) {
	cli, err := client.New(client.FromEnv)
	if err == nil {
		if err = ping(ctx, cli); err == nil {
			configureTestcontainers(ctx, cli)
			return cli, nil
		}
		_ = cli.Close()
	}
	if host := os.Getenv("DOCKER_HOST"); host != "" {
		return nil, fmt.Errorf("%w (DOCKER_HOST=%s: %s)", errNoDocker, host, oneLine(err.Error()))
	}
	firstErr := err
	tc, err := tcClient(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w (%s)", errNoDocker, oneLine(firstErr.Error()))
	}
	probe.notes = append(probe.notes, "engine found by testcontainers (not on DOCKER_HOST or the default socket): its Ryuk and host settings left alone")
	return tc, nil
}

// tcClient is testcontainers' own client, nil error only when its engine
// answers. testcontainers' host discovery panics in some setups without
// an engine; that is an answer too.
func tcClient(ctx context.Context) (cli *client.Client, err error) {
	defer func() {
		if r := recover(); r != nil {
			cli, err = nil, fmt.Errorf("%s", fmt.Sprint(r))
		}
	}()
	tc, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		return nil, err
	}
	if err := ping(ctx, tc.Client); err != nil {
		_ = tc.Close()
		return nil, err
	}
	return tc.Client, nil
}

func ping(ctx context.Context, cli *client.Client) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	_, err := cli.Ping(ctx, client.PingOptions{})
	return err
}

// configureTestcontainers sets testcontainers' variables that this host
// needs and the caller did not set (see the package doc).
func configureTestcontainers(ctx context.Context, cli *client.Client) {
	if _, set := os.LookupEnv(ryukDisabledEnv); !set && !ryukUsable(ctx, dockerEngine{cli}) {
		_ = os.Setenv(ryukDisabledEnv, "true")
		probe.notes = append(probe.notes, "Ryuk reaper off (its image cannot be pulled; containers are terminated by this package)")
	}
	if _, set := os.LookupEnv(hostOverrideEnv); !set && localPorts(cli.DaemonHost(), fileExists("/.dockerenv"), sameHost(ctx, cli)) {
		_ = os.Setenv(hostOverrideEnv, "localhost")
		probe.notes = append(probe.notes, "ports on localhost (/.dockerenv exists, but this is the engine's host)")
	}
}

// sameHost reports whether this process runs on the engine's host: the
// engine's process is in this process's network namespace, or the engine
// reports this host's name.
func sameHost(ctx context.Context, cli *client.Client) bool {
	if pid, err := os.ReadFile("/var/run/docker.pid"); err == nil {
		theirs, err1 := os.Readlink("/proc/" + strings.TrimSpace(string(pid)) + "/ns/net")
		ours, err2 := os.Readlink("/proc/self/ns/net")
		if err1 == nil && err2 == nil {
			return theirs == ours
		}
	}
	info, err := cli.Info(ctx, client.InfoOptions{})
	if err != nil {
		return false
	}
	host, err := os.Hostname()
	return err == nil && info.Info.Name != "" && info.Info.Name == host
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
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
