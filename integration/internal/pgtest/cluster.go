package pgtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	tcexec "github.com/testcontainers/testcontainers-go/exec"
	tclog "github.com/testcontainers/testcontainers-go/log"
	tcnetwork "github.com/testcontainers/testcontainers-go/network"
)

// The production-Postgres tests (PgBouncer, streaming replication and
// failover, a Patroni cluster) run several containers of one image on a
// private network: the image of HAImageEnv, which holds PostgreSQL,
// PgBouncer, Patroni, etcd and HAProxy from Debian's packages.
const (
	// HAImageEnv names the image the cluster tests start their nodes from.
	HAImageEnv = "MCPSESSION_TEST_HA_IMAGE"
	// DefaultHAImage is what `make ha-image` builds.
	DefaultHAImage = "mcpsession-postgres-ha:local"
)

// HAImage returns the image cluster nodes start from: HAImageEnv, or
// DefaultHAImage.
func HAImage() string {
	if img := os.Getenv(HAImageEnv); img != "" {
		return img
	}
	return DefaultHAImage
}

// RequireHAImage skips t (fails it under MCPSESSION_REQUIRE_POSTGRES=1)
// when there is no Docker engine or no HAImage() on it, saying how to get
// one. Call it before starting any node: it also has testcontainers set up
// for this host, as every container of the harness is.
func RequireHAImage(t testing.TB) {
	t.Helper()
	skip := func(line string) {
		t.Helper()
		if os.Getenv(RequireEnv) == "1" {
			t.Fatalf("%s; %s=1 makes that a failure", line, RequireEnv)
		}
		t.Skip(line)
	}
	// The Postgres image of the harness is not needed here, Docker is.
	if err := DockerAvailable(); errors.Is(err, ErrNoDocker) {
		skip(fmt.Sprintf("production-Postgres tests skipped: %v", err))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cli, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	if _, err := cli.ImageInspect(ctx, HAImage()); err != nil {
		skip(fmt.Sprintf("production-Postgres tests skipped: no image %s on this host (`make ha-image` builds it from Debian's packages; %s names another)", HAImage(), HAImageEnv))
	}
}

// Network is a private Docker network of one test: its nodes reach each
// other by alias, and the test reaches them only through ports published
// on the loopback interface.
type Network struct {
	nw *testcontainers.DockerNetwork
}

// NewNetwork creates a network, removed when t ends (after its nodes).
func NewNetwork(t testing.TB) *Network {
	t.Helper()
	_ = DockerAvailable() // testcontainers set up for this host
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	nw, err := tcnetwork.New(ctx, tcnetwork.WithLabels(map[string]string{RunLabel: runID()}))
	if err != nil {
		t.Fatalf("pgtest: create network: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := nw.Remove(ctx); err != nil {
			t.Errorf("pgtest: remove network: %v", err)
		}
	})
	return &Network{nw: nw}
}

// NodeSpec describes a node to start.
type NodeSpec struct {
	// Alias is the node's host name on the network.
	Alias string
	// Cmd is what the image's entrypoint runs: "postgres" and its
	// arguments start a server as the official image does; anything else
	// runs as it is, as root.
	Cmd []string
	Env map[string]string
	// Files are written into the container before it starts, mode 0755.
	Files map[string]string
	// Ports are the container's ports to publish, each on a free port of
	// the host's loopback interface, e.g. "5432/tcp".
	Ports []string
}

// Node is one container of a Network.
type Node struct {
	Alias string
	ctr   *testcontainers.DockerContainer
	cli   *testcontainers.DockerClient
	ports map[string]int

	terminate sync.Once
	termErr   error
}

func runID() string {
	if id := os.Getenv(RunIDEnv); id != "" {
		return id
	}
	return "local"
}

// StartNode starts a node from HAImage() on nw and returns once it runs
// (not once what it runs is ready: the caller waits for that). It is
// terminated when t ends; a node that a killed test binary left behind
// carries RunLabel, by which CI removes it.
func StartNode(t testing.TB, nw *Network, spec NodeSpec) *Node {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	n, err := startNode(ctx, nw, spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("logs of %s: %s", n.Alias, n.LogsTail(t))
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := n.Terminate(ctx); err != nil {
			t.Error(err)
		}
	})
	return n
}

