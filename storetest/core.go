package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/mcpsession/mcpsession"
)

func testCreateGet(t *testing.T, k *kit) {
	s := k.open(t)
	id := ids(2)
	mustCreate(t, s, id[0], mcpMetadata())
	wantMetadata(t, s, id[0], mcpMetadata())

	// nil metadata is the empty object, and Get returns a non-nil map.
	mustCreate(t, s, id[1], nil)
	if m := mustGet(t, s, id[1]); len(m) != 0 {
		t.Fatalf("Create(nil) then Get = %s; want {}", show(m))
	}
}

func testCreateExists(t *testing.T, k *kit) {
	s := k.open(t)
	id := mcpsession.NewID()
	mustCreate(t, s, id, map[string]any{"owner": "first"})
	err := s.Create(t.Context(), id, map[string]any{"owner": "second", "extra": true})
	wantErr(t, "Create of an existing id", err, mcpsession.ErrExists)
	wantMetadata(t, s, id, map[string]any{"owner": "first"})

	// Deleted ids can be created again.
	if err := s.Delete(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, s, id, map[string]any{"owner": "third"})
	wantMetadata(t, s, id, map[string]any{"owner": "third"})
}

func testGetMissing(t *testing.T, k *kit) {
	s := k.open(t)
	wantNotFound(t, s, mcpsession.NewID())
}

func testGetFreshMap(t *testing.T, k *kit) {
	s := k.open(t)
	id := mcpsession.NewID()
	in := mcpMetadata()
	mustCreate(t, s, id, in)
	// Changing the map given to Create changes nothing stored.
	in["logLevel"] = "debug"
	in["clientInfo"].(map[string]any)["name"] = "changed"

	got := mustGet(t, s, id)
	got["logLevel"] = "error"
	got["clientInfo"].(map[string]any)["name"] = "mutated"
	delete(got, "capabilities")
	wantMetadata(t, s, id, mcpMetadata())
}

func testRoundTrip(t *testing.T, k *kit) {
	s := k.open(t)
	type point struct {
		X, Y int
		Tag  string `json:"tag,omitempty"`
	}
	in := map[string]any{
		"int":         42,
		"negative":    -7,
		"int64":       int64(9007199254740993), // beyond float64's integers: decodes as encoding/json decodes it
		"float":       1.5,
		"inexact":     0.1 + 0.2,
		"huge":        1e300,
		"tiny":        5e-324,
		"negzero":     math.Copysign(0, -1),
		"true":        true,
		"false":       false,
		"null":        nil,
		"string":      "hello",
		"empty":       "",
		"html":        "<b>&amp;</b>",
		"unicode":     "héllo wörld ✓ 日本語 🎉",
		"separators":  "line\u2028para\u2029end",
		"controls":    "tab\tnewline\ncr\rbell\a",
		"escapes":     `quote " backslash \ slash / literal \u0000`,
		"replacement": "a real U+FFFD: \uFFFD",
		"emptyObj":    map[string]any{},
		"emptyArr":    []any{},
		"nested":      map[string]any{"a": map[string]any{"b": map[string]any{"c": []any{1, "two", nil, true}}}},
		"array":       []any{1, 2.5, "x", map[string]any{"k": "v"}, []any{}},
		"ints":        []int{1, 2, 3},
		"struct":      point{X: 1, Y: 2},
		"raw":         json.RawMessage(`{"pre":"encoded","n":[1,2]}`),
		"bytes":       []byte("base64 me"),
	}
	id := mcpsession.NewID()
	mustCreate(t, s, id, in)
	wantMetadata(t, s, id, in)

	// The same values through Update land identically.
	id2 := mcpsession.NewID()
	mustCreate(t, s, id2, nil)
	if err := s.Update(t.Context(), id2, in); err != nil {
		t.Fatal(err)
	}
	wantMetadata(t, s, id2, in)
}

