package main

import (
	"fmt"
	"strings"
)

// The read cache (package cache): the operation benchmarks' impl=cache,
// tools/call's adapter+cache, and BenchmarkCacheSeenElsewhere.

func seenName(dialect string) string { return "CacheSeenElsewhere/dialect=" + dialect }

func writeCache(b *strings.Builder, res *results) {
	w := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	if !res.has("CacheSeenElsewhere/") && !res.has("Get/dialect=postgres/impl=cache") {
		return
	}
	w("## Read cache\n\n")
	w("The store behind package cache (`impl=cache` in the operation tables): Get from memory while the bus is ")
	w("listening (Postgres) or polling (SQLite), a copy the caller owns; every write through the cache drops its entry here ")
	w("and publishes its key on the bus, in batches. The Get rows above read the same 1,000 sessions over and over, after ")
	w("reading each once untimed, so the timed reads are hits: an entry lives at most the staleness bound, 1 s, and one in use ")
	w("is read again in the background before it ends (refresh ahead). `misses/op` in the raw output counts the timed reads ")
	w("that went to the database.\n\n")
	w("| Dialect | Size | Goroutines | Get: cache | raw | cache ÷ raw (speed-up) | Redis GET | Update: cache ÷ store |\n")
	w("|---|---|---:|---:|---:|---:|---:|---:|\n")
	for _, d := range dialects {
		for _, size := range sizes {
			for _, par := range res.parallelism() {
				c, ok := res.stat(opName("Get", d, "cache", size, par), unitTime)
				if !ok {
					continue
				}
				raw, _ := res.stat(opName("Get", d, "raw", size, par), unitTime)
				redis, okR := res.stat(opName("Get", "redis", "redis", size, par), unitTime)
				redisCol := ""
				if okR && d == "postgres" {
					redisCol = fmtTime(redis.Center)
				}
				upd := ""
				if cu, ok1 := res.stat(opName("Update", d, "cache", size, par), unitTime); ok1 {
					if su, ok2 := res.stat(opName("Update", d, "store", size, par), unitTime); ok2 {
						upd = fmt.Sprintf("%.2f", su.Center/cu.Center)
					}
				}
				w("| %s | %s | %s | %s | %s | %.0f× | %s | %s |\n", dialectLabel[d], size, parLabel(par),
					fmtTime(c.Center), fmtTime(raw.Center), raw.Center/c.Center, redisCol, upd)
			}
		}
	}
	w("\n")
	if res.has("CacheSeenElsewhere/") {
		w("A write through one process's cache, seen by a second process that has the session cached ")
		w("(`BenchmarkCacheSeenElsewhere`: an Update or a Delete here, then the other process asked until its answer changes; ")
		w("the other process is the benchmark binary started again):\n\n")
		w("| Dialect | How it learns | p50 | p99 |\n|---|---|---:|---:|\n")
		for _, d := range dialects {
			p50, ok1 := res.stat(seenName(d), "p50-ms")
			p99, ok2 := res.stat(seenName(d), "p99-ms")
			if !ok1 || !ok2 {
				continue
			}
			how := "NOTIFY wakes its bus"
			if d == "sqlite" {
				how = "its bus polls (100 ms)"
			}
			w("| %s | %s | %.1f ms | %.1f ms |\n", dialectLabel[d], how, p50.Center, p99.Center)
		}
		w("\n")
	}
}

// cacheTargets are issue 15's.
func cacheTargets(res *results) []target {
	var ts []target

	name := "cache hit Get at least 20× the raw driver's Get on Postgres (500B, 1 goroutine)"
	c, ok1 := res.stat(opName("Get", "postgres", "cache", "500B", 1), unitTime)
	raw, ok2 := res.stat(opName("Get", "postgres", "raw", "500B", 1), unitTime)
	if ok1 && ok2 {
		r := raw.Center / c.Center
		ts = append(ts, target{Name: name, Figure: fmt.Sprintf("%.0f× (%s beside %s)", r, fmtTime(c.Center), fmtTime(raw.Center)),
			Status: status(r >= 20)})
	} else {
		ts = append(ts, noData(name, "BenchmarkGet with impl=cache and impl=raw on Postgres"))
	}

	name = "cache hit Get faster than Redis GET (500B, 1 goroutine)"
	redis, ok3 := res.stat(opName("Get", "redis", "redis", "500B", 1), unitTime)
	if ok1 && ok3 {
		ts = append(ts, target{Name: name, Figure: fmt.Sprintf("%s beside %s", fmtTime(c.Center), fmtTime(redis.Center)),
			Status: status(c.Center < redis.Center)})
	} else {
		ts = append(ts, noData(name, "BenchmarkGet with impl=cache on Postgres and the Redis peer"))
	}

	name = "tools/call through mcpgo with the cache, Postgres, within 1.15× of mcp-go's in-memory sessions (1 goroutine)"
	if _, a, m, ok := toolCallRatioOf(res, "mcp-go", "adapter+cache", "postgres", 1); ok {
		r := a.Center / m.Center
		ts = append(ts, target{Name: name, Figure: fmt.Sprintf("%.2f× (%s beside %s)", r, fmtTime(a.Center), fmtTime(m.Center)),
			Status: status(r <= 1.15)})
	} else {
		ts = append(ts, noData(name, "BenchmarkToolCall with impl=adapter+cache"))
	}

	name = "an Update or Delete on one process seen by a second: p99 under 50 ms with NOTIFY"
	if p99, ok := res.stat(seenName("postgres"), "p99-ms"); ok {
		p50, _ := res.stat(seenName("postgres"), "p50-ms")
		fig := fmt.Sprintf("Postgres p50 %.1f ms, p99 %.1f ms", p50.Center, p99.Center)
		if l50, ok := res.stat(seenName("sqlite"), "p50-ms"); ok {
			l99, _ := res.stat(seenName("sqlite"), "p99-ms")
			fig += fmt.Sprintf("; SQLite (polling) p50 %.1f ms, p99 %.1f ms", l50.Center, l99.Center)
		}
		ts = append(ts, target{Name: name, Figure: fig, Status: status(p99.Center < 50)})
	} else {
		ts = append(ts, noData(name, "BenchmarkCacheSeenElsewhere on Postgres"))
	}

	name = "Update throughput at 16 goroutines with invalidation at least 0.9 of without (Postgres, 500B)"
	cu, okC := res.stat(opName("Update", "postgres", "cache", "500B", 16), unitTime)
	su, okS := res.stat(opName("Update", "postgres", "store", "500B", 16), unitTime)
	if okC && okS {
		r := su.Center / cu.Center
		ts = append(ts, target{Name: name, Figure: fmt.Sprintf("%.2f (%s with, %s without)", r, fmtTime(cu.Center), fmtTime(su.Center)),
			Status: status(r >= 0.9)})
	} else {
		ts = append(ts, noData(name, "BenchmarkUpdate with impl=cache and impl=store at 16 goroutines"))
	}
	return ts
}

func status(met bool) string {
	if met {
		return statusMet
	}
	return statusMissed
}
