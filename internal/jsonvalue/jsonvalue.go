// Package jsonvalue copies, walks and compares decoded JSON values: what
// encoding/json makes of a JSON document in an any (map[string]any, []any,
// string, float64, json.Number, bool, nil), as stores return metadata.
package jsonvalue

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"strconv"
)

// CopyMap returns a copy of a decoded JSON object that shares nothing
// mutable with m: maps and slices are copied, all the way down; strings,
// numbers, booleans and nil are values already. It is never nil.
func CopyMap(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	out := maps.Clone(m) // the table at once, then the nested values
	for k, v := range out {
		switch v.(type) {
		case map[string]any, []any:
			out[k] = Copy(v)
		}
	}
	return out
}

// Copy is CopyMap for any value. Values of other types are returned as they
// are.
func Copy(v any) any {
	switch v := v.(type) {
	case map[string]any:
		if v == nil {
			return v
		}
		return CopyMap(v)
	case []any:
		if v == nil {
			return v
		}
		out := slices.Clone(v)
		for i, e := range out {
			switch e.(type) {
			case map[string]any, []any:
				out[i] = Copy(e)
			}
		}
		return out
	}
	return v
}

// Equal reports whether a and b are the same decoded JSON value. Values of
// other types are compared with reflect.DeepEqual.
func Equal(a, b any) bool {
	switch a := a.(type) {
	case map[string]any:
		b, ok := b.(map[string]any)
		if !ok || len(a) != len(b) || (a == nil) != (b == nil) {
			return false
		}
		for k, av := range a {
			bv, ok := b[k]
			if !ok || !Equal(av, bv) {
				return false
			}
		}
		return true
	case []any:
		b, ok := b.([]any)
		if !ok || len(a) != len(b) || (a == nil) != (b == nil) {
			return false
		}
		for i := range a {
			if !Equal(a[i], b[i]) {
				return false
			}
		}
		return true
	case string:
		b, ok := b.(string)
		return ok && a == b
	case float64:
		b, ok := b.(float64)
		return ok && a == b
	case bool:
		b, ok := b.(bool)
		return ok && a == b
	case json.Number:
		b, ok := b.(json.Number)
		return ok && a == b
	case nil:
		return b == nil
	}
	return reflect.DeepEqual(a, b)
}

// Size estimates the memory a decoded JSON value holds, in bytes.
func Size(v any) int {
	switch v := v.(type) {
	case map[string]any:
		n := 48
		for k, e := range v {
			n += 16 + len(k) + Size(e)
		}
		return n
	case []any:
		n := 24
		for _, e := range v {
			n += Size(e)
		}
		return n
	case string:
		return 16 + len(v)
	}
	return 16
}

// MapLeaves replaces each value of the tree v that is neither an object nor
// an array with f of it, in place, and returns the tree (f(v) when v is
// such a value itself).
func MapLeaves(v any, f func(any) any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			v[k] = MapLeaves(e, f)
		}
		return v
	case []any:
		for i, e := range v {
			v[i] = MapLeaves(e, f)
		}
		return v
	}
	return f(v)
}

// PositiveZero returns 0 for -0 and v otherwise: with MapLeaves, a value as
// a store gives it back (JSON keeps no sign on a zero once stored).
func PositiveZero(v any) any {
	if f, ok := v.(float64); ok && f == 0 {
		return 0.0
	}
	return v
}

// Diff compares decoded JSON values as Equal does, but tells 0 from -0. It
// returns "" when they are the same, or says where they first differ.
func Diff(got, want any) string { return diffAt("", got, want) }

func diffAt(path string, got, want any) string {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok || len(g) != len(w) {
			return fmt.Sprintf("at %q: got %s, want %s", path, show(got), show(want))
		}
		for k, wv := range w {
			gv, ok := g[k]
			if !ok {
				return fmt.Sprintf("at %q: key %q missing", path, k)
			}
			if d := diffAt(path+"/"+k, gv, wv); d != "" {
				return d
			}
		}
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return fmt.Sprintf("at %q: got %s, want %s", path, show(got), show(want))
		}
		for i := range w {
			if d := diffAt(path+"/"+strconv.Itoa(i), g[i], w[i]); d != "" {
				return d
			}
		}
	case float64:
		if g, ok := got.(float64); !ok || g != w || math.Signbit(g) != math.Signbit(w) {
			return fmt.Sprintf("at %q: got %#v, want %#v", path, got, want)
		}
	default:
		if !Equal(got, want) {
			return fmt.Sprintf("at %q: got %#v, want %#v", path, got, want)
		}
	}
	return ""
}

// show is v as JSON, cut at 200 bytes, for messages.
func show(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%#v", v)
	}
	if len(b) > 200 {
		return string(b[:200]) + "…"
	}
	return string(b)
}
