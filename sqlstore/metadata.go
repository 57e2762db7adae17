package sqlstore

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/internal/jsonvalue"
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
//
// The text is normalized so that both databases store, and give back,
// exactly the same document: see normalize.
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
		// encoding/json's message names the Go type that failed, never
		// a value.
		return "", fmt.Errorf("%w: %v", mcpsession.ErrInvalidMetadata, err)
	}
	b := bytes.TrimSuffix(e.buf.Bytes(), []byte{'\n'})
	if !utf8.Valid(b) {
		return "", fmt.Errorf("%w: invalid UTF-8", mcpsession.ErrInvalidMetadata)
	}
	out, replaced, err := normalize(b)
	if err != nil {
		return "", err
	}
	if len(out) > limit {
		return "", fmt.Errorf("%w: %d bytes encoded, the limit is %d", mcpsession.ErrTooLarge, len(out), limit)
	}
	if replaced && hasInvalidUTF8(reflect.ValueOf(metadata)) {
		return "", fmt.Errorf("%w: invalid UTF-8 in a string or key", mcpsession.ErrInvalidMetadata)
	}
	return string(out), nil
}

// normalize checks the JSON text encoding/json produced (valid JSON, no
// insignificant whitespace) and returns the text to store, refusing what
// one of the databases, or encoding/json reading it back, could not keep
// faithfully:
//
//   - U+0000 in a string or key: jsonb cannot hold it, and SQLite's JSON
//     functions stop at it. encoding/json writes it as \u0000.
//   - a lone UTF-16 surrogate escape, from a json.Marshaler or
//     json.RawMessage: jsonb refuses it.
//   - nesting deeper than mcpsession.MaxMetadataDepth: SQLite's JSON
//     functions refuse it, and jsonb and encoding/json give up further on.
//   - a number whose magnitude is beyond float64's (over about 1.8e308):
//     it would be stored, and then every read would fail.
//
// Every number is rewritten as encoding/json writes the float64 it decodes
// to, with zero (signed or underflowed) written 0: jsonb's numeric has no
// negative zero and cannot hold exponents such as 1e-20000, while SQLite
// keeps any text, so only the canonical form reads back the same on both.
// Values read back exactly as before; only their text changes.
//
// replaced reports a \ufffd escape, which encoding/json writes for each
// invalid UTF-8 byte of a Go string (it writes a real U+FFFD as raw UTF-8),
// so the caller looks for such a string before accepting the text.
func normalize(b []byte) (out []byte, replaced bool, err error) {
	var (
		depth int
		last  int // b[:last] is already in out, when out is not nil
		num   [32]byte
	)
	for i := 0; i < len(b); {
		switch c := b[i]; c {
		case '"':
			end, rep, err := scanString(b, i+1)
			if err != nil {
				return nil, false, err
			}
			replaced = replaced || rep
			i = end
		case '{', '[':
			depth++
			if depth > mcpsession.MaxMetadataDepth {
				return nil, false, fmt.Errorf("%w: nested deeper than %d levels", mcpsession.ErrInvalidMetadata, mcpsession.MaxMetadataDepth)
			}
			i++
		case '}', ']':
			depth--
			i++
		case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
			j := i + 1
			for j < len(b) && isNumberByte(b[j]) {
				j++
			}
			canon, err := canonicalNumber(num[:0], b[i:j])
			if err != nil {
				return nil, false, err
			}
			if canon != nil { // nil: already canonical
				if out == nil {
					out = make([]byte, 0, len(b)+len(canon))
				}
				out = append(append(out, b[last:i]...), canon...)
				last = j
			}
			i = j
		default: // , : true false null
			i++
		}
	}
	if out == nil {
		return b, replaced, nil
	}
	return append(out, b[last:]...), replaced, nil
}

func isNumberByte(c byte) bool {
	return '0' <= c && c <= '9' || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-'
}

