package requeststate

import (
	"bytes"
	"encoding/json"
	"slices"
)

// The params digest is SHA-256 of the params' canonical form: what
// encoding/json writes for the value it decodes from them with UseNumber
// (object members sorted by key, the last of duplicate keys kept, numbers
// as written, strings escaped its way, no space), without the top-level
// members a retry changes. canonical writes that form from the bytes, with
// no map or interface value in between, which makes a seal and open of
// typical params several times cheaper; FuzzCanonical holds it to
// encoding/json's own result.
//
// It parses first, into spans of the input, and writes second, so that
// its cost grows with the input, however deep: reordering each object's
// written members in place would copy every byte once per object around
// it.

// retryMembers are the top-level members of params a retry adds or
// changes, which the digest leaves out.
var retryMembers = [...]string{"inputResponses", "requestState", "_meta"}

// node is one value of the input: a scalar (its bytes are data[lo:hi]),
// or an object (its members are members[lo:hi], sorted) or an array (its
// elements are elems[lo:hi]).
type node struct {
	kind   byte // '{', '[', or 0 for a scalar
	lo, hi int
}

// member is one object member: its key decoded, to sort by, the key as
// written, and its value's node.
type member struct {
	key, raw []byte
	value    int
}

type canonicalizer struct {
	data    []byte
	nodes   []node
	members []member // each object's, together, once it is parsed
	elems   []int    // each array's, together, once it is parsed
	// The members and elements of the objects and arrays being parsed,
	// the innermost last.
	openMembers []member
	openElems   []int

	// Room for typical params (a tool's name and a few arguments), so
	// that they cost one allocation here.
	nodeRoom                   [24]node
	memberRoom, openMemberRoom [12]member
	elemRoom, openElemRoom     [8]int
}

// canonical returns the canonical form of data, which must be valid JSON
// (json.Valid).
func canonical(data []byte) []byte {
	c := &canonicalizer{data: data}
	c.nodes, c.members, c.openMembers = c.nodeRoom[:0], c.memberRoom[:0], c.openMemberRoom[:0]
	c.elems, c.openElems = c.elemRoom[:0], c.openElemRoom[:0]
	root, _ := c.parse(0)
	return c.write(make([]byte, 0, len(data)), root, true)
}

func (c *canonicalizer) skipSpace(i int) int {
	for i < len(c.data) && (c.data[i] == ' ' || c.data[i] == '\t' || c.data[i] == '\n' || c.data[i] == '\r') {
		i++
	}
	return i
}

// parse parses the value at data[i:] (after space) and returns its node
// and the index just after it.
func (c *canonicalizer) parse(i int) (int, int) {
	i = c.skipSpace(i)
	switch c.data[i] {
	case '{':
		mark := len(c.openMembers)
		i = c.skipSpace(i + 1)
		for c.data[i] != '}' {
			end := c.stringEnd(i)
			raw := c.data[i : end+1]
			var v int
			v, i = c.parse(c.skipSpace(end+1) + 1) // after ':'
			c.openMembers = append(c.openMembers, member{key: decodedKey(raw), raw: raw, value: v})
			if i = c.skipSpace(i); c.data[i] == ',' {
				i = c.skipSpace(i + 1)
			}
		}
		lo := len(c.members)
		c.members = append(c.members, c.openMembers[mark:]...)
		c.openMembers = c.openMembers[:mark]
		ms := c.members[lo:]
		slices.SortStableFunc(ms, func(a, b member) int { return bytes.Compare(a.key, b.key) })
		return c.add(node{'{', lo, len(c.members)}), i + 1
	case '[':
		mark := len(c.openElems)
		i = c.skipSpace(i + 1)
		for c.data[i] != ']' {
			var v int
			v, i = c.parse(i)
			c.openElems = append(c.openElems, v)
			if i = c.skipSpace(i); c.data[i] == ',' {
				i++
			}
		}
		lo := len(c.elems)
		c.elems = append(c.elems, c.openElems[mark:]...)
		c.openElems = c.openElems[:mark]
		return c.add(node{'[', lo, len(c.elems)}), i + 1
	case '"':
		end := c.stringEnd(i)
		return c.add(node{0, i, end + 1}), end + 1
	}
	// A literal or a number, kept as written: UseNumber keeps a number's
	// text, and encoding/json writes a json.Number's text.
	end := i
	for end < len(c.data) && isScalarByte(c.data[end]) {
		end++
	}
	return c.add(node{0, i, end}), end
}

func (c *canonicalizer) add(n node) int {
	c.nodes = append(c.nodes, n)
	return len(c.nodes) - 1
}

func isScalarByte(b byte) bool {
	return 'a' <= b && b <= 'z' || '0' <= b && b <= '9' || b == '-' || b == '+' || b == '.' || b == 'E'
}

// stringEnd returns the index of the quote that closes the string that
// starts at data[i].
func (c *canonicalizer) stringEnd(i int) int {
	for i++; ; i++ {
		switch c.data[i] {
		case '\\':
			i++
		case '"':
			return i
		}
	}
}

// write appends the canonical form of node n to dst. top says n is the
// params themselves.
func (c *canonicalizer) write(dst []byte, n int, top bool) []byte {
	nd := c.nodes[n]
	switch nd.kind {
	case '{':
		dst = append(dst, '{')
		first := true
		for i := nd.lo; i < nd.hi; i++ {
			m := c.members[i]
			// The last of equal keys wins, as in a map decoded from
			// them: the sort was stable.
			if i+1 < nd.hi && bytes.Equal(m.key, c.members[i+1].key) || top && isRetryMember(m.key) {
				continue
			}
			if !first {
				dst = append(dst, ',')
			}
			first = false
			dst = appendString(dst, m.raw)
			dst = append(dst, ':')
			dst = c.write(dst, m.value, false)
		}
		return append(dst, '}')
	case '[':
		dst = append(dst, '[')
		for i := nd.lo; i < nd.hi; i++ {
			if i > nd.lo {
				dst = append(dst, ',')
			}
			dst = c.write(dst, c.elems[i], false)
		}
		return append(dst, ']')
	}
	if s := c.data[nd.lo:nd.hi]; s[0] == '"' {
		return appendString(dst, s)
	}
	return append(dst, c.data[nd.lo:nd.hi]...)
}

func isRetryMember(key []byte) bool {
	for _, r := range retryMembers {
		if string(key) == r {
			return true
		}
	}
	return false
}

// plain reports whether the JSON string s (quotes included) decodes to
// what is between its quotes and encoding/json writes it back as it is:
// printable ASCII, no escapes, none of the characters it escapes for HTML.
func plain(s []byte) bool {
	for _, b := range s[1 : len(s)-1] {
		if b < 0x20 || b > 0x7e || b == '"' || b == '\\' || b == '<' || b == '>' || b == '&' {
			return false
		}
	}
	return true
}

// decodedKey returns the string the JSON string s decodes to.
func decodedKey(s []byte) []byte {
	if plain(s) {
		return s[1 : len(s)-1]
	}
	var k string
	_ = json.Unmarshal(s, &k) // valid: json.Valid said so
	return []byte(k)
}

// appendString appends the JSON string s as encoding/json writes what it
// decodes to.
func appendString(dst, s []byte) []byte {
	if plain(s) {
		return append(dst, s...)
	}
	var v string
	_ = json.Unmarshal(s, &v)
	out, _ := json.Marshal(v) // a string always encodes
	return append(dst, out...)
}
