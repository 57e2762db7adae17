package mcpsessiontest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/mcpsession/mcpsession/internal/testdb"
	"github.com/moby/moby/api/types/container"
	mobynetwork "github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	tcexec "github.com/testcontainers/testcontainers-go/exec"
	tclog "github.com/testcontainers/testcontainers-go/log"
	tcnetwork "github.com/testcontainers/testcontainers-go/network"
)

// This file is the one place the project starts containers: the kit's
// Postgres servers and the integration suite's cluster nodes (through
// testdb.Runtime, which runtime implements) are all containers here.

// runtime is the kit's testdb.Runtime.
type runtime struct{}

func init() { testdb.SetDocker(runtime{}) }

func (runtime) Image() (string, error) { return probeImage() }

func (runtime) SharedPostgres() (string, error) { return sharedPostgres() }

func (runtime) HasImage(ctx context.Context, image string) error {
	if err := engineErr(); err != nil {
		return err
	}
	if !probe.engine.has(ctx, image) {
		return fmt.Errorf("%w: no image %s on the engine", errNoImage, image)
	}
	return nil
}

func (runtime) Start(ctx context.Context, spec testdb.ContainerSpec) (testdb.Container, error) {
	return startContainer(ctx, spec)
}

func (runtime) StartPostgres(ctx context.Context, o testdb.ServerOptions) (testdb.Server, error) {
	return startPostgres(ctx, o)
}

func (runtime) Notes() string { return setupNotes() }

func (runtime) TerminateAll(ctx context.Context) error { return terminateAll(ctx) }

func (runtime) NewNetwork(ctx context.Context) (testdb.Network, error) {
	if err := engineErr(); err != nil {
		return nil, err
	}
	nw, err := tcnetwork.New(ctx, tcnetwork.WithLabels(map[string]string{runLabel: runID()}))
	if err != nil {
		return nil, fmt.Errorf("mcpsessiontest: create network: %w", err)
	}
	return network{nw}, nil
}

type network struct{ nw *testcontainers.DockerNetwork }

func (n network) Remove(ctx context.Context) error { return n.nw.Remove(ctx) }

// dockerContainer is a container this process started.
type dockerContainer struct {
	ctr   *testcontainers.DockerContainer
	cli   *testcontainers.DockerClient
	name  string // for errors: the alias or the image
	host  string
	ports map[string]int

	terminate sync.Once
	termErr   error
}

// live holds the containers started and not yet terminated, so that
// TerminateAll can clean up after an interrupted run.
var live struct {
	sync.Mutex
	set map[*dockerContainer]struct{}
}