// scanString checks the JSON string whose text starts at b[i] (after the
// opening quote) and returns the index after its closing quote. Between
// escapes it jumps with bytes.IndexByte, so long strings cost little.
func scanString(b []byte, i int) (end int, replaced bool, err error) {
	for {
		q := bytes.IndexByte(b[i:], '"')
		if q < 0 {
			return 0, false, fmt.Errorf("%w: unterminated string", mcpsession.ErrInvalidMetadata)
		}
		bs := bytes.IndexByte(b[i:i+q], '\\')
		if bs < 0 {
			return i + q + 1, replaced, nil
		}
		i += bs // at a backslash: \" \\ \/ \b \f \n \r \t or \uXXXX
		if i+1 >= len(b) {
			return 0, false, fmt.Errorf("%w: unterminated escape", mcpsession.ErrInvalidMetadata)
		}
		if b[i+1] != 'u' {
			i += 2
			continue
		}
		if i+6 > len(b) {
			return 0, false, fmt.Errorf("%w: short \\u escape", mcpsession.ErrInvalidMetadata)
		}
		r := hex4(b[i+2 : i+6])
		switch {
		case r == 0:
			return 0, false, fmt.Errorf("%w: U+0000 in a string or key", mcpsession.ErrInvalidMetadata)
		case r == utf8.RuneError:
			replaced = true
		case r >= 0xD800 && r < 0xDC00: // high surrogate: a low one must follow
			if i+12 > len(b) || b[i+6] != '\\' || b[i+7] != 'u' {
				return 0, false, fmt.Errorf("%w: lone UTF-16 surrogate escape", mcpsession.ErrInvalidMetadata)
			}
			if lo := hex4(b[i+8 : i+12]); lo < 0xDC00 || lo > 0xDFFF {
				return 0, false, fmt.Errorf("%w: lone UTF-16 surrogate escape", mcpsession.ErrInvalidMetadata)
			}
			i += 6
		case r >= 0xDC00 && r <= 0xDFFF:
			return 0, false, fmt.Errorf("%w: lone UTF-16 surrogate escape", mcpsession.ErrInvalidMetadata)
		}
		i += 6
	}
}

// canonicalNumber returns, appended to dst, the text encoding/json writes
// for the float64 that the JSON number lit decodes to, or nil when lit is
// that text already. A number beyond float64's range is an error (that
// does not quote it).
func canonicalNumber(dst, lit []byte) ([]byte, error) {
	if isShortInt(lit) {
		return nil, nil // exactly representable, written as its digits
	}
	f, err := strconv.ParseFloat(string(lit), 64)
	if err != nil {
		// encoding/json has validated the syntax: this is a range error.
		return nil, fmt.Errorf("%w: a number beyond the range of float64", mcpsession.ErrInvalidMetadata)
	}
	if f == 0 {
		f = 0 // -0 and underflows are written 0
	}
	canon := appendJSONFloat(dst, f)
	if bytes.Equal(canon, lit) {
		return nil, nil
	}
	return canon, nil
}

