package memo

import (
	"testing"

	"github.com/mcpsession/mcpsession"
)

// A Memo decodes a session's value once while it stays equal, again when
// it changes, and holds at most its bound of sessions.
func TestMemo(t *testing.T) {
	t.Parallel()
	m := New[string](2)
	calls := 0
	name := func(raw any) (string, bool) {
		calls++
		s, ok := raw.(map[string]any)["name"].(string)
		return s, ok
	}
	a, b, c := mcpsession.NewID(), mcpsession.NewID(), mcpsession.NewID()
	for range 3 {
		// a fresh map each time, as a store's Get returns
		if got, ok := m.Decode(a, map[string]any{"name": "alice"}, name); !ok || got != "alice" {
			t.Fatalf("Decode = %q, %v; want alice", got, ok)
		}
	}
	if calls != 1 {
		t.Fatalf("decoded %d times for three equal values; want 1", calls)
	}
	raw := map[string]any{"name": "bob"}
	if got, _ := m.Decode(a, raw, name); got != "bob" || calls != 2 {
		t.Fatalf("Decode of a changed value = %q after %d decodes; want bob after 2", got, calls)
	}
	raw["name"] = "changed by the caller"
	if got, _ := m.Decode(a, map[string]any{"name": "bob"}, name); got != "bob" || calls != 2 {
		t.Fatalf("the memo kept the caller's map: Decode = %q after %d decodes", got, calls)
	}
	if _, ok := m.Decode(b, map[string]any{}, name); ok {
		t.Fatal("a value that does not decode reads as decoded")
	}
	if _, ok := m.Decode(b, map[string]any{}, name); ok || calls != 3 {
		t.Fatalf("a failed decode of an equal value ran again: %d decodes; want 3", calls)
	}
	m.Decode(c, map[string]any{"name": "carol"}, name)
	if m.Len() != 2 {
		t.Fatalf("Len = %d after three sessions; want the bound, 2", m.Len())
	}
	if got, _ := m.Decode(c, map[string]any{"name": "carol"}, name); got != "carol" || calls != 4 {
		t.Fatalf("the newest session was evicted: %d decodes; want 4", calls)
	}
	m.Forget(c)
	m.Forget(c)
	if m.Len() != 1 {
		t.Fatalf("Len = %d after Forget; want 1", m.Len())
	}
}
