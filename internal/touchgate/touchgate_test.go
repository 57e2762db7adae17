package touchgate

import (
	"testing"
	"time"

	"github.com/mcpsession/mcpsession"
)

func TestTouchGateBounded(t *testing.T) {
	t.Parallel()
	g := New(time.Second)
	now := time.Now()
	for i := range 1000 {
		if !g.Claim(mcpsession.NewID(), time.Time{}, now) {
			t.Fatalf("claim %d refused", i)
		}
	}
	if !g.Claim("x", now.Add(-2*time.Second), now) || g.Claim("x", time.Time{}, now.Add(time.Millisecond)) {
		t.Error("a second claim within the interval was granted")
	}
	if g.Claim("y", now, now) {
		t.Error("a claim just after another replica's touch was granted")
	}
	if !g.Claim("z", now.Add(time.Hour), now) {
		t.Error("a touchedAt far in the future held the touch back")
	}
	g.Claim("late", time.Time{}, now.Add(2*time.Second))
	if n := g.Size(); n != 1 {
		t.Errorf("after an interval the gate holds %d claims; want 1", n)
	}
}
