package main

import (
	"math"
	"testing"
)

func TestParseMix(t *testing.T) {
	for _, bad := range []string{"", "legacy.counter", "nosuch.op=1", "legacy.counter=-1", "legacy.counter=x", "legacy.counter=0"} {
		if _, err := parseMix(bad); err == nil {
			t.Errorf("-mix %q accepted", bad)
		}
	}
	m, err := parseMix(defaultMix)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.ops) != len(opHelp) {
		t.Errorf("the default mix weighs %d operations; there are %d", len(m.ops), len(opHelp))
	}
	if got := m.without(opResearch).String(); got == m.String() || m.weights[opResearch] == 0 {
		t.Errorf("without research: %s", got)
	}
}

// Operations are drawn in proportion to their weights.
func TestMixDraw(t *testing.T) {
	m, err := parseMix("legacy.counter=3,legacy.whoami=1")
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	const n = 10_000
	for i := range n {
		counts[m.draw((float64(i)+0.5)/n)]++ // evenly spread over [0, 1)
	}
	if math.Abs(float64(counts[opCounter])-0.75*n) > 1 || counts[opCounter]+counts[opWhoami] != n {
		t.Errorf("draws %v; want 3:1", counts)
	}
}
