package mcpsession

import (
	"crypto/rand"
	"fmt"
	"strings"
	"unicode/utf8"
)

// MaxIDLength is the longest session id, in bytes, that ValidateID accepts.
const MaxIDLength = 255

// MaxMetadataDepth is how deeply session metadata and handle state may nest:
// the top-level object counts as one level, and each object or array inside
// it as one more. Deeper documents are refused with ErrInvalidMetadata:
// SQLite's JSON functions stop at 1000 levels, and jsonb and encoding/json
// give up further on.
const MaxMetadataDepth = 1000

// MaxPrincipalLength is the longest principal, in bytes, that
// ValidatePrincipal accepts.
const MaxPrincipalLength = 1024

// NewID returns a new session id: 26 characters of base32 carrying 130 bits
// from crypto/rand. It always passes ValidateID.
func NewID() string {
	return rand.Text()
}

// ValidateID reports whether id is a valid MCP session id: 1 to 255 bytes,
// each a visible ASCII character (0x21 to 0x7E). It returns nil or an error
// matching ErrInvalidID.
func ValidateID(id string) error {
	if len(id) == 0 {
		return fmt.Errorf("%w: empty", ErrInvalidID)
	}
	if len(id) > MaxIDLength {
		return fmt.Errorf("%w: %d bytes, the limit is %d", ErrInvalidID, len(id), MaxIDLength)
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c < 0x21 || c > 0x7E {
			return fmt.Errorf("%w: byte %#02x at offset %d is not visible ASCII", ErrInvalidID, c, i)
		}
	}
	return nil
}

// ValidatePrincipal reports whether principal can own handles: at most
// MaxPrincipalLength bytes of valid UTF-8 without U+0000. The empty string
// is the anonymous principal. It returns nil or an error matching
// ErrInvalidPrincipal.
func ValidatePrincipal(principal string) error {
	if len(principal) > MaxPrincipalLength {
		return fmt.Errorf("%w: %d bytes, the limit is %d", ErrInvalidPrincipal, len(principal), MaxPrincipalLength)
	}
	if !utf8.ValidString(principal) {
		return fmt.Errorf("%w: invalid UTF-8", ErrInvalidPrincipal)
	}
	if strings.IndexByte(principal, 0) >= 0 {
		return fmt.Errorf("%w: U+0000", ErrInvalidPrincipal)
	}
	return nil
}
