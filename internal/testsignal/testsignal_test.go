package testsignal

import (
	"fmt"
	"testing"
)

func TestSignal(t *testing.T) {
	var s Signal[string]
	s.Fire("before") // disarmed: dropped, and never blocks
	if s.C() != nil {
		t.Fatal("a disarmed signal has a channel")
	}
	t.Run("armed", func(t *testing.T) {
		s.Arm(t)
		go s.Fire("one")
		if got := s.Wait(t); got != "one" {
			t.Fatalf("Wait = %q; want one", got)
		}
		for i := range capacity + 10 { // beyond capacity: the oldest dropped, never blocked
			s.Fire(fmt.Sprint(i))
		}
		if n := len(s.C()); n != capacity {
			t.Fatalf("%d values kept; want %d", n, capacity)
		}
		if got := s.Wait(t); got != "10" {
			t.Fatalf("the oldest value kept is %q; want 10", got)
		}
		s.Drain()
		if n := len(s.C()); n != 0 {
			t.Fatalf("%d values kept after Drain", n)
		}
	})
	if s.C() != nil {
		t.Fatal("the signal is still armed after its test ended")
	}
}

// fatal records a Fatalf instead of ending the test.
type fatal struct {
	testing.TB
	msg string
}

func (f *fatal) Fatalf(format string, args ...any) { f.msg = fmt.Sprintf(format, args...) }

func TestWaitUnarmed(t *testing.T) {
	var s Signal[int]
	f := &fatal{TB: t}
	s.Wait(f)
	if f.msg == "" {
		t.Fatal("Wait on an unarmed signal did not fail")
	}
}
