package bench

import (
	"context"
	"encoding/gob"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/alexedwards/scs/pgxstore"
	"github.com/alexedwards/scs/v2"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
)

func init() {
	// gob refuses interface values of unregistered types: the metadata
	// holds nested objects and arrays, as JSON decodes them.
	gob.Register(map[string]any{})
	gob.Register([]any{})
}

// scsSessions is the scs peer: github.com/alexedwards/scs/v2 with its
// pgxstore on the same Postgres, in pgxstore's documented sessions table,
// the metadata encoded by scs's own GobCodec. Each operation does what an
// scs request does for it:
//
//   - Get is Find and Decode (LoadAndSave loading the session);
//   - Create is Encode and Commit of a new token;
//   - Update is Find, Decode, merge, Encode and Commit: a request that
//     changes a value;
//   - Touch is Encode and Commit of the values the request already loaded,
//     which is how scs slides an IdleTimeout (without the Find the request
//     made first);
//   - Delete is Delete (Destroy).
type scsSessions struct {
	store *pgxstore.PostgresStore
	codec scs.GobCodec
	// loaded is the session's values as a request holds them after
	// loading, for Touch.
	loaded map[string]any
}

// scsSchema is pgxstore's documented table.
const scsSchema = `CREATE TABLE sessions (
	token TEXT PRIMARY KEY,
	data BYTEA NOT NULL,
	expiry TIMESTAMPTZ NOT NULL
);
CREATE INDEX sessions_expiry_idx ON sessions (expiry);`

// newSCS creates pgxstore's table in the pool's schema and returns the
// peer, with the background cleanup off (the benchmarks time requests, not
// a sweep that might run during them).
func newSCS(b *testing.B, pool *pgxpool.Pool, loaded map[string]any) *scsSessions {
	b.Helper()
	if _, err := pool.Exec(context.Background(), scsSchema); err != nil {
		b.Fatal(err)
	}
	return &scsSessions{store: pgxstore.NewWithCleanupInterval(pool, 0), loaded: loaded}
}

// expiry is when a session committed now expires: scs's default lifetime
// (24h) capped by an idle timeout, as scs computes it.
func scsExpiry() (deadline, expiry time.Time) {
	now := time.Now().UTC()
	return now.Add(maxLifetime), now.Add(idleTimeout)
}

func (s *scsSessions) Create(_ context.Context, id string, metadata map[string]any) error {
	deadline, expiry := scsExpiry()
	b, err := s.codec.Encode(deadline, metadata)
	if err != nil {
		return err
	}
	return s.store.Commit(id, b, expiry)
}

func (s *scsSessions) Get(_ context.Context, id string) (map[string]any, error) {
	_, values, err := s.find(id)
	return values, err
}

func (s *scsSessions) find(id string) (time.Time, map[string]any, error) {
	b, found, err := s.store.Find(id)
	if err != nil {
		return time.Time{}, nil, err
	}
	if !found {
		return time.Time{}, nil, notFound(id)
	}
	return s.codec.Decode(b)
}

func (s *scsSessions) Update(_ context.Context, id string, patch map[string]any) error {
	deadline, values, err := s.find(id)
	if err != nil {
		return err
	}
	b, err := s.codec.Encode(deadline, merge(values, patch))
	if err != nil {
		return err
	}
	_, expiry := scsExpiry()
	return s.store.Commit(id, b, expiry)
}

func (s *scsSessions) Touch(_ context.Context, id string) error {
	deadline, expiry := scsExpiry()
	b, err := s.codec.Encode(deadline, s.loaded)
	if err != nil {
		return err
	}
	return s.store.Commit(id, b, expiry)
}

func (s *scsSessions) Delete(_ context.Context, id string) error {
	return s.store.Delete(id)
}