func startNode(ctx context.Context, nw *Network, spec NodeSpec) (*Node, error) {
	files := make([]testcontainers.ContainerFile, 0, len(spec.Files))
	for path, content := range spec.Files {
		files = append(files, testcontainers.ContainerFile{
			Reader: strings.NewReader(content), ContainerFilePath: path, FileMode: 0o755,
		})
	}
	loopback := netip.MustParseAddr("127.0.0.1")
	opts := []testcontainers.ContainerCustomizer{
		testcontainers.WithLogger(tclog.NewNoopLogger()),
		testcontainers.WithCmd(spec.Cmd...),
		testcontainers.WithEnv(spec.Env),
		testcontainers.WithFiles(files...),
		testcontainers.WithLabels(map[string]string{RunLabel: runID()}),
		tcnetwork.WithNetwork([]string{spec.Alias}, nw.nw),
		testcontainers.WithConfigModifier(func(c *container.Config) { c.Hostname = spec.Alias }),
	}
	if len(spec.Ports) > 0 {
		opts = append(opts, testcontainers.WithExposedPorts(spec.Ports...),
			testcontainers.WithHostConfigModifier(func(hc *container.HostConfig) {
				hc.PublishAllPorts = false
				hc.PortBindings = network.PortMap{}
				for _, p := range spec.Ports {
					hc.PortBindings[network.MustParsePort(p)] = []network.PortBinding{{HostIP: loopback}}
				}
			}))
	}
	ctr, err := testcontainers.Run(ctx, HAImage(), opts...)
	if err != nil {
		if ctr != nil {
			_ = testcontainers.TerminateContainer(ctr, testcontainers.StopTimeout(0))
		}
		return nil, fmt.Errorf("%w: node %s from %s: %w", ErrStart, spec.Alias, HAImage(), err)
	}
	cli, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		_ = testcontainers.TerminateContainer(ctr, testcontainers.StopTimeout(0))
		return nil, fmt.Errorf("%w: docker client: %w", ErrStart, err)
	}
	n := &Node{Alias: spec.Alias, ctr: ctr, cli: cli, ports: map[string]int{}}
	for _, p := range spec.Ports {
		mp, err := ctr.MappedPort(ctx, p)
		if err != nil {
			_ = n.Terminate(context.WithoutCancel(ctx))
			return nil, fmt.Errorf("%w: node %s: port %s: %w", ErrStart, spec.Alias, p, err)
		}
		n.ports[p] = int(mp.Num())
	}
	return n, nil
}

// Addr returns the loopback address the container's port is published on,
// as host:port.
func (n *Node) Addr(port string) string {
	return "127.0.0.1:" + strconv.Itoa(n.ports[port])
}

// Exec runs cmd in the node as user ("" for root) and returns what it
// printed; a command that exits non-zero is an error holding its output.
func (n *Node) Exec(ctx context.Context, user string, cmd ...string) (string, error) {
	opts := []tcexec.ProcessOption{tcexec.Multiplexed()}
	if user != "" {
		opts = append(opts, tcexec.WithUser(user))
	}
	code, r, err := n.ctr.Exec(ctx, cmd, opts...)
	if err != nil {
		return "", fmt.Errorf("pgtest: exec %q in %s: %w", cmd, n.Alias, err)
	}
	out, _ := io.ReadAll(r)
	if code != 0 {
		return string(out), fmt.Errorf("pgtest: %q in %s exited %d: %s", cmd, n.Alias, code, bytes.TrimSpace(out))
	}
	return string(out), nil
}

// Kill kills every process of the node at once (SIGKILL, `docker kill`):
// a host that died.
func (n *Node) Kill(ctx context.Context) error {
	if _, err := n.cli.ContainerKill(ctx, n.ctr.GetContainerID(), client.ContainerKillOptions{Signal: "KILL"}); err != nil {
		return fmt.Errorf("pgtest: kill %s: %w", n.Alias, err)
	}
	return nil
}

// Pause freezes every process of the node (`docker pause`), as SIGSTOP to
// each of them would: a hung host whose connections stay open and whose
// ports still accept connections that nobody answers.
func (n *Node) Pause(ctx context.Context) error {
	if _, err := n.cli.ContainerPause(ctx, n.ctr.GetContainerID(), client.ContainerPauseOptions{}); err != nil {
		return fmt.Errorf("pgtest: pause %s: %w", n.Alias, err)
	}
	return nil
}

// Logs returns what the node printed, for failure messages.
func (n *Node) Logs() string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r, err := n.ctr.Logs(ctx)
	if err != nil {
		return err.Error()
	}
	defer r.Close()
	b, _ := io.ReadAll(r)
	return string(b)
}

// logTailLines is how many of a node's last log lines a failed test
// prints: the rest is in a file, so that the test's own failure, printed
// before, is not buried under the logs of every node.
const logTailLines = 12

// LogsTail writes the node's whole log to a file that outlives the test
// (in os.TempDir) and returns its name and the log's last lines.
func (n *Node) LogsTail(t testing.TB) string {
	logs := n.Logs()
	lines := strings.Split(strings.TrimRight(logs, "\n"), "\n")
	tail := strings.Join(lines[max(0, len(lines)-logTailLines):], "\n")
	name := strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())
	f, err := os.CreateTemp("", "mcpsession-"+name+"-"+n.Alias+"-*.log")
	if err != nil {
		return fmt.Sprintf("(not kept: %v); last %d lines:\n%s", err, logTailLines, tail)
	}
	_, werr := f.WriteString(logs)
	if err := errors.Join(werr, f.Close()); err != nil {
		return fmt.Sprintf("(not kept: %v); last %d lines:\n%s", err, logTailLines, tail)
	}
	return fmt.Sprintf("%d lines in %s; the last %d:\n%s", len(lines), f.Name(), min(len(lines), logTailLines), tail)
}

// Terminate removes the node. Calling it again returns the first call's
// result.
func (n *Node) Terminate(ctx context.Context) error {
	n.terminate.Do(func() {
		// A paused container cannot be stopped; thaw it first.
		_, _ = n.cli.ContainerUnpause(ctx, n.ctr.GetContainerID(), client.ContainerUnpauseOptions{})
		if err := n.ctr.Terminate(ctx, testcontainers.StopTimeout(0)); err != nil {
			n.termErr = fmt.Errorf("pgtest: terminate node %s: %w", n.Alias, err)
		}
		_ = n.cli.Close()
	})
	return n.termErr
}
