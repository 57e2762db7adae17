package requeststate

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// reference is the params' canonical form as the design states it, the
// long way: decoded with UseNumber, the retry's members deleted, encoded
// again by encoding/json.
func reference(t testing.TB, data []byte) []byte {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode %q: %v", data, err)
	}
	if m, ok := v.(map[string]any); ok {
		for _, k := range retryMembers {
			delete(m, k)
		}
	}
	out, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("encode %q: %v", data, err)
	}
	return out
}

var canonicalSeeds = []string{
	`{}`, `[]`, `null`, `true`, `false`, `0`, `-1.5e+10`, `"x"`, `""`,
	`{"name":"confirm","arguments":{"action":"deploy","n":1.5}}`,
	` { "b" : 1 , "a" : [ 1 , 2 , { "d" : null , "c" : true } ] } `,
	`{"a":1,"a":2,"b":{"x":1,"x":[3]}}`,
	`{"_meta":{"p":1},"inputResponses":{},"requestState":"t","keep":{"_meta":1,"requestState":2}}`,
	`[{"_meta":1}]`,
	`{"\u0061":1,"a":2}`,
	`{"é":"ü","e":"\u00e9","<>&":"<b>&amp;</b>","\u2028":"\u2029"}`,
	`{"esc":"\"\\\/\b\f\n\r\t\u0001","tab":"a\tb"}`,
	"{\"bad utf-8\":\"\xff\xfe\",\"\xc3\":1}",
	`{"z":{},"y":[],"x":[[]],"w":[{}]}`,
	`{"num":1.0,"num2":1E2,"num3":-0,"num4":0.000001}`,
	`{"B":1,"a":2,"_":3,"~":4,"":5}`,
	`{"k":"\ud83d\ude00","l":"😀","m":"\ud800"}`,
	strings.Repeat(`[`, 100) + strings.Repeat(`]`, 100),
	`{"a":{"b":{"c":{"d":{"e":{"f":{"g":{"h":{"i":{"j":1,"i":2,"h":3,"g":4,"f":5,"e":6,"d":7,"c":8,"b":9,"a":10}}}}}}}}}}`,
}

// canonical writes what encoding/json writes, for every seed.
func TestCanonicalIsEncodingJSONs(t *testing.T) {
	for _, s := range canonicalSeeds {
		if !json.Valid([]byte(s)) {
			t.Fatalf("seed %q is not valid JSON", s)
		}
		if got, want := canonical([]byte(s)), reference(t, []byte(s)); !bytes.Equal(got, want) {
			t.Errorf("canonical(%q) =\n%s\nwant\n%s", s, got, want)
		}
	}
}

// FuzzCanonical holds canonical to encoding/json's result on any valid
// JSON: go test -fuzz FuzzCanonical ./requeststate/
func FuzzCanonical(f *testing.F) {
	for _, s := range canonicalSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if !json.Valid(data) {
			return
		}
		if got, want := canonical(data), reference(t, data); !bytes.Equal(got, want) {
			t.Fatalf("canonical(%q) = %q; want %q", data, got, want)
		}
	})
}

// The canonical form of params nested as deep as encoding/json allows,
// with every object's members out of order, costs what the input's size
// says, not its size times its depth: a forged retry must not make Open
// copy gigabytes. The bound is loose; a cost that grows with depth times
// size takes minutes here.
func TestCanonicalDeepParams(t *testing.T) {
	const depth = 9000
	pad := strings.Repeat("p", 1000)
	var b strings.Builder
	for range depth {
		b.WriteString(`{"z":"` + pad + `","a":`)
	}
	b.WriteString(`1`)
	for range depth {
		b.WriteString(`}`)
	}
	data := []byte(b.String())
	if !json.Valid(data) {
		t.Fatal("the deep params are not valid JSON")
	}
	start := time.Now()
	got := canonical(data)
	took := time.Since(start)
	if want := reference(t, data); !bytes.Equal(got, want) {
		t.Fatal("canonical differs from encoding/json's on the deep params")
	}
	if took > 3*time.Second {
		t.Fatalf("canonical of %d bytes %d deep took %v", len(data), depth, took)
	}
}