// testHostile stores ids and keys made to break SQL or JSON paths; they are
// stored literally, and other sessions stay intact.
func testHostile(t *testing.T, k *kit) {
	s := k.open(t)
	bystander := mcpsession.NewID()
	mustCreate(t, s, bystander, mcpMetadata())

	hostileIDs := []string{
		`'`, `"`, `';DROP_TABLE_mcp_sessions;--`, `--`, `/*`, `\`, `%`, `_`, `$1`, `?`, `?1`,
		`a'b"c\d`, `[]{}()`, "~!@#$%^&*", `$.key`, `"a".b`,
		string(make255('z')),
	}
	hostileKeys := map[string]any{
		"":                                "empty key",
		"'":                               1,
		`"`:                               2,
		`\`:                               3,
		`a.b`:                             4,
		`$`:                               5,
		`$.a`:                             6,
		`a[0]`:                            7,
		`"quoted"`:                        8,
		`x'; DROP TABLE mcp_sessions; --`: 9,
		`--comment`:                       10,
		"日本語キー":                           11,
		"emoji 🔑":                         12,
		`{"json":"in key"}`:               13,
		"tab\tkey":                        14,
		"->":                              15,
		"->>":                             16,
		"a\\\"b":                          17,
		"value with quotes":               `he said "hi" and 'bye'; -- \ done`,
	}
	for _, id := range hostileIDs {
		if err := mcpsession.ValidateID(id); err != nil {
			t.Fatalf("bad test id %q: %v", id, err)
		}
		mustCreate(t, s, id, hostileKeys)
		wantMetadata(t, s, id, hostileKeys)
		patch := map[string]any{`a.b`: "patched", `"quoted"`: map[string]any{"'": `"`}, "new'key": nil}
		if err := s.Update(t.Context(), id, patch); err != nil {
			t.Fatalf("Update(%q): %v", id, err)
		}
		want := map[string]any{}
		for k, v := range hostileKeys {
			want[k] = v
		}
		for k, v := range patch {
			want[k] = v
		}
		wantMetadata(t, s, id, want)
	}
	// Ids that differ only in case are different sessions.
	mustCreate(t, s, "CaseID", map[string]any{"v": "upper"})
	mustCreate(t, s, "caseid", map[string]any{"v": "lower"})
	wantMetadata(t, s, "CaseID", map[string]any{"v": "upper"})

	for _, id := range hostileIDs {
		if err := s.Delete(t.Context(), id); err != nil {
			t.Fatalf("Delete(%q): %v", id, err)
		}
		wantNotFound(t, s, id)
	}
	wantMetadata(t, s, bystander, mcpMetadata())
	wantMetadata(t, s, "caseid", map[string]any{"v": "lower"})
}

func make255(c byte) []byte {
	b := make([]byte, mcpsession.MaxIDLength)
	for i := range b {
		b[i] = c
	}
	return b
}

