package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/internal/jsonvalue"
)

// testNumbers: every number reads back as the float64 encoding/json decodes
// it to, whatever its text (exponents far beyond float64's, thousands of
// digits), with zero always positive; a number beyond float64's range is
// refused, since no read could ever return it.
func testNumbers(t *testing.T, k *kit) {
	s := k.open(t)
	ctx := t.Context()
	longFraction := "1." + strings.Repeat("0", 20000) + "1"
	in := map[string]any{
		"negZero":       math.Copysign(0, -1),
		"rawNegZero":    json.RawMessage(`-0`),
		"numNegZero":    json.Number("-0.0e5"),
		"underflow":     json.Number("1e-400"),
		"hugeNegExp":    json.Number("1e-20000"),
		"negUnderflow":  json.Number("-2e-324"),
		"maxFloat":      math.MaxFloat64,
		"maxText":       json.Number("1.7976931348623157e308"),
		"minFloat":      -math.MaxFloat64,
		"subnormal":     json.Number("4e-324"),
		"bigInt":        json.Number("123456789012345678901234567890"),
		"int64":         int64(9007199254740993),
		"manyDigits":    json.Number("0." + strings.Repeat("1", 500)),
		"longFraction":  json.Number(longFraction),
		"upperE":        json.RawMessage(`1E5`),
		"plusExp":       json.RawMessage(`2.5e+3`),
		"oneE21":        json.Number("1e21"),
		"smallFloat":    1e-7,
		"integerFloat":  json.Number("42.000"),
		"nestedZeros":   []any{json.Number("-0"), map[string]any{"x": json.Number("-1e-400"), "y": []any{json.RawMessage(`-0.0`)}}},
		"ordinary":      []any{0, 1, -1, 0.5, 123456789, 1e300},
		"stringLooking": "1e400", // a string, not a number
	}
	want := map[string]any{}
	for key, v := range in {
		want[key] = expectedNumbers(t, v)
	}
	wantNumbers := func(what, id string) {
		t.Helper()
		got := mustGet(t, s, id)
		if diff := jsonvalue.Diff(got, want); diff != "" {
			t.Fatalf("%s: %s", what, diff)
		}
	}
	id := ids(3)
	mustCreate(t, s, id[0], in)
	wantNumbers("Create", id[0])
	mustCreate(t, s, id[1], nil)
	if err := s.Update(ctx, id[1], in); err != nil {
		t.Fatalf("Update: %v", err)
	}
	wantNumbers("Update", id[1])
	if mod, ok := s.(mcpsession.Modifier); ok {
		mustCreate(t, s, id[2], nil)
		if err := mod.Modify(ctx, id[2], func(map[string]any) (map[string]any, error) { return in, nil }); err != nil {
			t.Fatalf("Modify: %v", err)
		}
		wantNumbers("Modify", id[2])
	}

	// Beyond float64: refused everywhere, and nothing written.
	existing := mcpsession.NewID()
	mustCreate(t, s, existing, map[string]any{"n": 1})
	for name, v := range map[string]any{
		"1e400":                  json.Number("1e400"),
		"1E400 raw":              json.RawMessage(`1E400`),
		"just over MaxFloat64":   json.Number("1.7976931348623159e308"),
		"400 digits":             json.Number("1" + strings.Repeat("0", 399)),
		"negative":               json.Number("-1e309"),
		"nested in an array":     []any{1, []any{json.Number("1e999")}},
		"nested in an object":    map[string]any{"a": map[string]any{"b": json.RawMessage(`[1,2,9e999]`)}},
		"huge exponent":          json.Number("1e2147483648"),
		"raw object with a huge": json.RawMessage(`{"x":-1e400}`),
	} {
		m := map[string]any{"v": v}
		fresh := mcpsession.NewID()
		err := s.Create(ctx, fresh, m)
		wantErr(t, "Create with "+name, err, mcpsession.ErrInvalidMetadata)
		wantNoValue(t, "Create with "+name, err, v)
		wantNotFound(t, s, fresh)
		err = s.Update(ctx, existing, m)
		wantErr(t, "Update with "+name, err, mcpsession.ErrInvalidMetadata)
		wantNoValue(t, "Update with "+name, err, v)
		if mod, ok := s.(mcpsession.Modifier); ok {
			err := mod.Modify(ctx, existing, func(map[string]any) (map[string]any, error) { return m, nil })
			wantErr(t, "Modify returning "+name, err, mcpsession.ErrInvalidMetadata)
		}
		wantMetadata(t, s, existing, map[string]any{"n": 1})
	}
}

// expectedNumbers is v as a store gives it back: decoded by encoding/json,
// with zeros positive.
func expectedNumbers(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("test value does not encode: %v", err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("test value does not decode: %v", err)
	}
	return jsonvalue.MapLeaves(out, jsonvalue.PositiveZero)
}

// wantNoValue fails if err's text quotes the refused value: errors must
// not carry metadata.
func wantNoValue(t *testing.T, what string, err error, v any) {
	t.Helper()
	if err == nil {
		return
	}
	b, _ := json.Marshal(v)
	text := string(b)
	if n, ok := v.(json.Number); ok {
		text = string(n)
	}
	if len(text) >= 4 && strings.Contains(err.Error(), text) {
		t.Fatalf("%s: the error quotes the metadata: %v", what, err)
	}
}

// nested returns a value that, as a key of the top-level object, makes
// the document depth levels deep: objects and arrays alternating.
func nested(depth int) any {
	var v any = "leaf"
	for i := 1; i < depth; i++ {
		if i%2 == 0 {
			v = []any{v}
		} else {
			v = map[string]any{"k": v}
		}
	}
	return v
}

