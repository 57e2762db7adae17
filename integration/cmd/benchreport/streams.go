package main

import (
	"fmt"
	"strings"
)

// BenchmarkCrossReplicaDelivery and BenchmarkUpdateBus: the streams across
// replicas (issue 11).

var deliveryLevels = []struct{ level, label string }{
	{"bus", "bus message (Publish → another replica's subscriber)"},
	{"stream", "notification (Notify → the GET stream on another replica)"},
}

var updateBusImpls = []struct{ impl, label string }{
	{"nobus", "no bus"},
	{"bus", "bus running, idle"},
	{"bustraffic", "bus running, 500 messages/s"},
}

func deliveryName(dialect, level string) string {
	return fmt.Sprintf("CrossReplicaDelivery/dialect=%s/level=%s", dialect, level)
}

func updateBusName(dialect, impl string, par int) string {
	return fmt.Sprintf("UpdateBus/dialect=%s/impl=%s/par=%d", dialect, impl, par)
}

// updateBusPar is the goroutine count BenchmarkUpdateBus ran with: the
// largest of the operation benchmarks' (16 unless configured).
func updateBusPar(res *results) int {
	pars := res.parallelism()
	return pars[len(pars)-1]
}

func writeStreams(b *strings.Builder, res *results) {
	w := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	if !res.has("CrossReplicaDelivery/") && !res.has("UpdateBus/") {
		return
	}
	w("## Streams across replicas\n\n")
	if res.has("CrossReplicaDelivery/") {
		w("How long a message takes from one replica to another, one at a time, each replica with a store and a bus of its ")
		w("own over one database: on Postgres the bus is woken by NOTIFY, on SQLite it polls every 100 ms (the default). ")
		w("Between deliveries the benchmark waits a random part of the poll interval, untimed, as messages that come when ")
		w("they come do. p50 and p99 are over each sample's deliveries; the columns give their medians over the samples, ")
		w("and the worst p99 of any sample.\n\n")
		w("| Database | What | Deliveries | p50 | p99 | worst p99 | Mean |\n|---|---|---:|---:|---:|---:|---:|\n")
		for _, d := range dialects {
			for _, l := range deliveryLevels {
				n := deliveryName(d, l.level)
				p50, ok1 := res.stat(n, "p50-ms")
				p99, ok2 := res.stat(n, "p99-ms")
				mean, ok3 := res.stat(n, unitTime)
				if !ok1 || !ok2 || !ok3 {
					continue
				}
				w("| %s | %s | %d | %.2f ms | %.2f ms | %.2f ms | %s |\n", dialectLabel[d], l.label, res.iters[n], p50.Center, p99.Center, p99.Max, fmtTime(mean.Center))
			}
		}
		w("\n")
	}
	if res.has("UpdateBus/") {
		par := updateBusPar(res)
		w("What a running bus costs the store's `Update`, at %s goroutines on one store, in the same run: the store alone, ", parLabel(par))
		w("with a bus running over it (on Postgres its listener holds a connection of its own, outside the store's pool), and with the bus ")
		w("carrying 500 messages a second, published on the same store and read back (on Postgres each is a NOTIFY). ")
		w("The last column is throughput as a fraction of the store alone's.\n\n")
		w("| Database | Bus | Time/op | ± | Ops/s | ÷ no bus |\n|---|---|---:|---:|---:|---:|\n")
		for _, d := range dialects {
			base, okBase := res.stat(updateBusName(d, "nobus", par), unitTime)
			for _, im := range updateBusImpls {
				s, ok := res.stat(updateBusName(d, im.impl, par), unitTime)
				if !ok {
					continue
				}
				ratio := ""
				if okBase {
					ratio = fmt.Sprintf("%.2f", base.Center/s.Center)
				}
				w("| %s | %s | %s | %s | %s | %s |\n", dialectLabel[d], im.label, fmtTime(s.Center), fmtSpread(s), fmtOps(s.Center), ratio)
			}
		}
		w("\n")
	}
}

// streamsTargets: the figures, measured on both databases. It sets
// no bound on either: the target is the measurement, the figure what it
// found.
func streamsTargets(res *results) []target {
	var ts []target
	name := "Cross-replica delivery latency p50/p99 on Postgres (NOTIFY) and SQLite (poll)"
	var figures []string
	missing := false
	for _, d := range dialects {
		n := deliveryName(d, "stream")
		p50, ok1 := res.stat(n, "p50-ms")
		p99, ok2 := res.stat(n, "p99-ms")
		bp50, ok3 := res.stat(deliveryName(d, "bus"), "p50-ms")
		bp99, ok4 := res.stat(deliveryName(d, "bus"), "p99-ms")
		if !ok1 || !ok2 || !ok3 || !ok4 {
			missing = true
			continue
		}
		figures = append(figures, fmt.Sprintf("%s: notification %.2f / %.2f ms, bus message %.2f / %.2f ms", dialectLabel[d], p50.Center, p99.Center, bp50.Center, bp99.Center))
	}
	if missing {
		ts = append(ts, noData(name, "BenchmarkCrossReplicaDelivery"))
	} else {
		ts = append(ts, target{Name: name, Figure: strings.Join(figures, "; "), Status: statusMet})
	}

	par := updateBusPar(res)
	name = fmt.Sprintf("What the bus costs an Update, %s goroutines, with and without the bus, same run", parLabel(par))
	figures, missing = nil, false
	for _, d := range dialects {
		base, ok1 := res.stat(updateBusName(d, "nobus", par), unitTime)
		idle, ok2 := res.stat(updateBusName(d, "bus", par), unitTime)
		busy, ok3 := res.stat(updateBusName(d, "bustraffic", par), unitTime)
		if !ok1 || !ok2 || !ok3 {
			missing = true
			continue
		}
		figures = append(figures, fmt.Sprintf("%s: %.2f of the throughput with a bus, %.2f with its traffic (%s, %s, %s)",
			dialectLabel[d], base.Center/idle.Center, base.Center/busy.Center, fmtTime(base.Center), fmtTime(idle.Center), fmtTime(busy.Center)))
	}
	if missing {
		ts = append(ts, noData(name, "BenchmarkUpdateBus"))
	} else {
		ts = append(ts, target{Name: name, Figure: strings.Join(figures, "; "), Status: statusMet})
	}
	return ts
}
