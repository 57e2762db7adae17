package sqlstore

import (
	"bytes"
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"sync"
	"unicode/utf8"

	"github.com/mcpsession/mcpsession"
)

// encoders are reused across calls: encoding into a pooled buffer leaves one
// allocation per call, the string the driver is given.
var encoders = sync.Pool{New: func() any {
	e := &encoder{}
	e.enc = json.NewEncoder(&e.buf)
	// Stored literally: <, > and & are data here, not HTML.
	e.enc.SetEscapeHTML(false)
	return e
}}

type encoder struct {
	buf bytes.Buffer
	enc *json.Encoder
}

// encodeMetadata returns metadata as the JSON object text the database
// stores, or an error matching ErrInvalidMetadata (or ErrTooLarge) that
// says why it cannot be stored. nil is the empty object.
func encodeMetadata(metadata map[string]any, limit int) (string, error) {
	if metadata == nil {
		return "{}", nil
	}
	e := encoders.Get().(*encoder)
	defer func() {
		if e.buf.Cap() <= 64<<10 { // do not pin huge buffers in the pool
			e.buf.Reset()
			encoders.Put(e)
		}
	}()
	if err := e.enc.Encode(metadata); err != nil {
		return "", fmt.Errorf("%w: %v", mcpsession.ErrInvalidMetadata, err)
	}
	b := bytes.TrimSuffix(e.buf.Bytes(), []byte{'\n'})
	if len(b) > limit {
		return "", fmt.Errorf("%w: %d bytes encoded, the limit is %d", mcpsession.ErrTooLarge, len(b), limit)
	}
	if err := checkJSONText(b, metadata); err != nil {
		return "", err
	}
	return string(b), nil
}

// checkJSONText refuses what encoding/json lets through but the databases
// cannot store faithfully:
//
//   - U+0000 in a string or key: jsonb cannot hold it, and SQLite's JSON
//     functions stop at it. encoding/json writes it as \u0000.
//   - invalid UTF-8: encoding/json silently replaces each bad byte with
//     \ufffd (an escape it writes for nothing else, since it writes a real
//     U+FFFD as raw UTF-8). Only a json.Marshaler or json.RawMessage can
//     produce the escape on purpose, so when it appears the input is
//     searched for the invalid string before refusing.
//   - raw invalid UTF-8 or a lone UTF-16 surrogate escape passed through
//     from a json.Marshaler or json.RawMessage.
func checkJSONText(b []byte, metadata map[string]any) error {
	if !utf8.Valid(b) {
		return fmt.Errorf("%w: invalid UTF-8", mcpsession.ErrInvalidMetadata)
	}
	replaced := false
	for i := bytes.IndexByte(b, '\\'); i >= 0; {
		// Outside strings encoding/json writes no backslash, so every one
		// starts an escape: \" \\ \/ \b \f \n \r \t or \uXXXX.
		if i+1 >= len(b) {
			break
		}
		next := i + 2
		if b[i+1] == 'u' && i+6 <= len(b) {
			r := hex4(b[i+2 : i+6])
			next = i + 6
			switch {
			case r == 0:
				return fmt.Errorf("%w: U+0000 in a string or key", mcpsession.ErrInvalidMetadata)
			case r == utf8.RuneError:
				replaced = true
			case r >= 0xD800 && r < 0xDC00: // high surrogate: a low one must follow
				if i+12 > len(b) || b[i+6] != '\\' || b[i+7] != 'u' {
					return fmt.Errorf("%w: lone UTF-16 surrogate escape", mcpsession.ErrInvalidMetadata)
				}
				if lo := hex4(b[i+8 : i+12]); lo < 0xDC00 || lo > 0xDFFF {
					return fmt.Errorf("%w: lone UTF-16 surrogate escape", mcpsession.ErrInvalidMetadata)
				}
				next = i + 12
			case r >= 0xDC00 && r <= 0xDFFF:
				return fmt.Errorf("%w: lone UTF-16 surrogate escape", mcpsession.ErrInvalidMetadata)
			}
		}
		j := bytes.IndexByte(b[next:], '\\')
		if j < 0 {
			break
		}
		i = next + j
	}
	if replaced && hasInvalidUTF8(reflect.ValueOf(metadata)) {
		return fmt.Errorf("%w: invalid UTF-8 in a string or key", mcpsession.ErrInvalidMetadata)
	}
	return nil
}

// hex4 decodes four hex digits; it returns -1 for anything else.
func hex4(h []byte) rune {
	var r rune
	for _, c := range h {
		r <<= 4
		switch {
		case '0' <= c && c <= '9':
			r |= rune(c - '0')
		case 'a' <= c && c <= 'f':
			r |= rune(c - 'a' + 10)
		case 'A' <= c && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return -1
		}
	}
	return r
}

var (
	jsonMarshaler = reflect.TypeFor[json.Marshaler]()
	textMarshaler = reflect.TypeFor[encoding.TextMarshaler]()
)

// hasInvalidUTF8 reports whether a string that encoding/json would encode
// from v, or a map key, is invalid UTF-8. It runs only after json.Marshal
// succeeded on v, so v holds no cycle. Values with their own marshalers are
// trusted: their output was checked as text.
func hasInvalidUTF8(v reflect.Value) bool {
	if !v.IsValid() {
		return false
	}
	t := v.Type()
	if t.Kind() != reflect.Interface && t.Kind() != reflect.Pointer &&
		(t.Implements(jsonMarshaler) || t.Implements(textMarshaler)) {
		return false
	}
	switch v.Kind() {
	case reflect.String:
		return !utf8.ValidString(v.String())
	case reflect.Interface, reflect.Pointer:
		return !v.IsNil() && hasInvalidUTF8(v.Elem())
	case reflect.Map:
		it := v.MapRange()
		for it.Next() {
			if hasInvalidUTF8(it.Key()) || hasInvalidUTF8(it.Value()) {
				return true
			}
		}
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return false // []byte is encoded as base64
		}
		for i := range v.Len() {
			if hasInvalidUTF8(v.Index(i)) {
				return true
			}
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if t.Field(i).IsExported() && hasInvalidUTF8(v.Field(i)) {
				return true
			}
		}
	}
	return false
}

// decodeMetadata decodes a stored JSON object as encoding/json does into a
// fresh map the caller owns.
func decodeMetadata(b []byte) (map[string]any, error) {
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("decode stored metadata: %w", err)
	}
	if m == nil {
		m = map[string]any{}
	}
	return m, nil
}
