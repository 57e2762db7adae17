package driver_test

import (
	"testing"

	"github.com/mcpsession/mcpsession/internal/driver"
)

// WakeKey is the kind, a colon and the first 16 hex digits of the id's MD5
// (md5("abc") = 900150983cd24fb0…); AppendWakeKey appends the same bytes
// and, into a buffer of WakeKeyLen, allocates nothing.
func TestWakeKey(t *testing.T) {
	if got, want := driver.WakeKey('s', "abc"), "s:900150983cd24fb0"; got != want {
		t.Errorf("WakeKey('s', abc) = %q; want %q", got, want)
	}
	if got := driver.WakeKey('e', "abc"); len(got) != driver.WakeKeyLen || got[0] != 'e' {
		t.Errorf("WakeKey('e', abc) = %q; want %d bytes starting with e", got, driver.WakeKeyLen)
	}
	if got := string(driver.AppendWakeKey([]byte("x "), 's', "abc")); got != "x s:900150983cd24fb0" {
		t.Errorf("AppendWakeKey = %q", got)
	}
	var buf [driver.WakeKeyLen]byte
	if n := testing.AllocsPerRun(100, func() { _ = driver.AppendWakeKey(buf[:0], 's', "some-session-id") }); n != 0 {
		t.Errorf("AppendWakeKey into a buffer: %v allocations; want 0", n)
	}
}
