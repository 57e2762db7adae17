package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// buildServer builds examples/mcpserver once, from the repository's
// workspace (go.work at the root has the examples module), into dir.
func buildServer(ctx context.Context, root, dir string) (string, error) {
	bin := filepath.Join(dir, "mcpserver")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./examples/mcpserver")
	cmd.Dir = root
	// The root's go.work, whatever the caller's environment says.
	cmd.Env = append(withoutEnv(os.Environ(), "GOWORK"), "GOWORK="+filepath.Join(root, "go.work"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build ./examples/mcpserver: %w\n%s", err, out)
	}
	return bin, nil
}

func withoutEnv(env []string, name string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, name+"=") {
			out = append(out, kv)
		}
	}
	return out
}

// fleetSpec is one configuration of the service under load.
type fleetSpec struct {
	Replicas int
	SDK      string
	Cache    bool
	// Memory serves sessions from mcp-go's memory (mcpserver -memory),
	// with no database; the proxy is then sticky.
	Memory bool
	Sticky bool
	// Bouncer puts PgBouncer in transaction mode between the replicas and
	// Postgres.
	Bouncer     bool
	IdleTimeout time.Duration
}

// String names the configuration in progress lines and the report.
func (s fleetSpec) String() string {
	var kind string
	switch {
	case s.Memory:
		kind = "mcp-go memory, sticky"
	default:
		kind = "store"
		if s.Cache {
			kind += "+cache"
		}
		if s.Bouncer {
			kind += " via PgBouncer"
		}
		if s.Sticky {
			kind += ", sticky"
		}
	}
	return fmt.Sprintf("%d×%s (%s)", s.Replicas, s.SDK, kind)
}

// label is the configuration without its replica count.
func (s fleetSpec) label() string {
	switch {
	case s.Memory:
		return "sticky, mcp-go memory (ceiling)"
	case s.Bouncer && s.Cache:
		return "store + cache, PgBouncer (transaction)"
	case s.Bouncer:
		return "store, PgBouncer (transaction)"
	case s.Cache:
		return "store + cache"
	default:
		return "store"
	}
}

// replicaProc is one mcpserver process.
type replicaProc struct {
	cmd    *exec.Cmd
	addr   string
	done   chan struct{}
	errors atomic.Int64 // its log's ERROR lines
	log    string
}

// fleet is the replicas and the proxy in front of them.
type fleet struct {
	spec  fleetSpec
	procs []*replicaProc
	proxy *proxy
}

// startFleet starts the replicas one after the other (each migrates the
// database at start; one at a time keeps that out of the measurement) and
// the proxy. dsn is ignored for a memory fleet.
func startFleet(ctx context.Context, bin string, spec fleetSpec, dsn, logDir string) (*fleet, error) {
	f := &fleet{spec: spec}
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return nil, err
	}
	var urls []string
	for i := range spec.Replicas {
		args := []string{"-addr", "127.0.0.1:0", "-sdk", spec.SDK, "-drain", "0s",
			"-idle-timeout", spec.IdleTimeout.String()}
		if spec.Memory {
			args = append(args, "-memory")
		} else {
			args = append(args, "-db", dsn)
		}
		if spec.Cache {
			args = append(args, "-cache")
		}
		p, err := startReplica(ctx, bin, args, filepath.Join(logDir, fmt.Sprintf("replica-%d.log", i)))
		if err != nil {
			f.stop()
			return nil, fmt.Errorf("replica %d: %w", i, err)
		}
		f.procs = append(f.procs, p)
		urls = append(urls, "http://"+p.addr)
	}
	px, err := startProxy(urls, spec.Sticky || spec.Memory)
	if err != nil {
		f.stop()
		return nil, err
	}
	f.proxy = px
	return f, nil
}

func startReplica(ctx context.Context, bin string, args []string, logPath string) (*replicaProc, error) {
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := niced(bin, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		logFile.Close()
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, err
	}
	p := &replicaProc{cmd: cmd, done: make(chan struct{}), log: logPath}
	addr := make(chan string, 1)
	go func() {
		defer logFile.Close()
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(logFile, line)
			if strings.Contains(line, "level=ERROR") {
				p.errors.Add(1)
			}
			if strings.Contains(line, "msg=listening") {
				for f := range strings.FieldsSeq(line) {
					if a, ok := strings.CutPrefix(f, "addr="); ok {
						select {
						case addr <- a:
						default:
						}
					}
				}
			}
		}
		_, _ = io.Copy(logFile, stderr)
	}()
	go func() {
		_ = cmd.Wait()
		close(p.done)
	}()
	select {
	case p.addr = <-addr:
	case <-p.done:
		return nil, fmt.Errorf("exited at start (log in %s)", logPath)
	case <-time.After(2 * time.Minute):
		p.kill()
		return nil, fmt.Errorf("did not listen within 2 minutes (log in %s)", logPath)
	case <-ctx.Done():
		p.kill()
		return nil, ctx.Err()
	}
	// Ready once /readyz says so.
	for {
		resp, err := http.Get("http://" + p.addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p, nil
			}
		}
		select {
		case <-p.done:
			return nil, fmt.Errorf("exited at start (log in %s)", logPath)
		case <-ctx.Done():
			p.kill()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (p *replicaProc) kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
}

// stop ends the replicas (SIGTERM: they close their streams and exit) and
// the proxy.
func (f *fleet) stop() {
	if f.proxy != nil {
		_ = f.proxy.close()
	}
	for _, p := range f.procs {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
	}
	for _, p := range f.procs {
		select {
		case <-p.done:
		case <-time.After(20 * time.Second):
			p.kill()
		}
	}
}

// cpu is the replicas' CPU time so far.
func (f *fleet) cpu() (time.Duration, error) {
	var total time.Duration
	for _, p := range f.procs {
		d, err := processCPU(p.cmd.Process.Pid)
		if err != nil {
			return 0, err
		}
		total += d
	}
	return total, nil
}

// loggedErrors is the ERROR lines the replicas logged so far.
func (f *fleet) loggedErrors() int64 {
	var n int64
	for _, p := range f.procs {
		n += p.errors.Load()
	}
	return n
}
