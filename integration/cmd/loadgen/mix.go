package main

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// The operations of the mix. Each arrival of the timeline is one of them,
// drawn by weight; each is one HTTP request but mrtr.confirm (two: the
// call and its retry), legacy.initialize (two:
// initialize and notifications/initialized) and legacy.abandon (none).
const (
	opInit             = "legacy.initialize"
	opCounter          = "legacy.counter"
	opWhoami           = "legacy.whoami"
	opListen           = "legacy.listen"
	opNotify           = "legacy.notify"
	opDelete           = "legacy.delete"
	opAbandon          = "legacy.abandon"
	opHandleNew        = "sessionless.counter-new"
	opHandleCounter    = "sessionless.counter"
	opSessionlessWhoam = "sessionless.whoami"
	opResearch         = "task.research"
	opConfirm          = "mrtr.confirm"
)

// opHelp says what each operation does, for -help and the report.
var opHelp = map[string]string{
	opInit:             "initialize pinned to " + legacyVersion + ", then notifications/initialized: a new legacy session",
	opCounter:          "tools/call counter in a live legacy session (the count lives in the session)",
	opWhoami:           "tools/call whoami in a live legacy session",
	opListen:           "GET: open a session's stream (latency to the response headers); it then receives notify's notifications",
	opNotify:           "tools/call notify in a session with an open stream; the notification's arrival on the stream is timed too (" + deliveryOp + ")",
	opDelete:           "DELETE a live session (its stream ends)",
	opAbandon:          "forget a live session without a request (its stream closed): the janitor's to sweep",
	opHandleNew:        "sessionless (" + sessionlessVersion + ") tools/call counter without a handle: a new state handle",
	opHandleCounter:    "sessionless tools/call counter on a live handle",
	opSessionlessWhoam: "sessionless tools/call whoami",
	opResearch:         "sessionless task-augmented tools/call research (seconds 0), then tasks/get until the task is terminal, each on whichever replica",
	opConfirm:          "a multi round-trip request, sessionless: tools/call confirm, then its retry with yes and the sealed requestState (two requests)",
}

// defaultMix is what a fleet in transition between the eras might see:
// legacy sessions that live for a few dozen calls, some listening on a
// stream, ended by DELETE or abandoned about as often as they start, and
// sessionless clients counting on handles.
const defaultMix = "legacy.initialize=1,legacy.counter=6,legacy.whoami=2,legacy.listen=0.5,legacy.notify=1," +
	"legacy.delete=0.6,legacy.abandon=0.4,sessionless.counter-new=1,sessionless.counter=6,sessionless.whoami=1," +
	"task.research=1,mrtr.confirm=0.5"

// mix is the weights of the operations.
type mix struct {
	weights map[string]float64
	// cumulative, over ops in order, for drawing.
	ops []string
	cum []float64
}

// parseMix reads "op=weight,…"; an operation not named weighs 0.
func parseMix(s string) (*mix, error) {
	m := &mix{weights: map[string]float64{}}
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, w, ok := strings.Cut(part, "=")
		if !ok {
			return nil, fmt.Errorf("-mix: %q: want op=weight", part)
		}
		name = strings.TrimSpace(name)
		if _, known := opHelp[name]; !known {
			return nil, fmt.Errorf("-mix: unknown operation %q (known: %s)", name, strings.Join(slices.Sorted(maps.Keys(opHelp)), ", "))
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(w), 64)
		if err != nil || v < 0 {
			return nil, fmt.Errorf("-mix: %s: weight %q is not a number ≥ 0", name, w)
		}
		m.weights[name] = v
	}
	m.index()
	if len(m.ops) == 0 {
		return nil, fmt.Errorf("-mix %q: no operation has weight", s)
	}
	return m, nil
}

func (m *mix) index() {
	m.ops, m.cum = nil, nil
	total := 0.0
	for _, op := range slices.Sorted(maps.Keys(m.weights)) {
		if w := m.weights[op]; w > 0 {
			total += w
			m.ops = append(m.ops, op)
			m.cum = append(m.cum, total)
		}
	}
}

// without returns the mix with op's weight 0.
func (m *mix) without(op string) *mix {
	n := &mix{weights: maps.Clone(m.weights)}
	delete(n.weights, op)
	n.index()
	return n
}

// draw picks an operation for u, uniform in [0, 1).
func (m *mix) draw(u float64) string {
	if len(m.ops) == 0 {
		return ""
	}
	x := u * m.cum[len(m.cum)-1]
	i, _ := slices.BinarySearchFunc(m.cum, x, func(c, x float64) int {
		if c <= x {
			return -1
		}
		return 1
	})
	return m.ops[min(i, len(m.ops)-1)]
}

func (m *mix) String() string {
	var parts []string
	for _, op := range slices.Sorted(maps.Keys(m.weights)) {
		if m.weights[op] > 0 {
			parts = append(parts, op+"="+strconv.FormatFloat(m.weights[op], 'g', -1, 64))
		}
	}
	return strings.Join(parts, ",")
}
