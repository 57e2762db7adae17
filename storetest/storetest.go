package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/internal/backoff"
)

// defaultMaxMetadataBytes is the metadata limit Run expects when
// WithMaxMetadataBytes is not given: sqlstore's default.
const defaultMaxMetadataBytes = 1 << 20

// An Option tells the kit about the store under test. A bad one fails the
// test with an error matching mcpsession.ErrInvalidOption.
type Option interface {
	apply(*kit) error
}

type optionFunc func(*kit) error

func (f optionFunc) apply(k *kit) error { return f(k) }

// WithMaxMetadataBytes says the store refuses encoded metadata over n
// bytes with ErrTooLarge (default 1 MiB).
func WithMaxMetadataBytes(n int) Option {
	return optionFunc(func(k *kit) error {
		if n < len(`{"v":""}`) {
			return fmt.Errorf("%w: storetest.WithMaxMetadataBytes(%d): too small to test", mcpsession.ErrInvalidOption, n)
		}
		k.maxBytes = n
		return nil
	})
}

// kit is what every check is given: how to open a store, and the settings
// the store was opened with.
type kit struct {
	open     func(*testing.T) mcpsession.Store
	maxBytes int
}

func newKit(t *testing.T, open func(*testing.T) mcpsession.Store, opts []Option) *kit {
	t.Helper()
	k := &kit{open: open, maxBytes: defaultMaxMetadataBytes}
	for _, o := range opts {
		if o == nil {
			t.Fatal("storetest: nil Option")
		}
		if err := o.apply(k); err != nil {
			t.Fatal(err)
		}
	}
	return k
}

// A rule is one check of the kit. Rules marked forHandles state a rule that
// handles share with sessions (values, merges, locks, expiry), and
// RunHandles and RunHandleExpiry check them on handles too.
type rule struct {
	name       string
	run        func(*testing.T, *kit)
	forHandles bool
}

var storeRules = []rule{
	{"CreateGet", testCreateGet, true},
	{"CreateExists", testCreateExists, false},
	{"GetMissing", testGetMissing, true},
	{"GetFreshMap", testGetFreshMap, true},
	{"RoundTrip", testRoundTrip, true},
	{"Numbers", testNumbers, true},
	{"Depth", testDepth, true},
	{"HostileKeysAndValues", testHostile, true},
	{"UpdateShallowMerge", testUpdateShallowMerge, true},
	{"UpdateMissing", testUpdateMissing, true},
	{"UpdateConcurrentKeys", testUpdateConcurrentKeys, true},
	{"Delete", testDelete, true},
	{"InvalidID", testInvalidID, false},
	{"InvalidMetadata", testInvalidMetadata, true},
	{"TooLarge", testTooLarge, true},
	{"Context", testContext, true},
	{"ConcurrentCreateSameID", testConcurrentCreateSameID, false},
	{"ConcurrentMixed", testConcurrentMixed, true},
	{"SharedGetter", testSharedGetter, false},
	{"Cleaner", testCleaner, false},
	{"Toucher", testToucher, true},
	{"Modifier", testModifier, true},
	{"ModifierConcurrent", testModifierConcurrent, true},
	{"CallInModify", testCallInModify, true},
}

// Run checks the contract of mcpsession.Store, and of Cleaner, Toucher,
// Modifier and GetShared when the store implements them, on stores
// returned by open.
// open is called once per subtest and must return an empty store that does
// not expire sessions, not shared with any other call; it should register
// its own cleanup with t.Cleanup. opts describe the store's settings where
// they differ from sqlstore's defaults.
func Run(t *testing.T, open func(t *testing.T) mcpsession.Store, opts ...Option) {
	t.Helper()
	runRules(t, newKit(t, open, opts), storeRules, false)
}

func runRules(t *testing.T, k *kit, rules []rule, handlesOnly bool) {
	t.Helper()
	for _, r := range rules {
		if handlesOnly && !r.forHandles {
			continue
		}
		t.Run(r.name, func(t *testing.T) {
			t.Parallel()
			r.run(t, k)
		})
	}
}

// roundTrip is what a value becomes once stored: encoded and decoded by
// encoding/json.
func roundTrip(t *testing.T, m map[string]any) map[string]any {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatalf("test metadata does not encode: %v", err)
	}
	out := map[string]any{}
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func mustCreate(t *testing.T, s mcpsession.Store, id string, m map[string]any) {
	t.Helper()
	if err := s.Create(t.Context(), id, m); err != nil {
		t.Fatalf("Create(%q): %v", id, err)
	}
}

func mustGet(t *testing.T, s mcpsession.Store, id string) map[string]any {
	t.Helper()
	m, err := s.Get(t.Context(), id)
	if err != nil {
		t.Fatalf("Get(%q): %v", id, err)
	}
	if m == nil {
		t.Fatalf("Get(%q) returned a nil map", id)
	}
	return m
}

// wantMetadata checks the stored metadata of id against want, as
// encoding/json would decode want.
func wantMetadata(t *testing.T, s mcpsession.Store, id string, want map[string]any) {
	t.Helper()
	got := mustGet(t, s, id)
	if w := roundTrip(t, want); !reflect.DeepEqual(got, w) {
		t.Fatalf("metadata of %q:\n got %s\nwant %s", id, show(got), show(w))
	}
}

func wantNotFound(t *testing.T, s mcpsession.Store, id string) {
	t.Helper()
	m, err := s.Get(t.Context(), id)
	if !errors.Is(err, mcpsession.ErrNotFound) {
		t.Fatalf("Get(%q) = %s, %v; want ErrNotFound", id, show(m), err)
	}
}

func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: error %v; want one matching %v", what, err, target)
	}
}

func show(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%#v", v)
	}
	if len(b) > 300 {
		return string(b[:300]) + "…"
	}
	return string(b)
}

// ids returns n distinct valid ids for one test.
func ids(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = mcpsession.NewID()
	}
	return out
}

// mcpMetadata is what an MCP server typically stores for a session.
func mcpMetadata() map[string]any {
	return map[string]any{
		"protocolVersion": "2025-06-18",
		"clientInfo":      map[string]any{"name": "claude-code", "version": "1.0.42"},
		"capabilities": map[string]any{
			"roots":       map[string]any{"listChanged": true},
			"sampling":    map[string]any{},
			"elicitation": map[string]any{},
		},
		"logLevel": "info",
	}
}

// pace tells a broken timing expectation caused by a stalled machine from
// one caused by the store.
type pace struct{ slow bool }

// within records that the step begun at start had to finish within limit
// for the expectation that follows to hold.
func (p *pace) within(start time.Time, limit time.Duration) {
	if time.Since(start) >= limit {
		p.slow = true
	}
}

// timing runs f up to three times. An error from a run that was not too
// slow fails the test; a slow run is tried again.
func timing(t *testing.T, f func(p *pace) error) {
	t.Helper()
	for attempt := 1; attempt <= 3; attempt++ {
		p := &pace{}
		err := f(p)
		if err == nil {
			return
		}
		if !p.slow {
			t.Fatal(err)
		}
		t.Logf("attempt %d ran too slowly to judge (%v); trying again", attempt, err)
	}
	t.Fatal("three attempts in a row ran too slowly to judge the timing")
}

// sleepPast sleeps until more than d has passed since t0, plus a margin for
// the store's clock resolution.
func sleepPast(ctx context.Context, t0 time.Time, d time.Duration) {
	wait := time.Until(t0.Add(d + 25*time.Millisecond))
	if wait <= 0 {
		return
	}
	backoff.Sleep(ctx, wait)
}

func bigString(n int) string { return strings.Repeat("x", n) }