// startContainer starts spec's container once the engine has been probed
// (testcontainers set up for this host), and registers it with live.
func startContainer(ctx context.Context, spec testdb.ContainerSpec) (*dockerContainer, error) {
	if err := engineErr(); err != nil {
		return nil, err
	}
	var c *dockerContainer
	var err error
	// A port found free can be taken by someone else before Docker binds
	// it; try again with another.
	for attempt := 1; attempt <= 3; attempt++ {
		c, err = runContainer(ctx, spec)
		if err == nil || !spec.FixedPorts || !isPortTaken(err) {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	live.Lock()
	if live.set == nil {
		live.set = map[*dockerContainer]struct{}{}
	}
	live.set[c] = struct{}{}
	live.Unlock()
	return c, nil
}

func runContainer(ctx context.Context, spec testdb.ContainerSpec) (*dockerContainer, error) {
	name := spec.Alias
	if name == "" {
		name = spec.Image
	}
	files := make([]testcontainers.ContainerFile, 0, len(spec.Files))
	for path, content := range spec.Files {
		files = append(files, testcontainers.ContainerFile{
			Reader: strings.NewReader(content), ContainerFilePath: path, FileMode: 0o755,
		})
	}
	opts := []testcontainers.ContainerCustomizer{
		testcontainers.WithLogger(tclog.NewNoopLogger()),
		testcontainers.WithCmd(spec.Cmd...),
		testcontainers.WithEnv(spec.Env),
		testcontainers.WithFiles(files...),
		testcontainers.WithLabels(map[string]string{runLabel: runID()}),
		testcontainers.WithExposedPorts(spec.Ports...),
	}
	if nw, ok := spec.Network.(network); ok {
		opts = append(opts, tcnetwork.WithNetwork([]string{spec.Alias}, nw.nw),
			testcontainers.WithConfigModifier(func(c *container.Config) { c.Hostname = spec.Alias }))
	}
	fixed := map[string]int{}
	if spec.FixedPorts {
		bindings := mobynetwork.PortMap{}
		for _, p := range spec.Ports {
			port, err := freePort()
			if err != nil {
				return nil, fmt.Errorf("%w: %w", errStart, err)
			}
			fixed[p] = port
			bindings[mobynetwork.MustParsePort(p)] = []mobynetwork.PortBinding{{HostPort: strconv.Itoa(port)}}
		}
		opts = append(opts, testcontainers.WithHostConfigModifier(func(hc *container.HostConfig) { hc.PortBindings = bindings }))
	}
	ctr, err := testcontainers.Run(ctx, spec.Image, opts...)
	if err != nil {
		if ctr != nil {
			_ = testcontainers.TerminateContainer(ctr, testcontainers.StopTimeout(0))
		}
		return nil, fmt.Errorf("%w: %s from %s: %w", errStart, name, spec.Image, err)
	}
	cli, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		_ = testcontainers.TerminateContainer(ctr, testcontainers.StopTimeout(0))
		return nil, fmt.Errorf("%w: docker client: %w", errStart, err)
	}
	c := &dockerContainer{ctr: ctr, cli: cli, name: name, ports: fixed}
	if c.host, err = ctr.Host(ctx); err != nil {
		_ = c.Terminate(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("%w: %s: host: %w", errStart, name, err)
	}
	for _, p := range spec.Ports {
		if _, ok := fixed[p]; ok {
			continue
		}
		mp, err := ctr.MappedPort(ctx, p)
		if err != nil {
			_ = c.Terminate(context.WithoutCancel(ctx))
			return nil, fmt.Errorf("%w: %s: port %s: %w", errStart, name, p, err)
		}
		c.ports[p] = int(mp.Num())
	}
	return c, nil
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

func runID() string {
	if id := os.Getenv(runIDEnv); id != "" {
		return id
	}
	return "local"
}

func (c *dockerContainer) id() string { return c.ctr.GetContainerID() }

func (c *dockerContainer) HostPort(port string) int { return c.ports[port] }

func (c *dockerContainer) Addr(port string) string {
	return net.JoinHostPort(c.host, strconv.Itoa(c.ports[port]))
}

func (c *dockerContainer) Exec(ctx context.Context, user string, cmd ...string) (string, error) {
	opts := []tcexec.ProcessOption{tcexec.Multiplexed()}
	if user != "" {
		opts = append(opts, tcexec.WithUser(user))
	}
	code, r, err := c.ctr.Exec(ctx, cmd, opts...)
	if err != nil {
		return "", fmt.Errorf("mcpsessiontest: exec %q in %s: %w", cmd, c.name, err)
	}
	out, _ := io.ReadAll(r)
	if code != 0 {
		return string(out), fmt.Errorf("mcpsessiontest: %q in %s exited %d: %s", cmd, c.name, code, bytes.TrimSpace(out))
	}
	return string(out), nil
}

func (c *dockerContainer) Stop(ctx context.Context) error {
	timeout := 30
	_, err := c.cli.ContainerStop(ctx, c.id(), client.ContainerStopOptions{Timeout: &timeout})
	return c.wrap("stop", err)
}

func (c *dockerContainer) Start(ctx context.Context) error {
	_, err := c.cli.ContainerStart(ctx, c.id(), client.ContainerStartOptions{})
	return c.wrap("start", err)
}

func (c *dockerContainer) Kill(ctx context.Context) error {
	_, err := c.cli.ContainerKill(ctx, c.id(), client.ContainerKillOptions{Signal: "KILL"})
	return c.wrap("kill", err)
}

func (c *dockerContainer) Pause(ctx context.Context) error {
	_, err := c.cli.ContainerPause(ctx, c.id(), client.ContainerPauseOptions{})
	return c.wrap("pause", err)
}

func (c *dockerContainer) Unpause(ctx context.Context) error {
	_, err := c.cli.ContainerUnpause(ctx, c.id(), client.ContainerUnpauseOptions{})
	return c.wrap("unpause", err)
}

func (c *dockerContainer) wrap(op string, err error) error {
	if err != nil {
		return fmt.Errorf("mcpsessiontest: %s %s: %w", op, c.name, err)
	}
	return nil
}

func (c *dockerContainer) Logs(ctx context.Context) string {
	r, err := c.ctr.Logs(ctx)
	if err != nil {
		return err.Error()
	}
	defer r.Close()
	b, _ := io.ReadAll(r)
	return string(b)
}

func (c *dockerContainer) Terminate(ctx context.Context) error {
	c.terminate.Do(func() {
		live.Lock()
		delete(live.set, c)
		live.Unlock()
		// A paused container cannot be stopped; thaw it first.
		_, _ = c.cli.ContainerUnpause(ctx, c.id(), client.ContainerUnpauseOptions{})
		if err := c.ctr.Terminate(ctx, testcontainers.StopTimeout(0)); err != nil {
			c.termErr = fmt.Errorf("mcpsessiontest: terminate %s (%.12s): %w", c.name, c.id(), err)
		}
		_ = c.cli.Close()
	})
	return c.termErr
}

// terminateAll terminates every container this process started that is
// not terminated yet: every server startPostgres started, and whatever
// else the project's tests started through the kit. Commands and TestMain
// call it on the way out and on interrupts.
func terminateAll(ctx context.Context) error {
	live.Lock()
	cs := make([]*dockerContainer, 0, len(live.set))
	for c := range live.set {
		cs = append(cs, c)
	}
	live.Unlock()
	var errs []error
	for _, c := range cs {
		errs = append(errs, c.Terminate(ctx))
	}
	return errors.Join(errs...)
}
