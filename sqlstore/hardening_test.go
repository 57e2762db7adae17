package sqlstore_test

// Reproducers of issue 13 ("dialects that agree on every input"): each test
// names the item it covers. The rules themselves are proven for every
// store by the conformance kit (storetest); these are the sqlstore-specific
// parts: rows this package did not write, the Postgres row-lock clock, the
// refusal of calls from inside Modify, errors under deadlines, encodings.

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/dialects"
	"github.com/mcpsession/mcpsession/dialects/postgres"
	"github.com/mcpsession/mcpsession/internal/testdb"
	"github.com/mcpsession/mcpsession/sqlstore"
)

// insertRaw writes a session row by hand, as another program (or an older
// version of this one) might have.
func insertRaw(t *testing.T, s *sqlstore.Store, id, doc string) {
	t.Helper()
	q := `INSERT INTO mcp_sessions (id, metadata, created_at, updated_at) VALUES ($1, $2::jsonb, now(), now())`
	if testdb.DialectName(s) == "sqlite" {
		q = `INSERT INTO mcp_sessions (id, metadata, created_at, updated_at)
VALUES (?1, ?2, CAST(unixepoch('subsec') * 1000 AS INTEGER), CAST(unixepoch('subsec') * 1000 AS INTEGER))`
	}
	testdb.Exec(t, s.DB(), q, id, doc)
}

// Item 1: a stored number beyond float64 (written before numbers were
// normalized, or by hand) no longer makes the session unreadable for good:
// Get and Modify return it as a json.Number, and no error quotes it.
func TestLegacyOutOfRangeNumbersReadable(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dsn string) {
		s := testdb.OpenStore(t, dsn)
		ctx := t.Context()
		id := mcpsession.NewID()
		huge := "1" + strings.Repeat("0", 400)
		insertRaw(t, s, id, `{"big":1e400,"digits":`+huge+`,"ok":1.5,"list":[2,-1E400]}`)
		md, err := s.Get(ctx, id)
		if err != nil {
			t.Fatalf("Get of a row holding 1e400: %v", err)
		}
		if md["ok"] != 1.5 || md["list"].([]any)[0] != float64(2) {
			t.Fatalf("in-range numbers of a legacy row: %#v", md)
		}
		for _, k := range []string{"big", "digits"} {
			if _, isNumber := md[k].(json.Number); !isNumber {
				t.Fatalf("%s = %#v; want a json.Number", k, md[k])
			}
		}
		// Modify can repair it.
		err = s.Modify(ctx, id, func(m map[string]any) (map[string]any, error) {
			delete(m, "big")
			delete(m, "digits")
			m["list"] = []any{2}
			return m, nil
		})
		if err != nil {
			t.Fatalf("Modify of a legacy row: %v", err)
		}
		wantJSON(t, s, id, `{"list":[2],"ok":1.5}`)
	})
}

// Item 1 (Postgres): jsonb accepted nesting encoding/json cannot read
// (10001 levels). Such a row fails Get with an error that does not quote
// it, and Delete still removes it.
func TestLegacyTooDeepRow(t *testing.T) {
	t.Parallel()
	s := testdb.OpenStore(t, testdb.Postgres(t))
	ctx := t.Context()
	id := mcpsession.NewID()
	insertRaw(t, s, id, `{"v":`+strings.Repeat("[", 10000)+`"secret-looking"`+strings.Repeat("]", 10000)+`}`)
	_, err := s.Get(ctx, id)
	if err == nil || errors.Is(err, mcpsession.ErrNotFound) {
		t.Fatalf("Get of a 10001-level row = %v; want a decode error", err)
	}
	if strings.Contains(err.Error(), "secret-looking") || len(err.Error()) > 300 {
		t.Fatalf("the error quotes the stored document: %.300s", err)
	}
	if err := s.Delete(ctx, id); err != nil {
		t.Fatal(err)
	}
	wantMissing(t, s, id)
}

