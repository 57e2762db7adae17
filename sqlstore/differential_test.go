package sqlstore_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/internal/jsonvalue"
	"github.com/mcpsession/mcpsession/internal/testdb"
	"github.com/mcpsession/mcpsession/sqlstore"
)

// FuzzDifferential drives a SQLite store and a Postgres store with the same
// operations, decoded from the fuzzer's bytes, and fails on any difference
// in outcome (which sentinel each call's error matches) or in what each
// session reads back afterwards, down to the sign of zero. Both are also
// checked against a model of the contract (encoding/json's decoding, zeros
// positive, shallow merges), so a mistake both dialects share is caught too.
//
// The seed corpus in testdata/fuzz/FuzzDifferential (and the f.Add seeds)
// runs with every `go test`, so `make test` replays it against its
// Postgres container. To search for new cases (see docs/testing.md):
//
//	MCPSESSION_TEST_POSTGRES_DSN=postgres://… go test ./sqlstore -run '^$' -fuzz FuzzDifferential -fuzztime 30m
func FuzzDifferential(f *testing.F) {
	for _, seed := range differentialSeeds() {
		f.Add(seed)
	}
	sqlite := testdb.OpenStore(f, testdb.SQLiteFile(f), sqlstore.WithMaxMetadataBytes(64<<10))
	pg := testdb.OpenStore(f, testdb.Postgres(f), sqlstore.WithMaxMetadataBytes(64<<10))
	f.Fuzz(func(t *testing.T, data []byte) {
		runDifferential(t, data, sqlite, pg)
	})
}

func runDifferential(t *testing.T, data []byte, a, b *sqlstore.Store) {
	ctx := context.Background()
	g := &gen{b: data}
	run := strings.ToLower(mcpsession.NewID()[:10])
	ids := make([]string, 4)
	for i := range ids {
		ids[i] = fmt.Sprintf("fz-%s-%d", run, i)
	}
	defer func() {
		for _, id := range ids {
			_ = a.Delete(ctx, id)
			_ = b.Delete(ctx, id)
		}
	}()
	model := map[string]map[string]any{}
	for step := 0; g.more() && step < 64; step++ {
		id := ids[g.n(len(ids))]
		var what string
		var errA, errB error
		var next map[string]any // the model's value after a success
		switch g.n(7) {
		case 0, 1:
			md := g.metadata()
			what = "Create " + show(md)
			errA, errB = a.Create(ctx, id, md), b.Create(ctx, id, md)
			if _, ok := model[id]; !ok {
				next = decoded(t, md)
			}
		case 2:
			patch := g.metadata()
			what = "Update " + show(patch)
			errA, errB = a.Update(ctx, id, patch), b.Update(ctx, id, patch)
			if cur, ok := model[id]; ok {
				next = maps.Clone(cur)
				maps.Copy(next, decoded(t, patch))
			}
		case 3:
			fn, describe, result := g.modifyFunc()
			what = "Modify " + describe
			errA, errB = a.Modify(ctx, id, fn), b.Modify(ctx, id, fn)
			if cur, ok := model[id]; ok {
				if r := result(maps.Clone(cur)); r != nil {
					next = decoded(t, r)
				}
			}
		case 4:
			what = "Delete"
			errA, errB = a.Delete(ctx, id), b.Delete(ctx, id)
			delete(model, id)
		case 5:
			what = "Touch"
			errA, errB = a.Touch(ctx, id), b.Touch(ctx, id)
		case 6:
			what = "Get"
			_, errA = a.Get(ctx, id)
			_, errB = b.Get(ctx, id)
		}
		ca, cb := outcome(errA), outcome(errB)
		if ca != cb {
			t.Fatalf("step %d, %s on %s: sqlite %s (%v), postgres %s (%v)", step, what, id, ca, errA, cb, errB)
		}
		if ca == "other" {
			t.Fatalf("step %d, %s: unexpected errors: sqlite %v, postgres %v", step, what, errA, errB)
		}
		if ca == "ok" && next != nil {
			model[id] = next
		}
		for _, id := range ids {
			compareRead(t, step, what, id, a, b, model[id])
		}
	}
}