// seed commits n sessions idFor(prefix, from)…, in one statement, each
// holding what Create would have stored for metadata.
func (s *scsSessions) seed(b *testing.B, pool *pgxpool.Pool, prefix string, from, n int, metadata map[string]any) {
	b.Helper()
	deadline, expiry := scsExpiry()
	data, err := s.codec.Encode(deadline, metadata)
	if err != nil {
		b.Fatal(err)
	}
	tag, err := pool.Exec(context.Background(), `INSERT INTO sessions (token, data, expiry)
SELECT $1 || lpad(g::text, 9, '0'), $2, $3 FROM generate_series($4::bigint, $4::bigint + $5::bigint - 1) AS g`,
		prefix, data, expiry, int64(from), int64(n))
	if err != nil {
		b.Fatal(err)
	}
	if tag.RowsAffected() != int64(n) {
		b.Fatalf("seeded %d scs sessions; want %d", tag.RowsAffected(), n)
	}
}

func (s *scsSessions) deletePrefix(b *testing.B, pool *pgxpool.Pool, prefix string) {
	b.Helper()
	if _, err := pool.Exec(context.Background(), `DELETE FROM sessions WHERE token LIKE '`+prefix+`%'`); err != nil {
		b.Fatal(err)
	}
}

// redisSessions is the Redis peer, as ConduitMCP documents a Redis session
// store (the Session.Store behaviour's Redis example, Redix there, go-redis
// here): one key mcp:session:ID holding the metadata as JSON, written with
// SET … EX; Get is GET and decode; Update is GET, decode, merge, encode and
// SET … EX again; Delete is DEL. ConduitMCP's behaviour has no Touch: it is
// EXPIRE here, the cheapest way Redis has to slide an expiry.
type redisSessions struct {
	client *redis.Client
}

const (
	redisPrefix = "mcp:session:"
	redisTTL    = idleTimeout
)

func (r *redisSessions) Create(ctx context.Context, id string, metadata map[string]any) error {
	data, err := json.Marshal(metadata)
	if err != nil {
		return err
	}
	return r.client.Set(ctx, redisPrefix+id, data, redisTTL).Err()
}

func (r *redisSessions) Get(ctx context.Context, id string) (map[string]any, error) {
	data, err := r.client.Get(ctx, redisPrefix+id).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, notFound(id)
	}
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, err
	}
	return m, nil
}

func (r *redisSessions) Update(ctx context.Context, id string, patch map[string]any) error {
	m, err := r.Get(ctx, id)
	if err != nil {
		return err
	}
	return r.Create(ctx, id, merge(m, patch))
}

func (r *redisSessions) Touch(ctx context.Context, id string) error {
	ok, err := r.client.Expire(ctx, redisPrefix+id, redisTTL).Result()
	if err != nil {
		return err
	}
	if !ok {
		return notFound(id)
	}
	return nil
}

func (r *redisSessions) Delete(ctx context.Context, id string) error {
	return r.client.Del(ctx, redisPrefix+id).Err()
}

// seed sets n sessions idFor(prefix, from)… in pipelines.
func (r *redisSessions) seed(b *testing.B, prefix string, from, n int, metadata map[string]any) {
	b.Helper()
	data, err := json.Marshal(metadata)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for lo := from; lo < from+n; lo += 1000 {
		_, err := r.client.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i := lo; i < min(lo+1000, from+n); i++ {
				p.Set(ctx, redisPrefix+idFor(prefix, i), data, redisTTL)
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// flush empties the server between benchmarks.
func (r *redisSessions) flush(b *testing.B) {
	b.Helper()
	if err := r.client.FlushDB(context.Background()).Err(); err != nil {
		b.Fatal(err)
	}
}

// startRedis starts a redis-server of b's own on a free loopback port,
// without persistence, stopped when b ends, and returns the peer over it.
// It returns errNoRedis when redis-server is not installed.
func startRedis(b testing.TB, opts ...func(*redis.Options)) (*redisSessions, error) {
	b.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, errNoRedis
	}
	port, err := freePort()
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		b.Fatalf("start redis-server: %v", err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()
	b.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})

	o := &redis.Options{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port))}
	for _, opt := range opts {
		opt(o)
	}
	client := redis.NewClient(o)
	b.Cleanup(func() { _ = client.Close() })
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := client.Ping(ctx).Err()
		cancel()
		if err == nil {
			break
		}
		select {
		case <-exited:
			b.Fatalf("redis-server exited: %v: %s", waitErr, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			b.Fatalf("redis-server on port %d does not answer: %v", port, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return &redisSessions{client: client}, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
