package requeststate_test

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"testing"
	"time"

	"github.com/mcpsession/mcpsession/internal/testdb"
	"github.com/mcpsession/mcpsession/requeststate"
	"github.com/mcpsession/mcpsession/sqlstore"
)

// The benchmarks put each figure beside its baseline, in the same run:
//
//   - BenchmarkSealOpen: a Seal and an Open of a state by a Sealer (its key
//     cached, so no database), with params and without, beside a bare
//     AES-256-GCM seal and open of the same state bytes with a key set up
//     once;
//   - BenchmarkSingleUse: OpenOnce on SQLite and Postgres, beside Open (the
//     same work without the single-use check) and the raw INSERT the check
//     runs, prepared once with database/sql on a table of the same shape;
//     and the two in turns in one loop (Interleaved), each timed, so that
//     both see the same noise of a busy host.
//
//	go test -run '^$' -bench . -benchmem ./requeststate/

// benchState is what a confirmation tool might keep: its step and the
// arguments it asked about.
var benchState = []byte(`{"step":"confirm","action":"deploy","target":"production","requested":"2026-07-28T12:00:00Z"}`)

var benchReq = requeststate.Request{
	Principal: "3f9a1c0e5b7d2468ace013579bdf2468",
	Method:    "tools/call",
	Params:    json.RawMessage(`{"name":"confirm","arguments":{"action":"deploy","target":"production"},"_meta":{"progressToken":7}}`),
}

func BenchmarkSealOpen(b *testing.B) {
	// Sealer/no-params binds no params (null), to tell the digest of the
	// params, twice per iteration, from the rest.
	for name, req := range map[string]requeststate.Request{
		"Sealer":           benchReq,
		"Sealer/no-params": {Principal: benchReq.Principal, Method: benchReq.Method},
	} {
		b.Run(name, func(b *testing.B) {
			s := benchSealer(b, testdb.SQLiteFile(b))
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				tok, err := s.Seal(ctx, req, benchState)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := s.Open(ctx, req, tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("AES-GCM", func(b *testing.B) {
		key := make([]byte, requeststate.KeySize)
		rand.Read(key)
		block, err := aes.NewCipher(key)
		if err != nil {
			b.Fatal(err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			nonce := make([]byte, aead.NonceSize())
			rand.Read(nonce)
			sealed := aead.Seal(nil, nonce, benchState, nil)
			if _, err := aead.Open(nil, nonce, sealed, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkSingleUse(b *testing.B) {
	for _, d := range []struct {
		name string
		dsn  func(b *testing.B) string
		// usedTable is mcp_requeststate_used's shape (migration 00006)
		// under another name; insert is the statement OpenOnce runs.
		usedTable, insert string
	}{
		{"sqlite", func(b *testing.B) string { return testdb.SQLiteFile(b) },
			`CREATE TABLE bench_used (id BLOB PRIMARY KEY NOT NULL, expires_at INTEGER NOT NULL) STRICT, WITHOUT ROWID;
CREATE INDEX bench_used_expires_at_idx ON bench_used (expires_at)`,
			`INSERT INTO bench_used (id, expires_at) VALUES (?1, ?2) ON CONFLICT (id) DO NOTHING`},
		{"postgres", func(b *testing.B) string { return testdb.Postgres(b) },
			`CREATE TABLE bench_used (id bytea PRIMARY KEY, expires_at timestamptz NOT NULL);
CREATE INDEX bench_used_expires_at_idx ON bench_used (expires_at)`,
			`INSERT INTO bench_used (id, expires_at) VALUES ($1, timestamptz 'epoch' + $2::bigint * interval '1 millisecond') ON CONFLICT (id) DO NOTHING`},
	} {
		b.Run(d.name, func(b *testing.B) {
			dsn := d.dsn(b)
			s := benchSealer(b, dsn)
			ctx := context.Background()
			db := testdb.OpenDB(b, dsn)
			if _, err := db.ExecContext(ctx, d.usedTable); err != nil {
				b.Fatal(err)
			}
			for _, once := range []bool{true, false} {
				name := map[bool]string{true: "OpenOnce", false: "Open"}[once]
				b.Run(name, func(b *testing.B) {
					// Each iteration opens a state of its own, sealed
					// beforehand.
					tokens := make([]string, b.N)
					for i := range tokens {
						tok, err := s.Seal(ctx, benchReq, benchState)
						if err != nil {
							b.Fatal(err)
						}
						tokens[i] = tok
					}
					open := s.Open
					if once {
						open = s.OpenOnce
					}
					b.ReportAllocs()
					b.ResetTimer()
					for _, tok := range tokens {
						if _, err := open(ctx, benchReq, tok); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
			b.Run("Interleaved", func(b *testing.B) {
				st, err := db.PrepareContext(ctx, d.insert)
				if err != nil {
					b.Fatal(err)
				}
				defer st.Close()
				benchInterleaved(b, s, st)
			})
			b.Run("RawInsert", func(b *testing.B) {
				st, err := db.PrepareContext(ctx, d.insert)
				if err != nil {
					b.Fatal(err)
				}
				defer st.Close()
				expires := time.Now().Add(10 * time.Minute).UnixMilli()
				id := make([]byte, 16)
				b.ReportAllocs()
				for b.Loop() {
					rand.Read(id)
					if err := rawInsert(ctx, st, id, expires); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// benchInterleaved times OpenOnce and the raw INSERT in turns within one
// loop, so that both see the same moments of a noisy host, and reports
// each one's mean.
func benchInterleaved(b *testing.B, s *requeststate.Sealer, st *sql.Stmt) {
	ctx := context.Background()
	tokens := make([]string, b.N)
	for i := range tokens {
		tok, err := s.Seal(ctx, benchReq, benchState)
		if err != nil {
			b.Fatal(err)
		}
		tokens[i] = tok
	}
	expires := time.Now().Add(10 * time.Minute).UnixMilli()
	id := make([]byte, 16)
	var once, raw time.Duration
	b.ResetTimer()
	for _, tok := range tokens {
		t0 := time.Now()
		if _, err := s.OpenOnce(ctx, benchReq, tok); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		rand.Read(id)
		if err := rawInsert(ctx, st, id, expires); err != nil {
			b.Fatal(err)
		}
		raw += time.Since(t1)
		once += t1.Sub(t0)
	}
	b.ReportMetric(float64(once.Nanoseconds())/float64(b.N), "OpenOnce-ns/op")
	b.ReportMetric(float64(raw.Nanoseconds())/float64(b.N), "RawInsert-ns/op")
	b.ReportMetric(float64(once)/float64(raw), "OpenOnce/RawInsert")
}

func rawInsert(ctx context.Context, st *sql.Stmt, id []byte, expires int64) error {
	res, err := st.ExecContext(ctx, id, expires)
	if err != nil {
		return err
	}
	_, err = res.RowsAffected()
	return err
}

func benchSealer(b *testing.B, dsn string) *requeststate.Sealer {
	b.Helper()
	store, err := sqlstore.Open(context.Background(), testdb.Dialect(dsn), dsn, sqlstore.WithAutoMigrate())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	s, err := requeststate.New(context.Background(), store)
	if err != nil {
		b.Fatal(err)
	}
	return s
}
