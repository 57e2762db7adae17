package cache

// copyMap returns a copy of a decoded JSON object that shares nothing
// mutable with m: maps and slices are copied, all the way down; strings,
// numbers, booleans and nil are values already.
func copyMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = copyValue(v)
	}
	return out
}

func copyValue(v any) any {
	switch v := v.(type) {
	case map[string]any:
		return copyMap(v)
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = copyValue(e)
		}
		return out
	}
	return v
}

// sizeOf estimates the memory a decoded JSON value holds, in bytes.
func sizeOf(v any) int {
	switch v := v.(type) {
	case map[string]any:
		n := 48
		for k, e := range v {
			n += 16 + len(k) + sizeOf(e)
		}
		return n
	case []any:
		n := 24
		for _, e := range v {
			n += sizeOf(e)
		}
		return n
	case string:
		return 16 + len(v)
	}
	return 16
}
