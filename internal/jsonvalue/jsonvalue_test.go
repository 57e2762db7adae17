package jsonvalue

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
)

func decode(t *testing.T, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestEqual(t *testing.T) {
	docs := []string{
		`{}`, `[]`, `null`, `true`, `false`, `0`, `1`, `"1"`, `""`,
		`{"a":1}`, `{"a":"1"}`, `{"a":1,"b":2}`, `{"b":1}`, `{"a":null}`,
		`{"a":{"b":[1,2,{"c":true}]}}`, `{"a":{"b":[1,2,{"c":false}]}}`, `{"a":{"b":[1,2]}}`,
		`[1,2]`, `[2,1]`, `[[]]`, `[{}]`,
	}
	for i, a := range docs {
		for j, b := range docs {
			want := i == j
			if got := Equal(decode(t, a), decode(t, b)); got != want {
				t.Errorf("Equal(%s, %s) = %v; want %v", a, b, got, want)
			}
		}
	}
	if !Equal(json.Number("1.0"), json.Number("1.0")) || Equal(json.Number("1.0"), json.Number("1")) || Equal(json.Number("1"), 1.0) {
		t.Error("json.Number compares by its text, and never equals a float64")
	}
	type info struct{ Name string }
	if !Equal(info{"a"}, info{"a"}) || Equal(info{"a"}, info{"b"}) || Equal(info{"a"}, map[string]any{"Name": "a"}) {
		t.Error("values of other types compare with reflect.DeepEqual")
	}
}

func TestCopySharesNothing(t *testing.T) {
	orig := decode(t, `{"a":{"b":[1,{"c":"d"}]},"e":"f"}`).(map[string]any)
	cp := CopyMap(orig)
	if !Equal(orig, cp) {
		t.Fatalf("copy %v differs from %v", cp, orig)
	}
	inner := cp["a"].(map[string]any)
	inner["b"].([]any)[1].(map[string]any)["c"] = "changed"
	inner["new"] = true
	cp["e"] = "changed"
	if want := decode(t, `{"a":{"b":[1,{"c":"d"}]},"e":"f"}`); !Equal(orig, want) {
		t.Fatalf("changing the copy changed the original: %v", orig)
	}
}

func TestSize(t *testing.T) {
	small, large := decode(t, `{"a":"b"}`), decode(t, `{"a":"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb","c":[1,2,3]}`)
	if Size(small) <= 0 || Size(large) <= Size(small) {
		t.Fatalf("Size(%v) = %d, Size(%v) = %d; want positive and growing", small, Size(small), large, Size(large))
	}
}

// session is what an MCP server keeps for a session, about 500 bytes of
// JSON, as the benchmarks of integration/bench use.
const session = `{"protocolVersion":"2025-06-18","clientInfo":{"name":"claude-code","title":"Claude Code","version":"1.0.72"},
"clientCapabilities":{"roots":{"listChanged":true},"sampling":{},"elicitation":{}},
"serverCapabilities":{"logging":{},"completions":{},"prompts":{"listChanged":true},"resources":{"subscribe":true,"listChanged":true},"tools":{"listChanged":true}},
"logLevel":"info","requestCount":42,"lastRequestId":"req-0042","touchedAt":1733011200000,"tags":["a","b",{"c":1}]}`

func BenchmarkCopyMap(b *testing.B) {
	var v any
	if err := json.Unmarshal([]byte(session), &v); err != nil {
		b.Fatal(err)
	}
	m := v.(map[string]any)
	b.ReportAllocs()
	for b.Loop() {
		CopyMap(m)
	}
}

func TestMapLeaves(t *testing.T) {
	v := decode(t, `{"a":[1,{"b":-0.0}],"c":"x","d":null}`)
	var seen []any
	got := MapLeaves(v, func(l any) any {
		seen = append(seen, l)
		if f, ok := l.(float64); ok {
			return f * 10
		}
		return l
	})
	if d := Diff(got, decode(t, `{"a":[10,{"b":-0.0}],"c":"x","d":null}`)); d != "" {
		t.Fatal(d)
	}
	if len(seen) != 4 {
		t.Fatalf("f saw %v; want the 4 leaves", seen)
	}
	if got := MapLeaves(math.Copysign(0, -1), PositiveZero); Diff(got, 0.0) != "" {
		t.Fatalf("MapLeaves(-0, PositiveZero) = %#v; want 0", got)
	}
}

func TestDiff(t *testing.T) {
	for _, tc := range []struct{ got, want, where string }{
		{`{"a":[1,{"b":true}]}`, `{"a":[1,{"b":true}]}`, ""},
		{`{"a":[1,{"b":true}]}`, `{"a":[1,{"b":false}]}`, `"/a/1/b"`},
		{`{"a":[1,2]}`, `{"a":[1]}`, `"/a"`},
		{`{"a":1}`, `{"b":1}`, `key "b" missing`},
		{`{"a":0}`, `{"a":-0.0}`, `"/a"`},
		{`{"a":"1"}`, `{"a":1}`, `"/a"`},
	} {
		d := Diff(decode(t, tc.got), decode(t, tc.want))
		if (tc.where == "") != (d == "") || !strings.Contains(d, tc.where) {
			t.Errorf("Diff(%s, %s) = %q; want a difference at %s", tc.got, tc.want, d, tc.where)
		}
	}
}
