package conformance_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/mcpsession/mcpsession/internal/testdb"
	"math"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/sqlstore"
)

// The hostile input tests go past storetest's HostileKeysAndValues: every
// visible ASCII character as an id, SQL and JSON-path syntax in ids and
// keys, unicode that tends to break escaping, values at the 1 MiB limit,
// and thousands of such sessions. Whatever is accepted must come back
// literally; whatever is refused must match the contract's error and write
// nothing; and bystander sessions must stay byte for byte as they were.

// sqlFragments are pieces of SQL and JSON syntax that break a statement or
// a JSON path if they are spliced into one.
var sqlFragments = []string{
	`'`, `''`, `"`, `\`, `\'`, `;`, `--`, `/*`, `*/`, `%`, `_`, `$1`, `$$`, `?`, `?1`, `:name`, `@p1`,
	`';DROP_TABLE_mcp_sessions;--`, `'OR'1'='1`, `");DELETE_FROM_mcp_sessions;--`,
	`$.a`, `$[0]`, `->`, `->>`, `#>`, `@>`, `||`, `::jsonb`, `\u0000`, `\x00`, `%00`, `{}`, `[]`,
}

// unicodeKeys are keys (and values) that tend to break escaping or
// normalisation. None holds U+0000 or invalid UTF-8, which are refused.
var unicodeKeys = []string{
	"日本語キー", "ключ", "مفتاح", "emoji 🔑", "👩‍👩‍👧", "𝄞 non-BMP", "e\u0301 combining", "é precomposed",
	"\u202eRTL override", "\ufeffBOM", "\u2028line\u2029para", "zero\u200bwidth", "\ufffd replacement",
	"tab\tnew\nline\rcr", "\x01\x1f control", "<script>&amp;</script>", `\u0041 is not A`, `\ud800 lone`,
}

func TestHostileInput(t *testing.T) {
	for _, d := range databases {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			s := testdb.OpenStore(t, d.dsn(t))
			bystanders := createBystanders(t, s, 50)
			before := snapshot(t, s, bystanders)

			t.Run("EveryASCIIID", func(t *testing.T) { testEveryASCIIID(t, s) })
			t.Run("SQLInIDsAndKeys", func(t *testing.T) { testSQLInIDsAndKeys(t, s) })
			t.Run("NearTheLimit", func(t *testing.T) { testNearTheLimit(t, s) })
			t.Run("Refused", func(t *testing.T) { testRefused(t, s) })
			t.Run("ManySessions", func(t *testing.T) { testManySessions(t, s) })

			after := snapshot(t, s, bystanders)
			if !reflect.DeepEqual(before, after) {
				for _, id := range bystanders {
					if before[id] != after[id] {
						t.Errorf("bystander %s changed:\nbefore %.300s\nafter  %.300s", id, before[id], after[id])
					}
				}
			}
			for _, id := range bystanders {
				wantStored(t, s, id, bystanderMetadata(id))
			}
		})
	}
}

// testEveryASCIIID creates one session per visible ASCII character, and
// one whose id is all of them, each with metadata naming its id.
func testEveryASCIIID(t *testing.T, s *sqlstore.Store) {
	var all strings.Builder
	var ids []string
	for c := byte(0x21); c <= 0x7e; c++ {
		ids = append(ids, string(c))
		all.WriteByte(c)
	}
	ids = append(ids, all.String())
	for _, id := range ids {
		mustCreate(t, s, id, map[string]any{"id": id, id: id})
	}
	for _, id := range ids {
		wantStored(t, s, id, map[string]any{"id": id, id: id})
	}
	for _, id := range ids {
		if err := s.Delete(t.Context(), id); err != nil {
			t.Fatalf("Delete(%q): %v", id, err)
		}
		wantGone(t, s, id)
	}
}

