package requeststate

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"

	"github.com/mcpsession/mcpsession"
)

// maxStateSize is the most state bytes Seal takes. A state travels to the
// client and back with every retry: keep what is big in a handle and seal
// its id.
const maxStateSize = 64 << 10

// maxMethodLength is the longest method, in bytes.
const maxMethodLength = 255

// A token is base64url, without padding, of
//
//	header:     version (1 byte) | key id (8, big-endian)
//	nonce:      12 random bytes
//	ciphertext: AES-256-GCM of the plaintext, with the header as the
//	            associated data, and its 16-byte tag
//
// and the plaintext is
//
//	id (16 random bytes) | expiry (8, Unix milliseconds, big-endian) |
//	SHA-256(principal) (32) | params digest (32) |
//	method length (1) | method | state
//
// The bindings are inside the plaintext, not the associated data, so that
// a state opened for the wrong principal or request is told apart from a
// forged one. The principal travels as a hash: the client never holds it,
// sealed or not.
const (
	formatVersion = 1
	headerLen     = 1 + 8
	nonceLen      = 12
	tagLen        = 16
	idLen         = 16
	bindingsLen   = idLen + 8 + sha256.Size + sha256.Size + 1

	minSealedLen = headerLen + nonceLen + bindingsLen + tagLen
	maxSealedLen = minSealedLen + maxMethodLength + maxStateSize
)

var (
	encoding    = base64.RawURLEncoding.Strict()
	maxTokenLen = encoding.EncodedLen(maxSealedLen)
)

// bindings is what a state is bound to, but for its method.
type bindings struct {
	id        [idLen]byte
	expiry    int64 // Unix milliseconds
	principal [sha256.Size]byte
	params    [sha256.Size]byte
}

// appendPlaintext appends the plaintext of b, method and state to dst.
func appendPlaintext(dst []byte, b *bindings, method string, state []byte) []byte {
	dst = append(dst, b.id[:]...)
	dst = binary.BigEndian.AppendUint64(dst, uint64(b.expiry))
	dst = append(dst, b.principal[:]...)
	dst = append(dst, b.params[:]...)
	dst = append(dst, byte(len(method)))
	dst = append(dst, method...)
	return append(dst, state...)
}

// parsePlaintext is appendPlaintext's inverse. The method and state
// returned are slices of p.
func parsePlaintext(p []byte) (b bindings, method, state []byte, ok bool) {
	if len(p) < bindingsLen {
		return b, nil, nil, false
	}
	copy(b.id[:], p)
	p = p[idLen:]
	b.expiry = int64(binary.BigEndian.Uint64(p))
	p = p[8:]
	copy(b.principal[:], p)
	p = p[sha256.Size:]
	copy(b.params[:], p)
	p = p[sha256.Size:]
	n := int(p[0])
	p = p[1:]
	if len(p) < n {
		return b, nil, nil, false
	}
	return b, p[:n], p[n:], true
}

// inAlphabet says which bytes are base64url characters.
var inAlphabet = func() (t [256]bool) {
	for _, c := range []byte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") {
		t[c] = true
	}
	return t
}()

// decodeToken returns the sealed bytes of token, or false when token
// cannot be one: outside the base64url alphabet (the decoder skips CR and
// LF, which would let two texts carry one state), of a length no state
// has, or not canonical (stray bits in its last character).
func decodeToken(token string) ([]byte, bool) {
	if len(token) < encoding.EncodedLen(minSealedLen) || len(token) > maxTokenLen {
		return nil, false
	}
	for i := 0; i < len(token); i++ {
		if !inAlphabet[token[i]] {
			return nil, false
		}
	}
	b, err := encoding.DecodeString(token)
	if err != nil {
		return nil, false
	}
	return b, true
}

// digestParams returns SHA-256 of the canonical form of params (see
// canonical.go). Empty params are null.
func digestParams(params json.RawMessage) ([sha256.Size]byte, error) {
	if len(bytes.TrimSpace(params)) == 0 {
		return sha256.Sum256([]byte("null")), nil
	}
	if !json.Valid(params) {
		return [sha256.Size]byte{}, fmt.Errorf("%w: params are not one JSON value", mcpsession.ErrInvalidArgument)
	}
	return sha256.Sum256(canonical(params)), nil
}
