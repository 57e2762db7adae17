package bench

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/mcpsession/mcpsession/internal/cacheprobe"
)

// seeded is how many sessions Get, Update and Touch cycle through: enough
// that consecutive calls touch different rows, few enough to stay in cache
// (the growth benchmark measures a table that does not).
const seeded = 1000

// sizeTag shortens a size for id prefixes.
func sizeTag(size string) string {
	if size == sizeSmall {
		return "s"
	}
	return "l"
}

// forEach runs one sub-benchmark per size, parallelism and target, in that
// nesting, so that the store, its baseline and the peers of one case run
// one after another and share the machine's state of the moment.
func forEach(b *testing.B, ts []target, f func(b *testing.B, s sessions, be backend, size string, par int)) {
	for _, size := range sizes {
		for _, par := range parallelisms() {
			for _, t := range ts {
				s := t.sessions(size)
				b.Run(name(t.dialect, t.impl, size, par), func(b *testing.B) { f(b, s, t.backend, size, par) })
			}
		}
	}
}

// seedAll seeds the same sessions on every backend of ts (once per
// backend: the store and its baseline share one).
func seedAll(b *testing.B, ts []target, prefix func(size string) string) {
	done := map[backend]bool{}
	for _, t := range ts {
		if done[t.backend] {
			continue
		}
		done[t.backend] = true
		for _, size := range sizes {
			t.backend.seed(b, prefix(size), 0, seeded, size)
		}
	}
}

// BenchmarkGet reads a session. The allocations of the store's Get are
// accounted for in getAllocations (allocs.go).
func BenchmarkGet(b *testing.B) {
	ts := targets(b)
	prefix := func(size string) string { return "g" + sizeTag(size) + "-" }
	seedAll(b, ts, prefix)
	forEach(b, ts, func(b *testing.B, s sessions, _ backend, size string, par int) {
		ids := idsFor(prefix(size), seeded)
		// cache.Store is an interface the plain store satisfies too: a
		// cache is what has the cache's probe.
		p, cached := cacheprobe.Of(s)
		if cached {
			warmCache(b, s, ids)
		}
		before := cacheMisses(p)
		run(b, par, func(ctx context.Context, i int) error {
			_, err := s.Get(ctx, ids[i%seeded])
			return err
		})
		reportMetadataSize(b, size)
		if cached {
			// What the timed loop read from the database: reads of entries
			// that ended (refreshed ahead in the background, mostly).
			b.ReportMetric(float64(cacheMisses(p)-before)/float64(b.N), "misses/op")
		}
	})
}

// warmCache reads every session of ids once through c, untimed, so that
// the timed reads of a cache's Get are the hits it is there for, not the
// first read of each session: at a few hundred µs a miss, the first pass
// over the 1000 sessions otherwise takes up most of a 500 ms sample.
func warmCache(b *testing.B, c sessions, ids []string) {
	b.Helper()
	ctx := context.Background()
	for _, id := range ids {
		if _, err := c.Get(ctx, id); err != nil {
			b.Fatal(err)
		}
	}
}

func cacheMisses(p cacheprobe.Probe) int64 {
	if p == nil {
		return 0
	}
	st := p.Stats()
	return st.Misses + st.Bypassed
}

// reportMetadataSize records the payload's exact size beside the figures,
// so that the report states it from the run.
func reportMetadataSize(b *testing.B, size string) {
	doc, err := json.Marshal(metadata(size))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(len(doc)), "metadata-B")
}

// BenchmarkCreate creates new sessions. The rows are deleted, untimed,
// after each run.
func BenchmarkCreate(b *testing.B) {
	ts := targets(b)
	forEach(b, ts, func(b *testing.B, s sessions, be backend, size string, par int) {
		md := metadata(size)
		p := runPrefix("c")
		ids := idsFor(p, b.N)
		run(b, par, func(ctx context.Context, i int) error {
			return s.Create(ctx, ids[i], md)
		})
		be.deletePrefix(b, p)
	})
}

// BenchmarkUpdate merges a two-key patch (the log level and a request id)
// into sessions that hold the metadata of the size: the store in one
// statement, the peers by reading, merging and writing back the whole.
func BenchmarkUpdate(b *testing.B) {
	ts := targets(b)
	prefix := func(size string) string { return "u" + sizeTag(size) + "-" }
	seedAll(b, ts, prefix)
	// Prepared once: building them would be timed and counted as
	// allocations of every implementation alike.
	var patches [64]map[string]any
	for i := range patches {
		patches[i] = patch(i)
	}
	forEach(b, ts, func(b *testing.B, s sessions, _ backend, size string, par int) {
		ids := idsFor(prefix(size), seeded)
		run(b, par, func(ctx context.Context, i int) error {
			return s.Update(ctx, ids[i%seeded], patches[i%len(patches)])
		})
	})
}

// BenchmarkTouch marks sessions as used.
func BenchmarkTouch(b *testing.B) {
	ts := targets(b)
	prefix := func(size string) string { return "t" + sizeTag(size) + "-" }
	seedAll(b, ts, prefix)
	forEach(b, ts, func(b *testing.B, s sessions, _ backend, size string, par int) {
		ids := idsFor(prefix(size), seeded)
		run(b, par, func(ctx context.Context, i int) error {
			return s.Touch(ctx, ids[i%seeded])
		})
	})
}

// BenchmarkDelete deletes sessions that exist: each run first seeds, untimed,
// as many as it will delete.
func BenchmarkDelete(b *testing.B) {
	ts := targets(b)
	forEach(b, ts, func(b *testing.B, s sessions, be backend, size string, par int) {
		p := runPrefix("d")
		be.seed(b, p, 0, b.N, size)
		ids := idsFor(p, b.N)
		run(b, par, func(ctx context.Context, i int) error {
			return s.Delete(ctx, ids[i])
		})
		be.deletePrefix(b, p) // what a failed run left
	})
}