func wantJSON(t *testing.T, s *sqlstore.Store, id, want string) {
	t.Helper()
	md, err := s.Get(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(md)
	if string(b) != want {
		t.Fatalf("Get(%s) = %s; want %s", id, b, want)
	}
}

func wantMissing(t *testing.T, s *sqlstore.Store, id string) {
	t.Helper()
	if _, err := s.Get(t.Context(), id); !errors.Is(err, mcpsession.ErrNotFound) {
		t.Fatalf("Get(%s) = %v; want ErrNotFound", id, err)
	}
}

// Item 6 (Postgres): an Update that waited for a Modify's row lock stamps
// the time it wrote, after the Modify's, not the time it started waiting:
// updated_at never moves backwards under contention.
func TestWriteAfterLockWaitStampsWhenWritten(t *testing.T) {
	t.Parallel()
	s := testdb.OpenStore(t, testdb.Postgres(t))
	ctx := t.Context()
	id := mcpsession.NewID()
	if err := s.Create(ctx, id, nil); err != nil {
		t.Fatal(err)
	}
	inFn, release := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		err := s.Modify(ctx, id, func(m map[string]any) (map[string]any, error) {
			close(inFn)
			<-release
			m["by"] = "modify"
			return m, nil
		})
		if err != nil {
			t.Error(err)
		}
	})
	<-inFn
	updated := make(chan error, 1)
	go func() { updated <- s.Update(ctx, id, map[string]any{"by": "update"}) }()
	waitForLockWait(t, s.DB())
	// The Update has started and waits; the Modify writes after this.
	var released, stamp time.Time
	if err := s.DB().QueryRowContext(ctx, `SELECT clock_timestamp()`).Scan(&released); err != nil {
		t.Fatal(err)
	}
	close(release)
	wg.Wait()
	if err := <-updated; err != nil {
		t.Fatal(err)
	}
	wantJSON(t, s, id, `{"by":"update"}`)
	if err := s.DB().QueryRowContext(ctx, `SELECT updated_at FROM mcp_sessions WHERE id = $1`, id).Scan(&stamp); err != nil {
		t.Fatal(err)
	}
	if !stamp.After(released) {
		t.Fatalf("the Update that waited behind Modify stamped %v, %v before the Modify was released; want a stamp from after its wait",
			stamp, released.Sub(stamp))
	}
}

