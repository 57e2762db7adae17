package sqlstore

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/mcpsession/mcpsession"
)

// The escape scanner must tell an escaped backslash followed by "u0000"
// (text) from the escape \u0000 (a NUL).
func TestCheckJSONTextEscapes(t *testing.T) {
	for in, wantErr := range map[string]bool{
		`literal \u0000 text`:   false,
		`\\u0000`:               false,
		"\\\x00":                true,
		"a\x00":                 true,
		`ends with backslash \`: false,
		"\uFFFD":                false,
		"\xff":                  true,
		"\U0001F600":            false,
	} {
		_, err := encodeMetadata(map[string]any{"v": in}, 1<<20)
		if (err != nil) != wantErr {
			t.Errorf("encode %q: %v; want error %v", in, err, wantErr)
		}
		if err != nil && !errors.Is(err, mcpsession.ErrInvalidMetadata) {
			t.Errorf("encode %q: %v does not match ErrInvalidMetadata", in, err)
		}
	}
	for raw, wantErr := range map[string]bool{
		`"\ud83d\ude00"`: false, // a surrogate pair
		`"\ud83d"`:       true,
		`"\ude00"`:       true,
		`"\ud83dx"`:      true,
		`"\uD83D\uDE00"`: false,
		`"\uFFFD"`:       false, // a deliberate U+FFFD from a RawMessage
		`"\u0000"`:       true,
		`"\\u0000"`:      false,
	} {
		_, err := encodeMetadata(map[string]any{"v": json.RawMessage(raw)}, 1<<20)
		if (err != nil) != wantErr {
			t.Errorf("encode raw %s: %v; want error %v", raw, err, wantErr)
		}
	}
}

// FuzzEncodeMetadata: any string is either refused as invalid metadata or
// stored so that it decodes back to itself.
func FuzzEncodeMetadata(f *testing.F) {
	for _, s := range []string{"", "plain", "a\x00b", "\xff", `\u0000`, "\uFFFD", "<&>", "\u2028", `"\\`} {
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, key, value string) {
		in := map[string]any{key: value, "nested": []any{value}}
		doc, err := encodeMetadata(in, 1<<20)
		valid := utf8.ValidString(key) && utf8.ValidString(value) &&
			!strings.ContainsRune(key, 0) && !strings.ContainsRune(value, 0)
		if !valid {
			if !errors.Is(err, mcpsession.ErrInvalidMetadata) {
				t.Fatalf("encode(%q: %q) = %s, %v; want ErrInvalidMetadata", key, value, doc, err)
			}
			return
		}
		if err != nil {
			t.Fatalf("encode(%q: %q): %v", key, value, err)
		}
		out, err := decodeMetadata([]byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		if want := map[string]any{key: value, "nested": []any{value}}; !reflect.DeepEqual(out, want) {
			t.Fatalf("round trip of %q: %q = %#v", key, value, out)
		}
	})
}
