package main

import (
	"image/color"
	"math"
	"os"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// palette tells the series of a panel apart.
var palette = []color.Color{
	color.RGBA{R: 0x1f, G: 0x4e, B: 0x9a, A: 0xff},
	color.RGBA{R: 0xd9, G: 0x8c, B: 0x1f, A: 0xff},
	color.RGBA{R: 0x1e, G: 0x7a, B: 0x46, A: 0xff},
	color.RGBA{R: 0xc0, G: 0x39, B: 0x2b, A: 0xff},
	color.RGBA{R: 0x7b, G: 0x3f, B: 0x9e, A: 0xff},
	color.RGBA{R: 0x55, G: 0x55, B: 0x55, A: 0xff},
	color.RGBA{R: 0x8c, G: 0xb0, B: 0xe8, A: 0xff},
	color.RGBA{R: 0x9a, G: 0xd6, B: 0xa8, A: 0xff},
}

// series is one line of a panel: its points, minutes on x.
type series struct {
	name string
	xy   plotter.XYs
}

func panel(title, ylabel string, lines []series) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "minutes"
	p.Y.Label.Text = ylabel
	p.Y.Min = 0
	p.Legend.Top = true
	p.Legend.Left = true
	p.Legend.TextStyle.Font.Size = vg.Points(8)
	p.Add(plotter.NewGrid())
	for i, s := range lines {
		xy := plotter.XYs{}
		for _, pt := range s.xy {
			if !math.IsNaN(pt.Y) && !math.IsInf(pt.Y, 0) {
				xy = append(xy, pt)
			}
		}
		if len(xy) == 0 {
			continue
		}
		l, err := plotter.NewLine(xy)
		if err != nil {
			return nil, err
		}
		l.Color = palette[i%len(palette)]
		l.Width = vg.Points(1.5)
		p.Add(l)
		p.Legend.Add(s.name, l)
	}
	p.Y.Max = math.Max(p.Y.Max*1.3, 1) // room for the legend
	p.Y.Tick.Marker = plainTicks{}
	return p, nil
}

// plainTicks are gonum's default ticks, labelled without trailing zeros.
type plainTicks struct{}

func (plainTicks) Ticks(lo, hi float64) []plot.Tick {
	ticks := plot.DefaultTicks{}.Ticks(lo, hi)
	for i := range ticks {
		if ticks[i].Label != "" {
			// Ten significant digits first: a tick such as 3×0.4 is
			// 1.2000000000000002 in binary.
			v, _ := strconv.ParseFloat(strconv.FormatFloat(ticks[i].Value, 'g', 10, 64), 64)
			ticks[i].Label = strconv.FormatFloat(v, 'f', -1, 64)
		}
	}
	return ticks
}

// writeChurnChart draws the soak's panels: table sizes, dead tuples, the
// HOT-update ratio, heap bloat, index leaf density and request latency.
func writeChurnChart(path string, samples []churnSample) error {
	minutes := func(s churnSample) float64 { return s.Elapsed.Minutes() }
	perTable := func(f func(t tableSample) float64, tables ...string) []series {
		var out []series
		for _, name := range tables {
			s := series{name: name}
			for _, cs := range samples {
				if t, ok := cs.Tables[name]; ok {
					s.xy = append(s.xy, plotter.XY{X: minutes(cs), Y: f(t)})
				}
			}
			out = append(out, s)
		}
		return out
	}
	hot := func(tables ...string) []series {
		var out []series
		for _, name := range tables {
			s := series{name: name}
			for i := 1; i < len(samples); i++ {
				s.xy = append(s.xy, plotter.XY{X: minutes(samples[i]),
					Y: 100 * hotRatio(samples[i-1].Tables[name], samples[i].Tables[name])})
			}
			out = append(out, s)
		}
		return out
	}
	var indexes []series
	if len(samples) > 0 {
		for _, name := range sortedKeys(samples[len(samples)-1].Indexes) {
			ix := samples[len(samples)-1].Indexes[name]
			if ix.Table != "mcp_sessions" && ix.Table != "mcp_handles" {
				continue
			}
			s := series{name: name}
			for _, cs := range samples {
				if v, ok := cs.Indexes[name]; ok {
					s.xy = append(s.xy, plotter.XY{X: minutes(cs), Y: v.Density})
				}
			}
			indexes = append(indexes, s)
		}
	}
	latency := []series{{name: "p50"}, {name: "p99"}}
	for _, cs := range samples[min(1, len(samples)):] {
		latency[0].xy = append(latency[0].xy, plotter.XY{X: minutes(cs), Y: float64(cs.P50) / 1e6})
		latency[1].xy = append(latency[1].xy, plotter.XY{X: minutes(cs), Y: float64(cs.P99) / 1e6})
	}
	specs := []panelSpec{
		{"Size (table, indexes and TOAST)", "MiB", perTable(func(t tableSample) float64 { return float64(t.Total) / (1 << 20) }, churnTables...)},
		{"Dead tuples (pg_stat_user_tables)", "tuples", perTable(func(t tableSample) float64 { return float64(t.Dead) }, churnTables...)},
		{"HOT updates between samples", "% of updates", hot("mcp_sessions", "mcp_handles", "mcp_streams", "mcp_event_sessions")},
		{"Heap dead and free space (pgstattuple)", "% of the heap", append(
			perTable(func(t tableSample) float64 { return t.DeadPct }, "mcp_sessions", "mcp_handles"),
			renamed(perTable(func(t tableSample) float64 { return t.FreePct }, "mcp_sessions", "mcp_handles"), " free")...)},
		{"Index leaf density of sessions and handles (pgstatindex)", "%", indexes},
		{"Request latency between samples", "ms", latency},
	}
	return writePanels(path, specs)
}

// panelSpec is one panel of a chart.
type panelSpec struct {
	title, ylabel string
	lines         []series
}

// writePanels draws specs two to a row into a PNG at path.
func writePanels(path string, specs []panelSpec) error {
	const cols = 2
	rows := (len(specs) + cols - 1) / cols
	grid := make([][]*plot.Plot, rows)
	for i, sp := range specs {
		p, err := panel(sp.title, sp.ylabel, sp.lines)
		if err != nil {
			return err
		}
		grid[i/cols] = append(grid[i/cols], p)
	}
	img := vgimg.New(vg.Points(560*cols), vg.Points(340*float64(rows)))
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: rows, Cols: cols, PadX: vg.Points(12), PadY: vg.Points(12),
		PadTop: vg.Points(8), PadBottom: vg.Points(8), PadLeft: vg.Points(8), PadRight: vg.Points(8)}
	canvases := plot.Align(grid, tiles, dc)
	for i := range grid {
		for j := range grid[i] {
			grid[i][j].Draw(canvases[i][j])
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func renamed(s []series, suffix string) []series {
	for i := range s {
		s[i].name += suffix
	}
	return s
}