// testDepth: documents up to mcpsession.MaxMetadataDepth levels deep are
// stored and read back on every path; one level more is refused with
// ErrInvalidMetadata, and far deeper ones fail as quickly.
func testDepth(t *testing.T, k *kit) {
	s := k.open(t)
	ctx := t.Context()
	deepest := map[string]any{"v": nested(mcpsession.MaxMetadataDepth)}
	id := ids(3)
	mustCreate(t, s, id[0], deepest)
	wantMetadata(t, s, id[0], deepest)
	mustCreate(t, s, id[1], map[string]any{"keep": true})
	if err := s.Update(ctx, id[1], deepest); err != nil {
		t.Fatalf("Update at the deepest level: %v", err)
	}
	wantMetadata(t, s, id[1], map[string]any{"keep": true, "v": deepest["v"]})
	if mod, ok := s.(mcpsession.Modifier); ok {
		mustCreate(t, s, id[2], nil)
		err := mod.Modify(ctx, id[2], func(map[string]any) (map[string]any, error) { return deepest, nil })
		if err != nil {
			t.Fatalf("Modify at the deepest level: %v", err)
		}
		wantMetadata(t, s, id[2], deepest)
		// And a Modify of the deep document itself reads it back.
		err = mod.Modify(ctx, id[2], func(m map[string]any) (map[string]any, error) { m["more"] = 1; return m, nil })
		if err != nil {
			t.Fatalf("Modify of a deepest document: %v", err)
		}
	}

	existing := mcpsession.NewID()
	mustCreate(t, s, existing, map[string]any{"n": 1})
	for _, depth := range []int{mcpsession.MaxMetadataDepth + 1, 10001, 100000} {
		m := map[string]any{"v": nested(depth)}
		raw := map[string]any{"v": json.RawMessage(strings.Repeat("[", depth-1) + strings.Repeat("]", depth-1))}
		for form, m := range map[string]map[string]any{"values": m, "raw": raw} {
			what := fmt.Sprintf("%d levels (%s)", depth, form)
			fresh := mcpsession.NewID()
			start := time.Now()
			wantErr(t, "Create of "+what, s.Create(ctx, fresh, m), mcpsession.ErrInvalidMetadata)
			wantNotFound(t, s, fresh)
			wantErr(t, "Update with "+what, s.Update(ctx, existing, m), mcpsession.ErrInvalidMetadata)
			if mod, ok := s.(mcpsession.Modifier); ok {
				err := mod.Modify(ctx, existing, func(map[string]any) (map[string]any, error) { return m, nil })
				wantErr(t, "Modify returning "+what, err, mcpsession.ErrInvalidMetadata)
			}
			wantMetadata(t, s, existing, map[string]any{"n": 1})
			if d := time.Since(start); d > 10*time.Second {
				t.Logf("refusing %s took %v", what, d)
			}
		}
	}
}

// testCallInModify: a store call from inside Modify's function (to any
// session, a read or a write) either works or fails at once with
// ErrCallInModify; it never waits, until the caller's deadline, for the
// lock Modify holds. Modify itself then completes.
func testCallInModify(t *testing.T, k *kit) {
	s := k.open(t)
	mod, ok := s.(mcpsession.Modifier)
	if !ok {
		t.Skip("store does not implement mcpsession.Modifier")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	self, other := mcpsession.NewID(), mcpsession.NewID()
	mustCreate(t, s, self, map[string]any{"n": 1})
	mustCreate(t, s, other, map[string]any{"other": true})
	identity := func(m map[string]any) (map[string]any, error) { return m, nil }
	calls := map[string]func() error{
		"Create another": func() error { return s.Create(ctx, mcpsession.NewID(), nil) },
		"Update another": func() error { return s.Update(ctx, other, map[string]any{"x": 1}) },
		"Update itself":  func() error { return s.Update(ctx, self, map[string]any{"x": 1}) },
		"Modify another": func() error { return mod.Modify(ctx, other, identity) },
		"Modify itself":  func() error { return mod.Modify(ctx, self, identity) },
		"Get another":    func() error { _, err := s.Get(ctx, other); return err },
		"Get itself":     func() error { _, err := s.Get(ctx, self); return err },
	}
	if tc, ok := s.(mcpsession.Toucher); ok {
		calls["Touch another"] = func() error { return tc.Touch(ctx, other) }
	}
	if cl, ok := s.(mcpsession.Cleaner); ok {
		calls["Cleanup"] = func() error {
			_, err := cl.Cleanup(ctx, time.Hour)
			if errors.Is(err, mcpsession.ErrCleanupInProgress) {
				return nil
			}
			return err
		}
	}
	calls["Delete another"] = func() error { return s.Delete(ctx, other) } // last: the others name it
	order := []string{"Get another", "Get itself", "Create another", "Update another", "Update itself",
		"Modify another", "Modify itself", "Touch another", "Cleanup", "Delete another"}
	results := map[string]error{}
	err := mod.Modify(ctx, self, func(m map[string]any) (map[string]any, error) {
		for _, name := range order {
			if call := calls[name]; call != nil {
				results[name] = call()
			}
		}
		m["n"] = 2
		return m, nil
	})
	if err != nil {
		t.Fatalf("Modify whose function called the store: %v", err)
	}
	for _, name := range order {
		err, ran := results[name]
		switch {
		case !ran, err == nil, errors.Is(err, mcpsession.ErrCallInModify):
		case ctx.Err() != nil:
			t.Errorf("%s from inside Modify waited out the deadline: %v", name, err)
		default:
			t.Errorf("%s from inside Modify: %v; want nil or ErrCallInModify", name, err)
		}
	}
	got := mustGet(t, s, self)
	if got["n"] != float64(2) {
		t.Fatalf("after Modify = %s; want n = 2", show(got))
	}
}
