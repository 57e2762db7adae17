package mcpsession

import (
	"crypto/rand"
	"fmt"
)

// MaxIDLength is the longest session id, in bytes, that ValidateID accepts.
const MaxIDLength = 255

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
