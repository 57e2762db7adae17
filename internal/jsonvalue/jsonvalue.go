// Package jsonvalue copies and compares decoded JSON values: what
// encoding/json makes of a JSON document in an any (map[string]any, []any,
// string, float64, json.Number, bool, nil), as stores return metadata.
package jsonvalue

import (
	"encoding/json"
	"maps"
	"reflect"
	"slices"
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
