package mcpsession_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/mcpsession/mcpsession"
)

func TestValidateID(t *testing.T) {
	t.Parallel()
	valid := []string{"a", "!", "~", strings.Repeat("x", 255), `'";--/*\`, "mcp-session-0190b6f4"}
	for _, id := range valid {
		if err := mcpsession.ValidateID(id); err != nil {
			t.Errorf("ValidateID(%q) = %v; want nil", id, err)
		}
	}
	invalid := []string{"", " ", "a b", "\t", "\x00", "\x7f", "\x20", "é", strings.Repeat("x", 256), "\xff"}
	for _, id := range invalid {
		err := mcpsession.ValidateID(id)
		if !errors.Is(err, mcpsession.ErrInvalidID) {
			t.Errorf("ValidateID(%q) = %v; want ErrInvalidID", id, err)
		}
	}
	// Every single byte: only 0x21..0x7E pass.
	for b := 0; b < 256; b++ {
		err := mcpsession.ValidateID(string([]byte{byte(b)}))
		if ok := b >= 0x21 && b <= 0x7e; ok != (err == nil) {
			t.Errorf("ValidateID(%#02x) = %v", b, err)
		}
	}
}

func TestNewID(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 10000 {
		id := mcpsession.NewID()
		if err := mcpsession.ValidateID(id); err != nil {
			t.Fatalf("NewID() = %q: %v", id, err)
		}
		// 26 base32 characters carry 130 bits.
		if len(id) != 26 {
			t.Fatalf("NewID() = %q: %d characters; want 26", id, len(id))
		}
		if seen[id] {
			t.Fatalf("NewID() repeated %q", id)
		}
		seen[id] = true
	}
}

func TestErrTooLargeIsInvalidMetadata(t *testing.T) {
	t.Parallel()
	if !errors.Is(mcpsession.ErrTooLarge, mcpsession.ErrInvalidMetadata) {
		t.Fatal("ErrTooLarge does not match ErrInvalidMetadata")
	}
	if errors.Is(mcpsession.ErrInvalidMetadata, mcpsession.ErrTooLarge) {
		t.Fatal("ErrInvalidMetadata matches ErrTooLarge")
	}
}

func TestValidatePrincipal(t *testing.T) {
	t.Parallel()
	for _, p := range []string{"", "alice", "user:42", "日本語", strings.Repeat("p", mcpsession.MaxPrincipalLength), "sp ace\ttab"} {
		if err := mcpsession.ValidatePrincipal(p); err != nil {
			t.Errorf("ValidatePrincipal(%q) = %v; want nil", p, err)
		}
	}
	for _, p := range []string{"\xff", "a\x00b", strings.Repeat("p", mcpsession.MaxPrincipalLength+1)} {
		if err := mcpsession.ValidatePrincipal(p); !errors.Is(err, mcpsession.ErrInvalidPrincipal) {
			t.Errorf("ValidatePrincipal(%q) = %v; want ErrInvalidPrincipal", p, err)
		}
	}
}
