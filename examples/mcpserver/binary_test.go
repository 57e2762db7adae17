package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mcpsession/mcpsession/internal/adaptertest"
	"github.com/mcpsession/mcpsession/internal/testdb"
)

// The example as a user runs it: two processes, different -addr, one -db.
func TestBinaryTwoProcesses(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds and runs the example binary")
	}
	bin := buildBinary(t)
	eachSDK(t, func(t *testing.T, sdk, dsn string) { twoProcesses(t, bin, sdk, dsn) })
}

// Two processes started at the same moment on a database neither has seen
// (a new SQLite file, an empty Postgres schema) both migrate it, listen and
// serve one service, round after round.
func TestBinarySimultaneousStart(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds and runs the example binary")
	}
	bin := buildBinary(t)
	eachSDK(t, func(t *testing.T, sdk, dsn string) {
		for round := range 3 {
			if round > 0 { // a database of its own each round
				if strings.HasPrefix(dsn, "sqlite:") {
					dsn = testdb.SQLiteFile(t)
				} else {
					dsn = testdb.Postgres(t)
				}
			}
			p1, p2 := launch(t, bin, sdk, dsn), launch(t, bin, sdk, dsn)
			p1.awaitListening(t, sdk)
			p2.awaitListening(t, sdk)
			sid := rawInitialize(t, p1.url)
			if n := rawTool(t, p2.url, sid, "counter"); n != "1" {
				t.Errorf("round %d: counter on p2 of a session of p1: %s; want 1", round, n)
			}
			p1.terminate(t)
			p2.terminate(t)
		}
	})
}

// A stopping server fails its readiness check at once, keeps serving for
// the drain, then exits without waiting on a connection that sent nothing
// (http.Server.Shutdown alone waits 5 s for one).
func TestBinaryReadinessAndDrain(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds and runs the example binary")
	}
	bin := buildBinary(t)
	eachSDK(t, func(t *testing.T, sdk, dsn string) {
		p := &process{exited: make(chan struct{}), ready: make(chan []string, 1)}
		p.start(t, bin, "-addr", "127.0.0.1:0", "-db", dsn, "-sdk", sdk, "-drain", "1s")
		p.awaitListening(t, sdk)
		base := strings.TrimSuffix(p.url, "/mcp")
		if status := get(t, base+"/readyz"); status != http.StatusOK {
			t.Fatalf("/readyz while serving: %d", status)
		}
		sid := rawInitialize(t, p.url)
		idle, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer idle.Close()
		if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for get(t, base+"/readyz") != http.StatusServiceUnavailable {
			if time.Now().After(deadline) {
				t.Fatal("/readyz still ready 10s after SIGTERM")
			}
			time.Sleep(10 * time.Millisecond)
		}
		// Draining: not ready, but still serving.
		if n := rawTool(t, p.url, sid, "counter"); n != "1" {
			t.Fatalf("counter while draining: %s", n)
		}
		select {
		case <-p.exited:
		case <-time.After(20 * time.Second):
			t.Fatalf("no exit within 20s of SIGTERM\n%s", p.logText())
		}
		if p.err != nil || !strings.Contains(p.logText(), "msg=stopped idle_connections_closed=") ||
			strings.Contains(p.logText(), "idle_connections_closed=0") {
			t.Fatalf("exit %v; want 0, with the idle connection closed:\n%s", p.err, p.logText())
		}
		wantNoSessionID(t, p, sid)
		_ = idle.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := idle.Read(make([]byte, 1)); !errors.Is(err, io.EOF) && !errors.Is(err, syscall.ECONNRESET) {
			t.Fatalf("the idle connection after the exit: %v; want it closed", err)
		}
	})
}

// wantNoSessionID fails if the process logged any of the session ids:
// they are bearer credentials (the SDKs' own lines go through a redacting
// logger).
func wantNoSessionID(t *testing.T, p *process, ids ...string) {
	t.Helper()
	for _, id := range ids {
		if strings.Contains(p.logText(), id) {
			t.Errorf("the log holds a session id:\n%s", p.logText())
		}
	}
}

func get(t *testing.T, url string) int {
	t.Helper()
	r, err := http.Get(url)
	if err != nil {
		return 0 // not listening (yet, or any more)
	}
	r.Body.Close()
	return r.StatusCode
}