// isShortInt reports an integer of at most 15 digits other than -0: such a
// number is a float64 exactly, and encoding/json writes it as its digits.
func isShortInt(lit []byte) bool {
	digits := lit
	if len(digits) > 0 && digits[0] == '-' {
		digits = digits[1:]
		if len(digits) == 1 && digits[0] == '0' {
			return false
		}
	}
	if len(digits) == 0 || len(digits) > 15 {
		return false
	}
	for _, c := range digits {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// appendJSONFloat formats f exactly as encoding/json formats a float64.
func appendJSONFloat(b []byte, f float64) []byte {
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// clean up e-09 to e-9
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
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
// succeeded on v, so v holds no cycle. It resolves marshalers as
// encoding/json does: json.Marshaler output was already checked as text;
// encoding.TextMarshaler output is a string that encoding/json would have
// repaired, so it is checked here.
func hasInvalidUTF8(v reflect.Value) bool {
	if !v.IsValid() {
		return false
	}
	t := v.Type()
	if t.Kind() != reflect.Pointer && v.CanAddr() {
		pt := reflect.PointerTo(t)
		if pt.Implements(jsonMarshaler) {
			return false
		}
		if pt.Implements(textMarshaler) {
			return invalidText(v.Addr())
		}
	}
	if t.Implements(jsonMarshaler) {
		return false
	}
	if t.Implements(textMarshaler) {
		return invalidText(v)
	}
	switch v.Kind() {
	case reflect.String:
		return !utf8.ValidString(v.String())
	case reflect.Interface, reflect.Pointer:
		return !v.IsNil() && hasInvalidUTF8(v.Elem())
	case reflect.Map:
		it := v.MapRange()
		for it.Next() {
			if invalidKey(it.Key()) || hasInvalidUTF8(it.Value()) {
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
			f := t.Field(i)
			if (f.IsExported() || f.Anonymous) && f.Tag.Get("json") != "-" && hasInvalidUTF8(v.Field(i)) {
				return true
			}
		}
	}
	return false
}

// invalidKey applies encoding/json's rule for map keys: a key of string
// kind is used as it is, any other goes through its MarshalText, or is an
// integer.
func invalidKey(k reflect.Value) bool {
	if k.Kind() == reflect.String {
		return !utf8.ValidString(k.String())
	}
	if k.Type().Implements(textMarshaler) {
		return invalidText(k)
	}
	return false
}

// invalidText reports whether v's MarshalText returns invalid UTF-8.
func invalidText(v reflect.Value) bool {
	if (v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface) && v.IsNil() {
		return false // encoded as null, or as "" for a key
	}
	tm, ok := v.Interface().(encoding.TextMarshaler)
	if !ok {
		return false
	}
	text, err := tm.MarshalText()
	return err == nil && !utf8.Valid(text)
}

// decodeMetadata decodes a stored JSON object as encoding/json does into a
// fresh map the caller owns.
//
// Documents this package stored always decode. A row written by other means
// (or by a version before numbers were normalized) may hold a number beyond
// float64's range: rather than fail every read of it, such a number is
// returned as a json.Number, and every other number as usual. The error for
// a document that still cannot be decoded says where, never what: the
// text is metadata.
func decodeMetadata(b []byte) (map[string]any, error) {
	var m map[string]any
	err := json.Unmarshal(b, &m)
	if err != nil {
		var ute *json.UnmarshalTypeError
		if !errors.As(err, &ute) || !strings.HasPrefix(ute.Value, "number") {
			return nil, decodeError(err)
		}
		if m, err = decodeWithNumbers(b); err != nil {
			return nil, decodeError(err)
		}
	}
	if m == nil {
		m = map[string]any{}
	}
	return m, nil
}

// decodeWithNumbers decodes b keeping numbers as json.Number, then turns
// each that float64 can hold into a float64.
func decodeWithNumbers(b []byte) (map[string]any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		return nil, err
	}
	return jsonvalue.MapLeaves(m, floatNumber).(map[string]any), nil
}

// floatNumber turns a json.Number that float64 can hold into a float64.
func floatNumber(v any) any {
	if n, ok := v.(json.Number); ok {
		if f, err := n.Float64(); err == nil {
			return f
		}
	}
	return v
}

// decodeError describes why a stored document did not decode without
// quoting any of it (encoding/json's messages quote values).
func decodeError(err error) error {
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		return fmt.Errorf("decode stored metadata: invalid JSON at offset %d", syn.Offset)
	}
	var ute *json.UnmarshalTypeError
	if errors.As(err, &ute) {
		kind, _, _ := strings.Cut(ute.Value, " ") // "number 1e400": keep "number"
		return fmt.Errorf("decode stored metadata: a JSON %s at offset %d does not fit %v", kind, ute.Offset, ute.Type)
	}
	return errors.New("decode stored metadata: not a JSON object encoding/json can read")
}