// testSQLInIDsAndKeys puts every fragment in ids, keys and values, through
// every call, and checks each session alone changed.
func testSQLInIDsAndKeys(t *testing.T, s *sqlstore.Store) {
	ctx := t.Context()
	keys := map[string]any{}
	for i, f := range sqlFragments {
		keys[f] = f
		keys["k"+f+"k"] = i
	}
	for _, k := range unicodeKeys {
		keys[k] = k
	}
	want := map[string]map[string]any{}
	for i, f := range sqlFragments {
		id := fmt.Sprintf("%s%d%s", f, i, f)
		mustCreate(t, s, id, keys)
		want[id] = clone(keys)
	}
	for id := range want {
		patch := map[string]any{`'`: "patched '" + id, "->>": nil, "new';--": map[string]any{"$1": []any{id, "--"}}}
		if err := s.Update(ctx, id, patch); err != nil {
			t.Fatalf("Update(%q): %v", id, err)
		}
		for k, v := range patch {
			want[id][k] = v
		}
		if err := s.Modify(ctx, id, func(m map[string]any) (map[string]any, error) {
			delete(m, "--")
			m["modified;"] = id
			return m, nil
		}); err != nil {
			t.Fatalf("Modify(%q): %v", id, err)
		}
		delete(want[id], "--")
		want[id]["modified;"] = id
		if err := s.Touch(ctx, id); err != nil {
			t.Fatalf("Touch(%q): %v", id, err)
		}
	}
	for id, m := range want {
		wantStored(t, s, id, m)
	}
	if n, err := s.Cleanup(ctx, 24*time.Hour); err != nil || n != 0 {
		t.Fatalf("Cleanup(24h) = %d, %v; want 0 deleted", n, err)
	}
	for id := range want {
		if err := s.Delete(ctx, id); err != nil {
			t.Fatalf("Delete(%q): %v", id, err)
		}
		wantGone(t, s, id)
	}
}

// testNearTheLimit stores values whose encoding is exactly the 1 MiB limit,
// full of quotes, backslashes and multi-byte characters (which the
// encoding makes longer), and checks one byte more is refused and writes
// nothing.
func testNearTheLimit(t *testing.T, s *sqlstore.Store) {
	ctx := t.Context()
	const limit = 1 << 20 // the store's default (sqlstore.WithMaxMetadataBytes)
	units := []string{
		`x`,
		`'; DROP TABLE mcp_sessions; -- "quoted" \back\slash `,
		"日本語🔑\u2028\ufeff<&>",
		"\x01\t\n\"\\",
	}
	for i, unit := range units {
		id := fmt.Sprintf("limit-%d-'--", i)
		at := fill(t, "v", unit, limit)
		if got := encodedLen(t, at); got != limit {
			t.Fatalf("test value encodes to %d bytes, want %d", got, limit)
		}
		mustCreate(t, s, id, at)
		wantStored(t, s, id, at)

		over := clone(at)
		over["v"] = over["v"].(string) + "x"
		if err := s.Create(ctx, id+"-over", over); !errors.Is(err, mcpsession.ErrTooLarge) {
			t.Fatalf("Create of %d encoded bytes: %v; want ErrTooLarge", limit+1, err)
		}
		wantGone(t, s, id+"-over")

		// The limit is on each call's metadata: a patch of the full size
		// over a full session is accepted, one byte more is refused and
		// leaves the session as it was.
		patch := fill(t, "v", unit+"2", limit)
		if err := s.Update(ctx, id, patch); err != nil {
			t.Fatalf("Update with %d encoded bytes: %v", limit, err)
		}
		wantStored(t, s, id, patch)
		patchOver := clone(patch)
		patchOver["v"] = patchOver["v"].(string) + "x"
		if err := s.Update(ctx, id, patchOver); !errors.Is(err, mcpsession.ErrTooLarge) {
			t.Fatalf("Update with %d encoded bytes: %v; want ErrTooLarge", limit+1, err)
		}
		wantStored(t, s, id, patch)

		if err := s.Delete(ctx, id); err != nil {
			t.Fatal(err)
		}
	}

	// A key of nearly a megabyte.
	key := strings.Repeat(`k'"\;--`, (limit-64)/10)
	m := map[string]any{key: "v"}
	mustCreate(t, s, "huge-key", m)
	wantStored(t, s, "huge-key", m)
	if err := s.Delete(ctx, "huge-key"); err != nil {
		t.Fatal(err)
	}
}