// compareRead reads id from both stores and compares the two reads with
// each other and with the model (nil: the session must be missing).
func compareRead(t *testing.T, step int, what, id string, a, b *sqlstore.Store, want map[string]any) {
	t.Helper()
	ma, errA := a.Get(context.Background(), id)
	mb, errB := b.Get(context.Background(), id)
	if outcome(errA) != outcome(errB) {
		t.Fatalf("after step %d (%s), Get(%s): sqlite %v, postgres %v", step, what, id, errA, errB)
	}
	switch {
	case errA != nil && !errors.Is(errA, mcpsession.ErrNotFound):
		t.Fatalf("after step %d (%s), Get(%s) fails: sqlite %v, postgres %v", step, what, id, errA, errB)
	case errA != nil && want != nil:
		t.Fatalf("after step %d (%s), Get(%s) is not found; the model holds %s", step, what, id, show(want))
	case errA == nil && want == nil:
		t.Fatalf("after step %d (%s), Get(%s) = %s; the model says missing", step, what, id, show(ma))
	case errA == nil:
		if d := jsonvalue.Diff(ma, mb); d != "" {
			t.Fatalf("after step %d (%s), Get(%s) differs, sqlite vs postgres: %s", step, what, id, d)
		}
		if d := jsonvalue.Diff(ma, want); d != "" {
			t.Fatalf("after step %d (%s), Get(%s) differs from the model: %s", step, what, id, d)
		}
	}
}

// outcome names the class of a call's error.
func outcome(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, mcpsession.ErrTooLarge):
		return "too large"
	case errors.Is(err, mcpsession.ErrInvalidMetadata):
		return "invalid metadata"
	case errors.Is(err, mcpsession.ErrNotFound):
		return "not found"
	case errors.Is(err, mcpsession.ErrExists):
		return "exists"
	case errors.Is(err, errFromFn):
		return "fn error"
	}
	return "other"
}

// decoded is what a store gives back for md, per the contract: encoding/json
// decodes it, and every zero is positive.
func decoded(t *testing.T, md map[string]any) map[string]any {
	b, err := json.Marshal(md)
	if err != nil {
		return nil // refused; the outcome comparison has it
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		return nil // beyond float64: refused
	}
	if out == nil {
		out = map[string]any{}
	}
	return jsonvalue.MapLeaves(out, jsonvalue.PositiveZero).(map[string]any)
}

func show(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("(%v)", err)
	}
	if len(b) > 200 {
		return string(b[:200]) + "…"
	}
	return string(b)
}

var errFromFn = errors.New("fn refuses")

// gen turns fuzzer bytes into operations and values. Past the end of its
// bytes it reads zeros, so every generator terminates.
type gen struct {
	b []byte
	i int
}

func (g *gen) more() bool { return g.i < len(g.b) }

func (g *gen) byte() byte {
	if g.i >= len(g.b) {
		return 0
	}
	c := g.b[g.i]
	g.i++
	return c
}

func (g *gen) n(k int) int { return int(g.byte()) % k }

func (g *gen) metadata() map[string]any {
	if g.n(8) == 0 {
		return nil
	}
	m := map[string]any{}
	for range g.n(4) + 1 {
		m[g.key()] = g.value(2)
	}
	return m
}

var keyPieces = []string{"a", "b", "count", "", "é", "\u2028", "\x00", "\xff", "日本", "🎉", `"`, `\`, "$.x", "'"}

func (g *gen) key() string {
	var sb strings.Builder
	for range g.n(3) + 1 {
		sb.WriteString(keyPieces[g.n(len(keyPieces))])
	}
	return sb.String()
}

var stringPieces = []string{"x", "é", "\u2028", "\u2029", "\x00", "\xff", "\xc3\x28", "\ufffd", `\u0000`, `"`, `\`,
	"<&>", "日本語", "🎉", "\t\n", "1e400", " "}

func (g *gen) str() string {
	var sb strings.Builder
	for range g.n(4) {
		sb.WriteString(stringPieces[g.n(len(stringPieces))])
	}
	return sb.String()
}

var exponents = []int{0, 1, -1, 5, -6, -7, 20, 21, 22, 300, 307, 308, 309, 400, -300, -320, -323, -324, -325, -400, -16383, -16384, -20000, 131072}

// number returns a JSON number text: a mantissa from the bytes and an
// exponent chosen among the edges of float64 and of Postgres numeric.
func (g *gen) number() string {
	var sb strings.Builder
	if g.n(2) == 0 {
		sb.WriteByte('-')
	}
	digits := g.n(20) + 1
	if g.n(8) == 0 {
		digits = 400
	}
	sb.WriteByte('1' + byte(g.n(9)))
	for i := 1; i < digits; i++ {
		sb.WriteByte('0' + byte(g.n(10)))
	}
	switch g.n(4) {
	case 0:
		sb.WriteString(".")
		sb.WriteString(strings.Repeat("0", g.n(3)*10))
		sb.WriteByte('0' + byte(g.n(10)))
	case 1:
		sb.WriteString("e")
		sb.WriteString(strconv.Itoa(exponents[g.n(len(exponents))]))
	case 2:
		return map[int]string{0: "-0", 1: "0.0", 2: "-0.0e10", 3: "1.7976931348623157e308", 4: "1.7976931348623159e308",
			5: "4e-324", 6: "2e-324", 7: "-1e-400", 8: "1E5", 9: "9007199254740993"}[g.n(10)]
	}
	return sb.String()
}

