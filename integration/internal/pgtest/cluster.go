package pgtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/mcpsession/mcpsession/internal/testdb"
	// The container runtime: every container of the project starts there.
	_ "github.com/mcpsession/mcpsession/mcpsessiontest"
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
// one. Call it before starting any node.
func RequireHAImage(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := testdb.Docker(t).HasImage(ctx, HAImage()); err != nil {
		testdb.SkipOrFail(t, fmt.Sprintf("production-Postgres tests skipped: %v (`make ha-image` builds %s from Debian's packages; %s names another)",
			err, DefaultHAImage, HAImageEnv))
	}
}

// Network is a private Docker network of one test: its nodes reach each
// other by alias, and the test reaches them through their published ports.
type Network struct{ nw testdb.Network }

// NewNetwork creates a network, removed when t ends (after its nodes).
func NewNetwork(t testing.TB) *Network {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	nw, err := testdb.Docker(t).NewNetwork(ctx)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
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
	// Ports are the container's ports to publish, e.g. "5432/tcp".
	Ports []string
}

// Node is one container of a Network: Addr, Exec, Kill, Pause and Logs
// are its container's.
type Node struct {
	Alias string
	testdb.Container
}

// StartNode starts a node from HAImage() on nw and returns once it runs
// (not once what it runs is ready: the caller waits for that). It is
// terminated when t ends; a node that a killed test binary left behind
// carries the kit's run label, by which CI removes it.
func StartNode(t testing.TB, nw *Network, spec NodeSpec) *Node {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := testdb.Docker(t).Start(ctx, testdb.ContainerSpec{
		Image: HAImage(), Cmd: spec.Cmd, Env: spec.Env, Files: spec.Files, Ports: spec.Ports,
		Network: nw.nw, Alias: spec.Alias,
	})
	if err != nil {
		t.Fatal(err)
	}
	n := &Node{Alias: spec.Alias, Container: c}
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

// logTailLines is how many of a node's last log lines a failed test
// prints: the rest is in a file, so that the test's own failure, printed
// before, is not buried under the logs of every node.
const logTailLines = 12

// LogsTail writes the node's whole log to a file that outlives the test
// (in os.TempDir) and returns its name and the log's last lines.
func (n *Node) LogsTail(t testing.TB) string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	logs := n.Logs(ctx)
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