// testRefused checks that input the contract refuses is refused with its
// error and writes nothing, not even part of a session.
func testRefused(t *testing.T, s *sqlstore.Store) {
	ctx := t.Context()
	const live = "refused-live"
	mustCreate(t, s, live, map[string]any{"keep": "me"})

	badIDs := []string{
		"", " ", "a b", "tab\t", "new\nline", "nul\x00", "del\x7f", "sessión", "日本", "🔑",
		"'; DROP TABLE mcp_sessions; --\n", strings.Repeat("z", mcpsession.MaxIDLength+1),
	}
	for _, id := range badIDs {
		if err := s.Create(ctx, id, nil); !errors.Is(err, mcpsession.ErrInvalidID) {
			t.Errorf("Create(%q): %v; want ErrInvalidID", id, err)
		}
		if _, err := s.Get(ctx, id); !errors.Is(err, mcpsession.ErrInvalidID) {
			t.Errorf("Get(%q): %v; want ErrInvalidID", id, err)
		}
		if err := s.Update(ctx, id, map[string]any{"a": 1}); !errors.Is(err, mcpsession.ErrInvalidID) {
			t.Errorf("Update(%q): %v; want ErrInvalidID", id, err)
		}
		if err := s.Delete(ctx, id); !errors.Is(err, mcpsession.ErrInvalidID) {
			t.Errorf("Delete(%q): %v; want ErrInvalidID", id, err)
		}
	}

	badMetadata := []map[string]any{
		{"nul": "a\x00b"},
		{"nul\x00key": 1},
		{"bad utf-8": "\xff\xfe"},
		{"bad\xffkey": 1},
		{"nested": map[string]any{"deep": []any{"ok", "\x00"}}},
		{"nan": math.NaN()},
		{"inf": math.Inf(1)},
		{"func": func() {}},
		{"chan": make(chan int)},
	}
	for i, m := range badMetadata {
		id := fmt.Sprintf("refused-%d", i)
		if err := s.Create(ctx, id, m); !errors.Is(err, mcpsession.ErrInvalidMetadata) {
			t.Errorf("Create with metadata #%d: %v; want ErrInvalidMetadata", i, err)
		}
		wantGone(t, s, id)
		if err := s.Update(ctx, live, m); !errors.Is(err, mcpsession.ErrInvalidMetadata) {
			t.Errorf("Update with metadata #%d: %v; want ErrInvalidMetadata", i, err)
		}
		err := s.Modify(ctx, live, func(map[string]any) (map[string]any, error) { return m, nil })
		if !errors.Is(err, mcpsession.ErrInvalidMetadata) {
			t.Errorf("Modify returning metadata #%d: %v; want ErrInvalidMetadata", i, err)
		}
	}
	wantStored(t, s, live, map[string]any{"keep": "me"})
	if err := s.Delete(ctx, live); err != nil {
		t.Fatal(err)
	}
}

// testManySessions creates thousands of sessions with hostile ids and
// keys, concurrently, then checks each one and deletes a third of them.
func testManySessions(t *testing.T, s *sqlstore.Store) {
	ctx := t.Context()
	const n = 2000
	id := func(i int) string {
		f := sqlFragments[i%len(sqlFragments)]
		return fmt.Sprintf("many%s%d%s", f, i, f)
	}
	meta := func(i int) map[string]any {
		k := unicodeKeys[i%len(unicodeKeys)]
		return map[string]any{k: id(i), "i": i, sqlFragments[(i+1)%len(sqlFragments)]: k}
	}
	parallel(t, n, func(i int) error { return s.Create(ctx, id(i), meta(i)) })
	parallel(t, n, func(i int) error {
		got, err := s.Get(ctx, id(i))
		if err != nil {
			return err
		}
		if want := roundTrip(t, meta(i)); !reflect.DeepEqual(got, want) {
			return fmt.Errorf("session %q = %v; want %v", id(i), got, want)
		}
		return nil
	})
	parallel(t, n, func(i int) error {
		if i%3 != 0 {
			return nil
		}
		return s.Delete(ctx, id(i))
	})
	parallel(t, n, func(i int) error {
		_, err := s.Get(ctx, id(i))
		switch {
		case i%3 == 0 && !errors.Is(err, mcpsession.ErrNotFound):
			return fmt.Errorf("deleted session %q: Get = %v; want ErrNotFound", id(i), err)
		case i%3 != 0 && err != nil:
			return fmt.Errorf("kept session %q: %w", id(i), err)
		}
		return nil
	})
	parallel(t, n, func(i int) error { return s.Delete(ctx, id(i)) })
}