var rawPieces = []string{`"\ud800"`, `"\udc00x"`, `"\ud83d\ude00"`, `"\u0000"`, `"\\u0000"`, `"\ufffd"`, `{"z":-0}`, `[1E400]`,
	`[-0.0,1e-400]`, `{`, `"a\u2028b"`, `null`, `{"a":{"b":[]}}`, "\"\xff\""}

func (g *gen) value(room int) any {
	switch g.n(18) {
	case 0:
		return nil
	case 1:
		return g.n(2) == 0
	case 2:
		return float64(int8(g.byte())) / 4
	case 3, 4:
		return json.Number(g.number())
	case 5:
		return json.RawMessage(g.number())
	case 6, 7:
		return g.str()
	case 8, 9:
		if room <= 0 {
			return g.str()
		}
		m := map[string]any{}
		for range g.n(3) {
			m[g.key()] = g.value(room - 1)
		}
		return m
	case 10:
		if room <= 0 {
			return nil
		}
		a := []any{}
		for range g.n(3) {
			a = append(a, g.value(room-1))
		}
		return a
	case 11:
		// Nesting around the limit: the document's depth is this value's
		// plus the top-level object's (and any parents').
		depths := []int{mcpsession.MaxMetadataDepth - 3, mcpsession.MaxMetadataDepth - 2, mcpsession.MaxMetadataDepth - 1,
			mcpsession.MaxMetadataDepth, mcpsession.MaxMetadataDepth + 1, 10001}
		return nestedValue(depths[g.n(len(depths))])
	case 12:
		return math.Copysign(0, -1)
	case 13:
		return json.RawMessage(rawPieces[g.n(len(rawPieces))])
	case 14:
		if g.n(2) == 0 {
			return textValue("bad \xff")
		}
		return textValue("fine ✓")
	case 15:
		return int64(1)<<53 + int64(g.byte())
	case 16:
		return math.Float64frombits(uint64(g.byte())<<56 | uint64(g.byte())<<48 | uint64(g.byte())<<40)
	default:
		return strings.Repeat("y", int(g.byte())*300) // toward the 64 KiB limit
	}
}

// textValue marshals as its text, through encoding.TextMarshaler.
type textValue string

func (v textValue) MarshalText() ([]byte, error) { return []byte(v), nil }

func nestedValue(levels int) any {
	var v any = 1
	for i := 0; i < levels; i++ {
		if i%2 == 0 {
			v = []any{v}
		} else {
			v = map[string]any{"n": v}
		}
	}
	return v
}

// modifyFunc returns a Modify function, a description, and what the
// function makes of the model's current value (nil: nothing is written).
func (g *gen) modifyFunc() (fn func(map[string]any) (map[string]any, error), describe string, result func(map[string]any) map[string]any) {
	switch g.n(4) {
	case 0:
		k, v := g.key(), g.value(1)
		return func(m map[string]any) (map[string]any, error) { m[k] = v; return m, nil },
			"set " + show(k) + " to " + show(v),
			func(m map[string]any) map[string]any { m[k] = v; return m }
	case 1:
		k := g.key()
		return func(m map[string]any) (map[string]any, error) { delete(m, k); return m, nil },
			"delete " + show(k),
			func(m map[string]any) map[string]any { delete(m, k); return m }
	case 2:
		md := g.metadata()
		return func(map[string]any) (map[string]any, error) { return md, nil },
			"replace with " + show(md),
			func(map[string]any) map[string]any {
				if md == nil {
					return map[string]any{}
				}
				return md
			}
	default:
		return func(map[string]any) (map[string]any, error) { return nil, errFromFn },
			"fail", func(map[string]any) map[string]any { return nil }
	}
}

// differentialSeeds are inputs that reach each kind of case at once.
func differentialSeeds() [][]byte {
	return [][]byte{
		{0, 0, 1, 0, 3, 0, 0, 6, 0},
		[]byte("create numbers: \x00\x01\x01\x03\x01\x02\x03"),
		{0, 1, 1, 0, 11, 4, 2, 1, 1, 0, 11, 5},
		{0, 0, 1, 0, 12, 6, 0, 3, 0, 0, 0, 12},
		{0, 0, 1, 0, 13, 7, 2, 0, 1, 0, 13, 8, 3, 0, 2, 1, 1, 0, 14, 0},
		{0, 0, 1, 1, 3, 1, 3, 12, 1, 0, 0, 0, 1, 1, 2, 2, 4, 1, 5},
	}
}
