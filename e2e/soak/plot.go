package main

import (
	"fmt"
	"image/color"
	"os"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

var (
	blue   = color.RGBA{R: 31, G: 119, B: 180, A: 255}
	orange = color.RGBA{R: 255, G: 127, B: 14, A: 255}
	green  = color.RGBA{R: 44, G: 160, B: 44, A: 255}
	red    = color.RGBA{R: 214, G: 39, B: 40, A: 255}
	grey   = color.RGBA{R: 127, G: 127, B: 127, A: 255}
	shade  = color.NRGBA{R: 255, G: 120, B: 120, A: 70}
)

// writePlot draws four panels over the run's seconds: throughput, p50/p99
// latency, errors, and the stack's memory; the store's outage is shaded.
func writePlot(path string, cfg config, res *result) error {
	secs := perSecond(res, cfg.Duration)
	n := int(cfg.Duration / time.Second) // the last partial seconds are drain
	series := func(get func(second) float64) plotter.XYs {
		xy := make(plotter.XYs, 0, n)
		for i := 0; i < n && i < len(secs); i++ {
			xy = append(xy, plotter.XY{X: float64(i) + 0.5, Y: get(secs[i])})
		}
		return xy
	}
	// Latency of the seconds that had answers (a store stall can leave one empty).
	latency := func(p float64) plotter.XYs {
		var xy plotter.XYs
		for i := 0; i < n && i < len(secs); i++ {
			if len(secs[i].lat) > 0 {
				xy = append(xy, plotter.XY{X: float64(i) + 0.5, Y: max(pct(secs[i].lat, p), 0.1)})
			}
		}
		return xy
	}
	title := fmt.Sprintf("keygate soak: %s, %d in flight, store down %s–%s", cfg.Duration, cfg.Concurrency,
		res.stopAt.Round(time.Second), res.readyAt.Round(time.Second))

	tp := newPanel(title, "requests/s")
	fill(tp, res, false,
		line{"all answers", blue, series(func(s second) float64 { return float64(s.n) })},
		line{"2xx", green, series(func(s second) float64 { return float64(s.ok) })})

	lat := newPanel("", "latency, ms (log)")
	lat.Y.Scale = plot.LogScale{}
	lat.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	fill(lat, res, true, line{"p50", blue, latency(50)}, line{"p99", orange, latency(99)})

	errs := newPanel("", "answers/s")
	fill(errs, res, false,
		line{"429 (limit spent, expected)", grey, series(func(s second) float64 { return float64(s.r429) })},
		line{"503 (store down)", orange, series(func(s second) float64 { return float64(s.r503) })},
		line{"failures (5xx, unexpected, none)", red, series(func(s second) float64 { return float64(s.fail) })})

	mem := newPanel("", "stack memory, MiB")
	mem.X.Label.Text = "seconds since the load started"
	var live, rssXY plotter.XYs
	for _, m := range res.mem {
		at := time.UnixMilli(m.At).Sub(res.t0).Seconds()
		if at < 0 || at > cfg.Duration.Seconds() {
			continue
		}
		live = append(live, plotter.XY{X: at, Y: float64(m.Live) / (1 << 20)})
		rssXY = append(rssXY, plotter.XY{X: at, Y: float64(m.RSS) / (1 << 20)})
	}
	fill(mem, res, false, line{"RSS", blue, rssXY}, line{"live Go heap", green, live})

	panels := []*plot.Plot{tp, lat, errs, mem}
	for _, p := range panels {
		p.X.Min, p.X.Max = 0, cfg.Duration.Seconds()
	}

	const w, h = 11 * vg.Inch, 12 * vg.Inch
	img := vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(96))
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: len(panels), Cols: 1, PadX: vg.Millimeter, PadY: 4 * vg.Millimeter,
		PadTop: 2 * vg.Millimeter, PadBottom: 2 * vg.Millimeter, PadLeft: 2 * vg.Millimeter, PadRight: 4 * vg.Millimeter}
	grid := make([][]*plot.Plot, len(panels))
	for i, p := range panels {
		grid[i] = []*plot.Plot{p}
	}
	canvases := plot.Align(grid, tiles, dc)
	for i, p := range panels {
		p.Draw(canvases[i][0])
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

func newPanel(title, ylabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.Y.Label.Text = ylabel
	p.Legend.Top = true
	p.Legend.Left = false
	p.Add(plotter.NewGrid())
	return p
}

type line struct {
	name  string
	color color.Color
	xy    plotter.XYs
}

// fill draws the store's downtime as a shaded band, then the lines over it.
func fill(p *plot.Plot, res *result, logY bool, lines ...line) {
	ymin, ymax := 0.0, 1.0
	if logY {
		ymin = 0.1
	}
	for _, l := range lines {
		for _, v := range l.xy {
			ymax = max(ymax, v.Y*1.05)
		}
	}
	if !logY {
		p.Y.Min = 0
	}
	if res.readyAt > res.stopAt {
		x0, x1 := res.stopAt.Seconds(), res.readyAt.Seconds()
		if poly, err := plotter.NewPolygon(plotter.XYs{{X: x0, Y: ymin}, {X: x1, Y: ymin}, {X: x1, Y: ymax}, {X: x0, Y: ymax}}); err == nil {
			poly.Color = shade
			poly.LineStyle.Width = 0
			p.Add(poly)
			p.Legend.Add("store down", poly)
		}
	}
	for _, l := range lines {
		if len(l.xy) == 0 {
			continue
		}
		pl, err := plotter.NewLine(l.xy)
		if err != nil {
			continue
		}
		pl.Color = l.color
		pl.Width = vg.Points(1.2)
		p.Add(pl)
		p.Legend.Add(l.name, pl)
	}
}