// parallel runs f(0) … f(n-1) on eight goroutines and fails t with the
// first error.
func parallel(t *testing.T, n int, f func(i int) error) {
	t.Helper()
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
		next  = make(chan int)
	)
	for range 8 {
		wg.Go(func() {
			for i := range next {
				if err := f(i); err != nil {
					once.Do(func() { first = fmt.Errorf("#%d: %w", i, err) })
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	if first != nil {
		t.Fatal(first)
	}
}

func bystanderMetadata(id string) map[string]any {
	return map[string]any{
		"protocolVersion": "2025-06-18",
		"clientInfo":      map[string]any{"name": "bystander", "id": id},
		"note":            `I must not change: ' " \ ; -- ` + id,
	}
}

func createBystanders(t *testing.T, s *sqlstore.Store, n int) []string {
	t.Helper()
	ids := make([]string, n)
	for i := range ids {
		ids[i] = mcpsession.NewID()
		mustCreate(t, s, ids[i], bystanderMetadata(ids[i]))
	}
	return ids
}

// snapshot returns the stored row of each id as the database holds it:
// the metadata document and both timestamps, as text.
func snapshot(t *testing.T, s *sqlstore.Store, ids []string) map[string]string {
	t.Helper()
	q := `SELECT id, metadata, created_at, updated_at FROM mcp_sessions`
	if testdb.DialectName(s) == "postgres" {
		q = `SELECT id, metadata::text, created_at::text, updated_at::text FROM mcp_sessions`
	}
	rows, err := s.DB().QueryContext(t.Context(), q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	all := map[string]string{}
	for rows.Next() {
		var id, doc, created, updated string
		if err := rows.Scan(&id, &doc, &created, &updated); err != nil {
			t.Fatal(err)
		}
		all[id] = doc + " | " + created + " | " + updated
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, id := range ids {
		row, ok := all[id]
		if !ok {
			t.Fatalf("bystander %s is missing", id)
		}
		out[id] = row
	}
	return out
}

// fill returns {key: value} where value repeats unit, padded with x, so
// that the object encodes to exactly size bytes.
func fill(t *testing.T, key, unit string, size int) map[string]any {
	t.Helper()
	m := map[string]any{key: ""}
	base := encodedLen(t, m)
	perUnit := encodedLen(t, map[string]any{key: unit}) - base
	s := strings.Repeat(unit, (size-base)/perUnit)
	m[key] = s
	m[key] = s + strings.Repeat("x", size-encodedLen(t, m))
	return m
}

// encodedLen is the length of m as the store encodes it: encoding/json
// without HTML escaping.
func encodedLen(t *testing.T, m map[string]any) int {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		t.Fatal(err)
	}
	return buf.Len() - 1 // Encode adds a newline
}

func roundTrip(t *testing.T, m map[string]any) map[string]any {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]any{}
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func clone(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func mustCreate(t *testing.T, s mcpsession.Store, id string, m map[string]any) {
	t.Helper()
	if err := s.Create(t.Context(), id, m); err != nil {
		t.Fatalf("Create(%q): %v", id, err)
	}
}

// wantStored checks that id holds m exactly, as encoding/json decodes it.
func wantStored(t *testing.T, s mcpsession.Store, id string, m map[string]any) {
	t.Helper()
	got, err := s.Get(t.Context(), id)
	if err != nil {
		t.Fatalf("Get(%q): %v", id, err)
	}
	if want := roundTrip(t, m); !reflect.DeepEqual(got, want) {
		gb, _ := json.Marshal(got)
		wb, _ := json.Marshal(want)
		t.Fatalf("session %q:\n got %.300s\nwant %.300s", id, gb, wb)
	}
}

func wantGone(t *testing.T, s mcpsession.Store, id string) {
	t.Helper()
	if m, err := s.Get(t.Context(), id); !errors.Is(err, mcpsession.ErrNotFound) {
		t.Fatalf("Get(%q) = %v, %v; want ErrNotFound", id, m, err)
	}
}