// waitForLockWait returns once some backend of db's server waits for a
// row lock (pg_locks: a lock not granted). It polls: the wait happens in
// the server, and nothing in this process can signal it.
func waitForLockWait(t *testing.T, db *sql.DB) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM pg_locks WHERE NOT granted`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("no backend started waiting for a lock within 10s")
}

// Item 7: every store call from inside a Modify function fails at once
// with ErrCallInModify, on both dialects, and writes nothing; the Modify
// itself completes.
func TestCallInModifyRefused(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dsn string) {
		s := testdb.OpenStore(t, dsn)
		other := testdb.OpenStore(t, dsn) // another Store of the process, same database
		// A deadline far beyond what the calls need: a call that waited
		// for Modify's lock would fail with it instead of ErrCallInModify.
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
		defer cancel()
		self, peer := mcpsession.NewID(), mcpsession.NewID()
		for _, id := range []string{self, peer} {
			if err := s.Create(ctx, id, map[string]any{"n": 1}); err != nil {
				t.Fatal(err)
			}
		}
		var errs []error
		err := s.Modify(ctx, self, func(m map[string]any) (map[string]any, error) {
			_, getErr := s.Get(ctx, peer)
			_, cleanErr := s.Cleanup(ctx, time.Hour)
			errs = append(errs,
				s.Update(ctx, peer, map[string]any{"n": 2}),
				s.Update(ctx, self, map[string]any{"n": 3}),
				other.Update(ctx, peer, map[string]any{"n": 4}),
				s.Create(ctx, mcpsession.NewID(), nil),
				s.Delete(ctx, peer),
				s.Touch(ctx, peer),
				s.Modify(ctx, peer, func(m map[string]any) (map[string]any, error) { return m, nil }),
				getErr, cleanErr)
			m["n"] = 5
			return m, nil
		})
		if err != nil {
			t.Fatalf("Modify: %v", err)
		}
		for i, err := range errs {
			if !errors.Is(err, mcpsession.ErrCallInModify) {
				t.Errorf("call %d from inside Modify: %v; want ErrCallInModify", i, err)
			}
		}
		wantJSON(t, s, self, `{"n":5}`)
		wantJSON(t, s, peer, `{"n":1}`)
		// The same calls after Modify returned work again.
		if err := s.Update(ctx, peer, map[string]any{"n": 2}); err != nil {
			t.Fatal(err)
		}
	})
}

// Item 10: a call whose context ends fails with an error that matches the
// context's error, whatever the driver reported first ("bad connection",
// "transaction has already been committed or rolled back"), under random
// deadlines on every operation.
func TestErrorsMatchEndedContext(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dsn string) {
		s := testdb.OpenStore(t, dsn, sqlstore.WithCleanupBatchSize(3))
		ids := make([]string, 20)
		for i := range ids {
			ids[i] = mcpsession.NewID()
			if err := s.Create(t.Context(), ids[i], map[string]any{"i": i}); err != nil {
				t.Fatal(err)
			}
		}
		ops := []func(ctx context.Context, id string) error{
			func(ctx context.Context, id string) error { _, err := s.Get(ctx, id); return err },
			func(ctx context.Context, id string) error { return s.Update(ctx, id, map[string]any{"x": 1}) },
			func(ctx context.Context, id string) error { return s.Touch(ctx, id) },
			func(ctx context.Context, id string) error {
				return s.Modify(ctx, id, func(m map[string]any) (map[string]any, error) { m["y"] = 2; return m, nil })
			},
			func(ctx context.Context, id string) error { _, err := s.Cleanup(ctx, time.Millisecond); return err },
			func(ctx context.Context, id string) error { return s.Create(ctx, id, nil) },
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		ended, bad := 0, []string{}
		for w := range 8 {
			wg.Go(func() {
				r := rand.New(rand.NewPCG(uint64(w), 1))
				for i := range 150 {
					ctx, cancel := context.WithTimeout(t.Context(), time.Duration(r.IntN(3000))*time.Microsecond)
					err := ops[i%len(ops)](ctx, ids[r.IntN(len(ids))])
					cerr := ctx.Err()
					cancel()
					if err == nil || cerr == nil || errors.Is(err, mcpsession.ErrNotFound) ||
						errors.Is(err, mcpsession.ErrExists) || errors.Is(err, mcpsession.ErrCleanupInProgress) {
						continue
					}
					mu.Lock()
					ended++
					if !errors.Is(err, cerr) {
						bad = append(bad, err.Error())
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		for _, e := range bad {
			t.Errorf("error after the context ended does not match it: %s", e)
		}
		t.Logf("%d calls failed after their context ended; %d did not match it", ended, len(bad))
	})
}

// Item 11: a Postgres database whose encoding is not UTF8 is refused at
// Open with ErrUnsupportedDatabase, before any write could fail on a
// conversion (and postgres.Dialect().CheckDatabase says so, for callers of
// New).
func TestNonUTF8DatabaseRefused(t *testing.T) {
	t.Parallel()
	admin := testdb.PostgresAdminDSN(t)
	ctx := t.Context()
	db, err := postgres.Dialect().Driver().Open(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, enc := range []string{"SQL_ASCII", "LATIN1"} {
		name := "enc_" + strings.ToLower(enc) + "_" + strings.ToLower(mcpsession.NewID()[:8])
		testdb.Exec(t, db, fmt.Sprintf(`CREATE DATABASE %s ENCODING '%s' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0`, name, enc))
		t.Cleanup(func() { db.Exec(`DROP DATABASE IF EXISTS ` + name + ` WITH (FORCE)`) })
		dsn := withDatabase(t, admin, name)
		_, err := sqlstore.Open(ctx, testdb.Dialect(dsn), dsn, sqlstore.WithAutoMigrate())
		if !errors.Is(err, dialects.ErrUnsupportedDatabase) || !strings.Contains(err.Error(), enc) {
			t.Errorf("Open on a %s database: %v; want ErrUnsupportedDatabase naming %s", enc, err, enc)
		}
		raw, err := postgres.Dialect().Driver().Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		if err := postgres.Dialect().Driver().CheckDatabase(ctx, raw); !errors.Is(err, dialects.ErrUnsupportedDatabase) {
			t.Errorf("CheckDatabase on a %s database: %v; want ErrUnsupportedDatabase", enc, err)
		}
		raw.Close()
		// Nothing was created on it.
		var tables int
		check, _ := postgres.Dialect().Driver().Open(ctx, dsn)
		if err := check.QueryRowContext(ctx, `SELECT count(*) FROM pg_tables WHERE tablename LIKE 'mcp%'`).Scan(&tables); err != nil || tables != 0 {
			t.Errorf("tables on the refused database: %d (%v)", tables, err)
		}
		check.Close()
	}
}

func withDatabase(t *testing.T, dsn, name string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("test DSN is not a URL: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

// GetWithTTL returns what Get returns and the time left on the database's
// clock: the idle timeout after the last write, capped by the lifetime.
func TestGetWithTTL(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dsn string) {
		ctx := t.Context()
		never := testdb.OpenStore(t, dsn)
		id := mcpsession.NewID()
		if err := never.Create(ctx, id, map[string]any{"a": 1}); err != nil {
			t.Fatal(err)
		}
		md, left, err := never.GetWithTTL(ctx, id)
		if err != nil || md["a"] != float64(1) || left != time.Duration(1<<63-1) {
			t.Fatalf("GetWithTTL without expiry = %v, %v, %v", md, left, err)
		}
		idle := testdb.OpenStore(t, dsn, sqlstore.WithIdleTimeout(time.Hour))
		if _, left, err = idle.GetWithTTL(ctx, id); err != nil || left > time.Hour || left < time.Hour-time.Minute {
			t.Fatalf("time left with a 1h idle timeout = %v, %v", left, err)
		}
		both := testdb.OpenStore(t, dsn, sqlstore.WithIdleTimeout(time.Hour), sqlstore.WithMaxLifetime(10*time.Minute))
		if _, left, err = both.GetWithTTL(ctx, id); err != nil || left > 10*time.Minute || left < 9*time.Minute {
			t.Fatalf("time left with a 10m lifetime = %v, %v", left, err)
		}
		if _, _, err := both.GetWithTTL(ctx, mcpsession.NewID()); !errors.Is(err, mcpsession.ErrNotFound) {
			t.Fatalf("GetWithTTL of a missing session = %v", err)
		}
	})
}
