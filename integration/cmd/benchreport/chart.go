package main

import (
	"fmt"
	"image/color"
	"os"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// seriesColors tell the implementations apart: the store dark, its
// baseline light, in one hue per database; the peers in hues of their own.
var seriesColors = []color.Color{
	color.RGBA{R: 0x1f, G: 0x4e, B: 0x9a, A: 0xff}, // store, Postgres
	color.RGBA{R: 0x8c, G: 0xb0, B: 0xe8, A: 0xff}, // raw, Postgres
	color.RGBA{R: 0xd9, G: 0x8c, B: 0x1f, A: 0xff}, // scs
	color.RGBA{R: 0xc0, G: 0x39, B: 0x2b, A: 0xff}, // Redis
	color.RGBA{R: 0x1e, G: 0x7a, B: 0x46, A: 0xff}, // store, SQLite
	color.RGBA{R: 0x9a, G: 0xd6, B: 0xa8, A: 0xff}, // raw, SQLite
}

// writeChart draws the median latency of each operation for each
// implementation: one panel per metadata size and parallelism.
func writeChart(path string, res *results) error {
	pars := res.parallelism()
	if len(pars) == 0 {
		pars = []int{1}
	}
	rows := make([][]*plot.Plot, len(sizes))
	for i, size := range sizes {
		for _, par := range pars {
			p, err := chartPanel(res, size, par)
			if err != nil {
				return err
			}
			rows[i] = append(rows[i], p)
		}
	}
	width, height := vg.Points(560*float64(len(pars))), vg.Points(380*float64(len(sizes)))
	img := vgimg.New(width, height)
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: len(sizes), Cols: len(pars), PadX: vg.Points(12), PadY: vg.Points(12),
		PadTop: vg.Points(8), PadBottom: vg.Points(8), PadLeft: vg.Points(8), PadRight: vg.Points(8)}
	canvases := plot.Align(rows, tiles, dc)
	for i := range rows {
		for j := range rows[i] {
			rows[i][j].Draw(canvases[i][j])
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

func chartPanel(res *results, size string, par int) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("Median latency per operation: %s of metadata, %s", size, goroutineLabel(par))
	p.Y.Label.Text = "µs per operation"
	if par > 1 {
		p.Y.Label.Text = "µs per operation (wall time ÷ operations)"
	}
	p.Y.Min = 0
	p.Legend.Top = true
	p.Legend.TextStyle.Font.Size = vg.Points(9)
	p.Add(plotter.NewGrid())
	barWidth := vg.Points(11)
	for i, im := range impls {
		values := make(plotter.Values, len(operations))
		for j, op := range operations {
			if s, ok := res.stat(opName(op, im.dialect, im.impl, size, par), unitTime); ok {
				values[j] = s.Center * 1e6
			}
		}
		bars, err := plotter.NewBarChart(values, barWidth)
		if err != nil {
			return nil, err
		}
		bars.Color = seriesColors[i%len(seriesColors)]
		bars.LineStyle.Width = 0
		bars.Offset = barWidth * vg.Length(float64(i)-float64(len(impls)-1)/2)
		p.Add(bars)
		p.Legend.Add(im.label, bars)
	}
	p.NominalX(operations...)
	// Room above the tallest bar for the legend.
	p.Y.Max *= 1.45
	p.Y.Tick.Marker = plainTicks{}
	return p, nil
}

// plainTicks are gonum's default ticks, labelled without trailing zeros.
type plainTicks struct{}

func (plainTicks) Ticks(lo, hi float64) []plot.Tick {
	ticks := plot.DefaultTicks{}.Ticks(lo, hi)
	for i := range ticks {
		if ticks[i].Label != "" {
			ticks[i].Label = strconv.FormatFloat(ticks[i].Value, 'f', -1, 64)
		}
	}
	return ticks
}