func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "mcpserver")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func twoProcesses(t *testing.T, bin, sdk, dsn string) {
	p1 := startProcess(t, bin, sdk, dsn)
	p2 := startProcess(t, bin, sdk, dsn)

	sid := rawInitialize(t, p1.url)
	first := sid
	if status, body := rawPost(t, p2.url, sid, `{"jsonrpc":"2.0","method":"notifications/initialized"}`); status != http.StatusAccepted {
		t.Fatalf("notifications/initialized on p2: %d %s", status, body)
	}
	var got []string
	for _, p := range []*process{p1, p2, p1, p2} {
		got = append(got, rawTool(t, p.url, sid, "counter"))
	}
	if strings.Join(got, " ") != "1 2 3 4" {
		t.Errorf("counter alternating p1, p2: %v; want 1 2 3 4", got)
	}
	if status := rawSend(t, http.MethodDelete, p2.url, sid); status != deleteStatus[sdk] {
		t.Fatalf("DELETE on p2: %d", status)
	}
	if status, body := rawPost(t, p1.url, sid, toolsList); status != http.StatusNotFound {
		t.Errorf("POST on p1 after DELETE on p2: %d %s; want 404", status, body)
	}
	if status := rawSend(t, http.MethodGet, p1.url, sid); status != http.StatusNotFound {
		t.Errorf("GET on p1 after DELETE on p2: %d; want 404", status)
	}

	// A session lives on when the process that created it stops.
	sid = rawInitialize(t, p1.url)
	p1.terminate(t)
	if n := rawTool(t, p2.url, sid, "counter"); n != "1" {
		t.Errorf("counter on p2 after p1 stopped: %s; want 1", n)
	}
	p2.terminate(t)
	for _, p := range []*process{p1, p2} {
		wantNoSessionID(t, p, sid, first)
	}
	t.Logf("counter alternating over two processes: %v; DELETE on one, then 404 on the other; both exited 0 on SIGTERM", got)
}

// process is the example server running as a child process.
type process struct {
	cmd    *exec.Cmd
	url    string
	mu     sync.Mutex
	log    strings.Builder
	exited chan struct{}
	err    error         // from Wait, once exited is closed
	ready  chan []string // the address and SDK of the listening line
}

var listening = regexp.MustCompile(`msg=listening addr=(\S+) .* sdk=(\S+)`)

// startProcess starts the binary with -sdk sdk on a free port and waits
// for the line it logs once it listens, which must name that SDK.
func startProcess(t *testing.T, bin, sdk, dsn string) *process {
	t.Helper()
	p := launch(t, bin, sdk, dsn)
	p.awaitListening(t, sdk)
	return p
}

// launch starts the binary with -sdk sdk on a free port.
func launch(t *testing.T, bin, sdk, dsn string) *process {
	t.Helper()
	p := &process{exited: make(chan struct{}), ready: make(chan []string, 1)}
	args := []string{"-addr", "127.0.0.1:0", "-db", dsn, "-idle-timeout", "1m", "-drain", "100ms"}
	if sdk != "mcp-go" {
		args = append(args, "-sdk", sdk) // mcp-go: the default, as a user runs it
	}
	p.start(t, bin, args...)
	return p
}

// start runs the binary with args, gathering its log.
func (p *process) start(t *testing.T, bin string, args ...string) {
	t.Helper()
	p.cmd = exec.Command(bin, args...)
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.log.WriteString(line + "\n")
			p.mu.Unlock()
			if m := listening.FindStringSubmatch(line); m != nil {
				p.ready <- m[1:]
			}
		}
		p.err = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
	})
}

// awaitListening waits for the line the process logs once it listens,
// which must name sdk.
func (p *process) awaitListening(t *testing.T, sdk string) {
	t.Helper()
	select {
	case m := <-p.ready:
		p.url = "http://" + m[0] + "/mcp"
		if m[1] != sdk {
			t.Fatalf("the server serves with %s; want %s", m[1], sdk)
		}
	case <-p.exited:
		t.Fatalf("the server exited before listening: %v\n%s", p.err, p.logText())
	case <-time.After(30 * time.Second):
		t.Fatalf("the server did not listen within 30s\n%s", p.logText())
	}
}

func (p *process) logText() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

// terminate sends SIGTERM and expects a clean exit.
func (p *process) terminate(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.exited:
	case <-time.After(20 * time.Second):
		t.Fatalf("no exit within 20s of SIGTERM\n%s", p.logText())
	}
	if p.err != nil { // an *exec.ExitError for a non-zero status or a signal
		t.Errorf("exit after SIGTERM: %v; want status 0\n%s", p.err, p.logText())
	}
	if !strings.Contains(p.logText(), "msg=stopped") {
		t.Errorf("no clean-shutdown line in the log:\n%s", p.logText())
	}
}

// rawInitialize runs initialize alone (notifications/initialized is the
// caller's) and returns the session id.
func rawInitialize(t *testing.T, url string) string {
	t.Helper()
	r := adaptertest.Post(t, url, "", json.RawMessage(
		`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`))
	sid := r.Header.Get(adaptertest.HeaderSessionID)
	if r.Status != http.StatusOK || sid == "" {
		t.Fatalf("initialize: %d, session %q", r.Status, sid)
	}
	return sid
}

// rawTool calls a tool and returns its text.
func rawTool(t *testing.T, url, sid, name string) string {
	t.Helper()
	return adaptertest.Tool(t, url, sid, name, nil)
}
