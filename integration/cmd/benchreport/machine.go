package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	_ "modernc.org/sqlite" // for the SQLite version the benchmarks link
)

// environment is what the report says about the machine and the servers.
// It is stored in the raw output's first line, so that -from can write the
// report again.
type environment struct {
	Date    time.Time
	Elapsed time.Duration
	Quick   bool

	CPU        string
	CPUs       int
	Memory     string
	Kernel     string
	GoVersion  string
	GOOS       string
	GOARCH     string
	Postgres   string
	PGSettings string
	// PostgresSource says where the server came from, without its DSN.
	PostgresSource string
	SQLite         string
	Redis          string
	// Modules maps the module paths of drivers and peers to versions.
	Modules map[string]string
	Passes  []ranPass

	postgresDSN string
}

// collect fills in what it can find out; a piece it cannot find is
// reported as unknown, with the reason.
func (e *environment) collect(ctx context.Context, moduleDir string) {
	e.CPU, e.CPUs = cpuInfo()
	e.Memory = memTotal()
	e.Kernel = firstLine("/proc/sys/kernel/osrelease")
	e.GOOS, e.GOARCH = runtime.GOOS, runtime.GOARCH
	e.GoVersion = command(ctx, moduleDir, "go", "env", "GOVERSION")
	e.SQLite = sqliteVersion(ctx)
	e.Redis = redisVersion(ctx)
	if e.postgresDSN != "" {
		e.Postgres, e.PGSettings = postgresVersion(ctx, e.postgresDSN)
	}
	e.Modules = map[string]string{}
	out := command(ctx, moduleDir, "go", append([]string{"list", "-m", "-f", "{{.Path}} {{.Version}}"}, modules...)...)
	for line := range strings.SplitSeq(out, "\n") {
		if path, version, ok := strings.Cut(strings.TrimSpace(line), " "); ok {
			e.Modules[path] = version
		}
	}
}

// modules are the drivers, peers and tools whose versions the report
// names.
var modules = []string{
	"github.com/jackc/pgx/v5",
	"modernc.org/sqlite",
	"github.com/alexedwards/scs/v2",
	"github.com/alexedwards/scs/pgxstore",
	"github.com/redis/go-redis/v9",
	"golang.org/x/perf",
	"github.com/mark3labs/mcp-go",
	"github.com/modelcontextprotocol/go-sdk",
}

func cpuInfo() (model string, cpus int) {
	model = "unknown"
	f, err := os.Open("/proc/cpuinfo")
	if err == nil {
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	return model, runtime.NumCPU()
}

func memTotal() string {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			if err == nil {
				return fmt.Sprintf("%.1f GiB", kb/(1<<20))
			}
		}
	}
	return "unknown"
}

func firstLine(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "unknown"
	}
	line, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
	return line
}

func command(ctx context.Context, dir, name string, args ...string) string {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		return "unknown (" + oneLine(err.Error()) + ")"
	}
	return strings.TrimSpace(string(out))
}

func oneLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

func sqliteVersion(ctx context.Context) string {
	db, err := sql.Open("sqlite", ":memory:")
	if err != nil {
		return "unknown (" + err.Error() + ")"
	}
	defer db.Close()
	var v string
	if err := db.QueryRowContext(ctx, "SELECT sqlite_version()").Scan(&v); err != nil {
		return "unknown (" + err.Error() + ")"
	}
	return v
}

func redisVersion(ctx context.Context) string {
	out, err := exec.CommandContext(ctx, "redis-server", "--version").Output()
	if errors.Is(err, exec.ErrNotFound) {
		return "not installed: the Redis peer was left out"
	}
	if err != nil {
		return "unknown (" + oneLine(err.Error()) + ")"
	}
	// "Redis server v=7.0.15 sha=… malloc=jemalloc-5.3.0 bits=64 build=…"
	for f := range strings.FieldsSeq(string(out)) {
		if v, ok := strings.CutPrefix(f, "v="); ok {
			return v
		}
	}
	return oneLine(string(out))
}

// postgresVersion returns the server's version and the settings that
// change write latency the most.
func postgresVersion(ctx context.Context, dsn string) (version, settings string) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return "unknown (cannot connect)", ""
	}
	defer conn.Close(ctx)
	if err := conn.QueryRow(ctx, "SHOW server_version").Scan(&version); err != nil {
		return "unknown (" + oneLine(err.Error()) + ")", ""
	}
	var parts []string
	for _, name := range []string{"fsync", "synchronous_commit", "shared_buffers", "max_connections"} {
		var v string
		if err := conn.QueryRow(ctx, "SHOW "+name).Scan(&v); err == nil {
			parts = append(parts, name+"="+v)
		}
	}
	return version, strings.Join(parts, ", ")
}

// headerKey is the configuration key of the raw output's first line.
const headerKey = "benchreport"

func writeHeader(env *environment, passes []ranPass) ([]byte, error) {
	env.Passes = passes
	b, err := json.Marshal(env)
	if err != nil {
		return nil, err
	}
	return []byte(headerKey + ": " + string(b) + "\n"), nil
}

// readHeader reads back what writeHeader wrote.
func readHeader(raw []byte) (*environment, []ranPass, error) {
	line, _, _ := bytes.Cut(raw, []byte("\n"))
	blob, ok := bytes.CutPrefix(line, []byte(headerKey+": "))
	if !ok {
		return nil, nil, fmt.Errorf("no %q line first: not written by benchreport", headerKey)
	}
	var env environment
	if err := json.Unmarshal(blob, &env); err != nil {
		return nil, nil, err
	}
	return &env, env.Passes, nil
}