func testUpdateShallowMerge(t *testing.T, k *kit) {
	s := k.open(t)
	id := mcpsession.NewID()
	mustCreate(t, s, id, map[string]any{
		"nested": map[string]any{"x": 1, "y": 2},
		"list":   []any{1, 2, 3},
		"keep":   "kept",
		"gone":   "set to null",
		"num":    1,
	})
	err := s.Update(t.Context(), id, map[string]any{
		"nested": map[string]any{"z": 3, "inner": map[string]any{"n": nil}}, // replaced whole, not merged
		"list":   []any{9},                                                  // replaced, not appended
		"gone":   nil,                                                       // stored as null, key kept
		"added":  map[string]any{"a": nil},
		"num":    2.5,
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"nested": map[string]any{"z": 3, "inner": map[string]any{"n": nil}},
		"list":   []any{9},
		"keep":   "kept",
		"gone":   nil,
		"added":  map[string]any{"a": nil},
		"num":    2.5,
	}
	wantMetadata(t, s, id, want)
	got := mustGet(t, s, id)
	if v, ok := got["gone"]; !ok || v != nil {
		t.Fatalf(`after Update {"gone": null}: key present %v, value %v; want present and null`, ok, v)
	}

	// An empty or nil patch changes nothing.
	for _, p := range []map[string]any{nil, {}} {
		if err := s.Update(t.Context(), id, p); err != nil {
			t.Fatalf("Update(%v): %v", p, err)
		}
		wantMetadata(t, s, id, want)
	}
}

func testUpdateMissing(t *testing.T, k *kit) {
	s := k.open(t)
	id := ids(2)
	err := s.Update(t.Context(), id[0], map[string]any{"a": 1})
	wantErr(t, "Update of a missing session", err, mcpsession.ErrNotFound)
	wantNotFound(t, s, id[0])

	// Nor is a deleted session resurrected.
	mustCreate(t, s, id[1], map[string]any{"a": 1})
	if err := s.Delete(t.Context(), id[1]); err != nil {
		t.Fatal(err)
	}
	err = s.Update(t.Context(), id[1], map[string]any{"b": 2})
	wantErr(t, "Update of a deleted session", err, mcpsession.ErrNotFound)
	wantNotFound(t, s, id[1])
}

func testUpdateConcurrentKeys(t *testing.T, k *kit) {
	s := k.open(t)
	id := mcpsession.NewID()
	mustCreate(t, s, id, map[string]any{"base": true})
	const writers, rounds = 16, 8
	var wg sync.WaitGroup
	errs := make(chan error, writers*rounds)
	for w := range writers {
		wg.Go(func() {
			for r := range rounds {
				key := fmt.Sprintf("w%02d_r%d", w, r)
				if err := s.Update(t.Context(), id, map[string]any{key: w*100 + r}); err != nil {
					errs <- fmt.Errorf("update of %s: %w", key, err)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	want := map[string]any{"base": true}
	for w := range writers {
		for r := range rounds {
			want[fmt.Sprintf("w%02d_r%d", w, r)] = w*100 + r
		}
	}
	wantMetadata(t, s, id, want)
}

func testDelete(t *testing.T, k *kit) {
	s := k.open(t)
	id := ids(2)
	mustCreate(t, s, id[0], mcpMetadata())
	mustCreate(t, s, id[1], mcpMetadata())
	for i := 0; i < 2; i++ { // the second Delete finds nothing, and is still nil
		if err := s.Delete(t.Context(), id[0]); err != nil {
			t.Fatalf("Delete #%d: %v", i+1, err)
		}
		wantNotFound(t, s, id[0])
	}
	if err := s.Delete(t.Context(), mcpsession.NewID()); err != nil {
		t.Fatalf("Delete of a never-created id: %v", err)
	}
	wantMetadata(t, s, id[1], mcpMetadata())
}

func testInvalidID(t *testing.T, k *kit) {
	s := k.open(t)
	ctx := t.Context()
	bad := []string{
		"", " ", "a b", "tab\t", "nl\n", "nul\x00", "del\x7f", "\x20leading", "é", "日本",
		"\xff", string(append(make255('a'), 'a')),
	}
	for _, id := range bad {
		if mcpsession.ValidateID(id) == nil {
			t.Fatalf("ValidateID(%q) = nil; want ErrInvalidID", id)
		}
		wantErr(t, fmt.Sprintf("Create(%q)", id), s.Create(ctx, id, nil), mcpsession.ErrInvalidID)
		_, err := s.Get(ctx, id)
		wantErr(t, fmt.Sprintf("Get(%q)", id), err, mcpsession.ErrInvalidID)
		wantErr(t, fmt.Sprintf("Update(%q)", id), s.Update(ctx, id, nil), mcpsession.ErrInvalidID)
		wantErr(t, fmt.Sprintf("Delete(%q)", id), s.Delete(ctx, id), mcpsession.ErrInvalidID)
		if tc, ok := s.(mcpsession.Toucher); ok {
			wantErr(t, fmt.Sprintf("Touch(%q)", id), tc.Touch(ctx, id), mcpsession.ErrInvalidID)
		}
		if m, ok := s.(mcpsession.Modifier); ok {
			called := false
			err := m.Modify(ctx, id, func(m map[string]any) (map[string]any, error) { called = true; return m, nil })
			wantErr(t, fmt.Sprintf("Modify(%q)", id), err, mcpsession.ErrInvalidID)
			if called {
				t.Fatalf("Modify(%q) called its function", id)
			}
		}
	}
	// The edges of the rule are valid.
	for _, id := range []string{"!", "~", "a", string(make255('~')), mcpsession.NewID()} {
		if err := mcpsession.ValidateID(id); err != nil {
			t.Fatalf("ValidateID(%q): %v", id, err)
		}
		mustCreate(t, s, id, map[string]any{"id": id})
		wantMetadata(t, s, id, map[string]any{"id": id})
	}
}

// badMetadata lists metadata no store can keep as given.
func badMetadata() map[string]map[string]any {
	return map[string]map[string]any{
		"NaN":                 {"v": math.NaN()},
		"+Inf":                {"v": math.Inf(1)},
		"-Inf in array":       {"v": []any{1, math.Inf(-1)}},
		"channel":             {"v": make(chan int)},
		"func":                {"v": func() {}},
		"complex":             {"v": complex(1, 2)},
		"NUL in value":        {"v": "a\x00b"},
		"NUL in key":          {"a\x00b": 1},
		"NUL nested":          {"v": map[string]any{"w": []any{"ok", "\x00"}}},
		"invalid UTF-8":       {"v": "bad \xff byte"},
		"invalid UTF-8 key":   {"k\xfe": 1},
		"invalid UTF-8 deep":  {"v": []any{map[string]any{"w": "\xc3\x28"}}},
		"raw NUL":             {"v": json.RawMessage(`"a\u0000b"`)},
		"raw lone surrogate":  {"v": json.RawMessage(`"\ud800"`)},
		"raw invalid UTF-8":   {"v": json.RawMessage("\"\xff\"")},
		"raw not JSON":        {"v": json.RawMessage(`{`)},
		"marshaler error":     {"v": failingMarshaler{}},
		"struct invalid UTF8": {"v": struct{ S string }{"\xff"}},
		// encoding/json would write U+FFFD for each bad byte of what a
		// TextMarshaler returns, silently.
		"TextMarshaler value":       {"v": badText{}},
		"TextMarshaler in a slice":  {"v": []any{"ok", badText{}}},
		"TextMarshaler pointer":     {"v": &badText{}},
		"TextMarshaler key":         {"v": map[badText]int{{}: 1}},
		"TextMarshaler field":       {"v": struct{ T badText }{}},
		"TextMarshaler addressable": {"v": []ptrBadText{{}}},
	}
}

// badText marshals to invalid UTF-8.
type badText struct{}

func (badText) MarshalText() ([]byte, error) { return []byte("bad \xff text"), nil }

// ptrBadText marshals to invalid UTF-8 through a pointer receiver, which
// encoding/json uses for addressable values such as slice elements.
type ptrBadText struct{ X int }

func (*ptrBadText) MarshalText() ([]byte, error) { return []byte("\xfe"), nil }

type failingMarshaler struct{}

func (failingMarshaler) MarshalJSON() ([]byte, error) { return nil, errors.New("cannot marshal") }

func testInvalidMetadata(t *testing.T, k *kit) {
	s := k.open(t)
	ctx := t.Context()
	existing := mcpsession.NewID()
	mustCreate(t, s, existing, mcpMetadata())
	for name, m := range badMetadata() {
		id := mcpsession.NewID()
		wantErr(t, "Create with "+name, s.Create(ctx, id, m), mcpsession.ErrInvalidMetadata)
		wantNotFound(t, s, id)
		wantErr(t, "Update with "+name, s.Update(ctx, existing, m), mcpsession.ErrInvalidMetadata)
		wantMetadata(t, s, existing, mcpMetadata())
		if mod, ok := s.(mcpsession.Modifier); ok {
			err := mod.Modify(ctx, existing, func(map[string]any) (map[string]any, error) { return m, nil })
			wantErr(t, "Modify returning "+name, err, mcpsession.ErrInvalidMetadata)
			wantMetadata(t, s, existing, mcpMetadata())
		}
	}
}

// sized returns metadata whose JSON encoding is exactly n bytes.
func sized(n int) map[string]any {
	const frame = len(`{"v":""}`)
	return map[string]any{"v": bigString(n - frame)}
}

func testTooLarge(t *testing.T, k *kit) {
	s := k.open(t)
	ctx := t.Context()
	limit := k.maxBytes
	if b, _ := json.Marshal(sized(limit)); len(b) != limit {
		t.Fatalf("sized(%d) encodes to %d bytes", limit, len(b))
	}
	id := ids(2)
	// At the limit: stored.
	mustCreate(t, s, id[0], sized(limit))
	wantMetadata(t, s, id[0], sized(limit))
	// One byte over: refused, as ErrTooLarge and as ErrInvalidMetadata.
	err := s.Create(ctx, id[1], sized(limit+1))
	wantErr(t, "Create over the limit", err, mcpsession.ErrTooLarge)
	wantErr(t, "Create over the limit", err, mcpsession.ErrInvalidMetadata)
	wantNotFound(t, s, id[1])

	mustCreate(t, s, id[1], map[string]any{"small": true})
	err = s.Update(ctx, id[1], sized(limit+1))
	wantErr(t, "Update over the limit", err, mcpsession.ErrTooLarge)
	wantMetadata(t, s, id[1], map[string]any{"small": true})
	if mod, ok := s.(mcpsession.Modifier); ok {
		err = mod.Modify(ctx, id[1], func(map[string]any) (map[string]any, error) { return sized(limit + 1), nil })
		wantErr(t, "Modify over the limit", err, mcpsession.ErrTooLarge)
		wantMetadata(t, s, id[1], map[string]any{"small": true})
	}
}

func testContext(t *testing.T, k *kit) {
	s := k.open(t)
	existing := mcpsession.NewID()
	mustCreate(t, s, existing, map[string]any{"v": 1})

	canceled, cancel := context.WithCancel(t.Context())
	cancel()
	expired, cancel2 := context.WithTimeout(t.Context(), -1)
	defer cancel2()
	for _, c := range []struct {
		name string
		ctx  context.Context
		want error
	}{{"canceled", canceled, context.Canceled}, {"deadline", expired, context.DeadlineExceeded}} {
		id := mcpsession.NewID()
		wantErr(t, "Create with a "+c.name+" context", s.Create(c.ctx, id, nil), c.want)
		wantNotFound(t, s, id)
		_, err := s.Get(c.ctx, existing)
		wantErr(t, "Get with a "+c.name+" context", err, c.want)
		wantErr(t, "Update with a "+c.name+" context", s.Update(c.ctx, existing, map[string]any{"v": 2}), c.want)
		wantErr(t, "Delete with a "+c.name+" context", s.Delete(c.ctx, existing), c.want)
		if tc, ok := s.(mcpsession.Toucher); ok {
			wantErr(t, "Touch with a "+c.name+" context", tc.Touch(c.ctx, existing), c.want)
		}
		if m, ok := s.(mcpsession.Modifier); ok {
			err := m.Modify(c.ctx, existing, func(m map[string]any) (map[string]any, error) { m["v"] = 3; return m, nil })
			wantErr(t, "Modify with a "+c.name+" context", err, c.want)
		}
		if cl, ok := s.(mcpsession.Cleaner); ok {
			_, err := cl.Cleanup(c.ctx, time.Hour)
			wantErr(t, "Cleanup with a "+c.name+" context", err, c.want)
		}
		wantMetadata(t, s, existing, map[string]any{"v": 1})
	}
}

func testConcurrentCreateSameID(t *testing.T, k *kit) {
	s := k.open(t)
	id := mcpsession.NewID()
	const n = 16
	results := make(chan error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			results <- s.Create(t.Context(), id, map[string]any{"creator": i})
		})
	}
	close(start)
	wg.Wait()
	close(results)
	won := 0
	for err := range results {
		switch {
		case err == nil:
			won++
		case errors.Is(err, mcpsession.ErrExists):
		default:
			t.Fatalf("concurrent Create: %v", err)
		}
	}
	if won != 1 {
		t.Fatalf("%d concurrent Creates of one id succeeded; want exactly 1", won)
	}
}

// testConcurrentMixed runs 64 goroutines creating, reading, updating and
// deleting at once; no call may fail (on SQLite: no "database is locked").
func testConcurrentMixed(t *testing.T, k *kit) {
	s := k.open(t)
	shared := mcpsession.NewID()
	mustCreate(t, s, shared, nil)
	const workers, rounds = 64, 8
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			ctx := t.Context()
			for r := range rounds {
				id := mcpsession.NewID()
				md := mcpMetadata()
				md["worker"] = w
				if err := s.Create(ctx, id, md); err != nil {
					errs <- fmt.Errorf("worker %d Create: %w", w, err)
					return
				}
				if err := s.Update(ctx, id, map[string]any{"round": r}); err != nil {
					errs <- fmt.Errorf("worker %d Update: %w", w, err)
					return
				}
				if err := s.Update(ctx, shared, map[string]any{fmt.Sprintf("w%d", w): r}); err != nil {
					errs <- fmt.Errorf("worker %d Update shared: %w", w, err)
					return
				}
				got, err := s.Get(ctx, id)
				if err != nil {
					errs <- fmt.Errorf("worker %d Get: %w", w, err)
					return
				}
				if got["round"] != float64(r) || got["worker"] != float64(w) {
					errs <- fmt.Errorf("worker %d Get = %s", w, show(got))
					return
				}
				if r%2 == 0 {
					if err := s.Delete(ctx, id); err != nil {
						errs <- fmt.Errorf("worker %d Delete: %w", w, err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	got := mustGet(t, s, shared)
	for w := range workers {
		if got[fmt.Sprintf("w%d", w)] != float64(rounds-1) {
			t.Fatalf("shared session lost worker %d's last update: %s", w, show(got))
		}
	}
}
