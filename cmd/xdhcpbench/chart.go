package main

import (
	"fmt"
	"image/color"
	"math"
	"os"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

type rgb struct{ r, g, b uint8 }

func (c rgb) rgba() color.RGBA { return color.RGBA{c.r, c.g, c.b, 255} }
func (c rgb) hex() string      { return fmt.Sprintf("#%02x%02x%02x", c.r, c.g, c.b) }

// palette: one colour per server, in table order.
var palette = []rgb{
	{214, 39, 40},   // red: kea
	{31, 119, 180},  // blue: xdhcpd-udp
	{44, 160, 44},   // green: xdhcpd-auto
	{255, 127, 14},  // orange: kea-ha
	{148, 103, 189}, // purple: xdhcpd-ha
	{140, 86, 75},
	{23, 190, 207},
}

// series is one server's line in one panel.
type series struct {
	name  string
	color rgb
	pts   [][2]float64 // (offered rate, value)
}

// panel is one plot: x = offered DORA/s.
type panel struct {
	title  string
	ylabel string
	series []series
	hline  float64 // a dashed reference line (0 = none)
	hlabel string  // the reference line's legend entry
}

// The chart's size in pixels (at chartDPI), its x axis title, and the
// width of the legend column to the right of the panels.
const (
	chartW, chartH = 1000, 900
	chartDPI       = 96
	legendW        = 230
	xTitle         = "offered rate (DORA/s; median of the runs per point)"
)

// sans is the chart's typeface (gonum's default is the serif one).
func sans(size float64) font.Font {
	return font.Font{Typeface: "Liberation", Variant: "Sans", Size: vg.Points(size)}
}

// px converts pixels at chartDPI into vg lengths.
func px(n float64) vg.Length { return vg.Length(n) * vg.Inch / chartDPI }

// niceCeil rounds v up to 1, 2, 2.5 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*p >= v*(1-1e-9) {
			return m * p
		}
	}
	return 10 * p
}

func tickLabel(v float64) string {
	switch {
	case v >= 1000 && math.Mod(v, 1000) == 0:
		return fmt.Sprintf("%.0fk", v/1000)
	case v >= 1000:
		return fmt.Sprintf("%.1fk", v/1000)
	case v == math.Trunc(v):
		return fmt.Sprintf("%.0f", v)
	default:
		return fmt.Sprintf("%.2g", v)
	}
}

// fifths are the ticks 0, max/5, ..., max: the axes run from 0 to a
// niceCeil value, so every tick lands on a round number.
func fifths(max float64) plot.ConstantTicks {
	var ts plot.ConstantTicks
	for i := 0; i <= 5; i++ {
		v := max * float64(i) / 5
		ts = append(ts, plot.Tick{Value: v, Label: tickLabel(v)})
	}
	return ts
}

// panels builds the chart's two panels from the results: loss and
// REQUEST-ACK delay (p99, or max without percentiles) against offered rate.
func panels(res *Results) ([]panel, float64) {
	dn := "max"
	if res.Percentiles {
		dn = "p99"
	}
	loss := panel{title: "Loss vs offered rate", ylabel: "loss (% of DISCOVERs without ACK)",
		hline: 100 * lossTarget, hlabel: fmt.Sprintf("loss target (%g %%)", 100*lossTarget)}
	delay := panel{title: "REQUEST-ACK " + dn + " delay vs offered rate", ylabel: "REQUEST-ACK " + dn + " delay (ms)"}
	xmax := 0.0
	for i, s := range res.Servers {
		c := palette[i%len(palette)]
		ls, ds := series{name: s.Name, color: c}, series{name: s.Name, color: c}
		for _, p := range s.Points {
			x := float64(p.Offered)
			xmax = math.Max(xmax, x)
			ls.pts = append(ls.pts, [2]float64{x, 100 * p.Median.Loss})
			d := p.Median.RA.MaxMs
			if res.Percentiles {
				d = p.Median.RA.P99Ms
			}
			ds.pts = append(ds.pts, [2]float64{x, d})
		}
		loss.series = append(loss.series, ls)
		delay.series = append(delay.series, ds)
	}
	return []panel{loss, delay}, xmax
}

// styles are a server's line and point styles, shared by both panels and
// the legend.
func styles(c rgb) (draw.LineStyle, draw.GlyphStyle) {
	return draw.LineStyle{Color: c.rgba(), Width: px(3)},
		draw.GlyphStyle{Color: c.rgba(), Radius: px(3.5), Shape: draw.BoxGlyph{}}
}

// refStyle is the dashed reference line (the loss target).
var refStyle = draw.LineStyle{Color: color.RGBA{90, 90, 90, 255}, Width: px(1.5),
	Dashes: []vg.Length{px(6), px(6)}}

// plotPanel turns one panel into a gonum plot: linear axes from 0 to a
// round value above the data (as the bench has always drawn them), a grey
// grid, one line with square points per server that has points.
func plotPanel(p panel, xmax float64) (*plot.Plot, error) {
	pl := plot.New()
	pl.Title.Text = p.title
	pl.Title.TextStyle.Font = sans(13)
	pl.X.Label.Text = xTitle
	pl.Y.Label.Text = p.ylabel
	for _, a := range []*plot.Axis{&pl.X, &pl.Y} {
		a.Label.TextStyle.Font = sans(11)
		a.Tick.Label.Font = sans(10)
	}
	ymax := p.hline
	for _, s := range p.series {
		for _, pt := range s.pts {
			ymax = math.Max(ymax, pt[1])
		}
	}
	xr, yr := niceCeil(xmax), niceCeil(ymax*1.05)
	pl.X.Tick.Marker, pl.Y.Tick.Marker = fifths(xr), fifths(yr)
	grid := plotter.NewGrid()
	grid.Vertical.Color = color.Gray{210}
	grid.Horizontal.Color = color.Gray{210}
	pl.Add(grid)
	if p.hline > 0 {
		ref, err := plotter.NewLine(plotter.XYs{{X: 0, Y: p.hline}, {X: xr, Y: p.hline}})
		if err != nil {
			return nil, fmt.Errorf("reference line: %w", err)
		}
		ref.LineStyle = refStyle
		pl.Add(ref)
	}
	for _, s := range p.series {
		if len(s.pts) == 0 {
			continue
		}
		xys := make(plotter.XYs, len(s.pts))
		for i, pt := range s.pts {
			xys[i] = plotter.XY{X: pt[0], Y: pt[1]}
		}
		ln, sc, err := plotter.NewLinePoints(xys)
		if err != nil {
			return nil, fmt.Errorf("series %s: %w", s.name, err)
		}
		ln.LineStyle, sc.GlyphStyle = styles(s.color)
		pl.Add(ln, sc)
	}
	// Add set the ranges to the data's; the axes start at 0 and end at
	// the round values the ticks divide.
	pl.X.Min, pl.X.Max = 0, xr
	pl.Y.Min, pl.Y.Max = 0, yr
	return pl, nil
}

// legendEntryText is a server's legend line: its name, the datapath it
// ran on if it reported one, or that it has no points.
func legendEntryText(s *Server) string {
	switch {
	case len(s.Points) == 0:
		return s.Name + " (no data)"
	case s.Actual != "":
		return s.Name + " (" + s.Actual + ")"
	}
	return s.Name
}

// chartLegend is chart.json: what the PNG shows, in words.
type chartLegend struct {
	File   string        `json:"file"`
	Panels []string      `json:"panels"`
	X      string        `json:"x"`
	Series []legendEntry `json:"series"`
}

type legendEntry struct {
	Server string `json:"server"`
	Color  string `json:"color"`
	Path   string `json:"datapath,omitempty"`
}

// renderChart draws the two panels stacked, sharing the x range, with one
// legend for both in a column to their right.
func renderChart(res *Results) (*vgimg.Canvas, error) {
	img := vgimg.NewWith(vgimg.UseWH(px(chartW), px(chartH)), vgimg.UseDPI(chartDPI))
	dc := draw.New(img)
	ps, xmax := panels(res)
	plots := make([][]*plot.Plot, len(ps))
	for i, p := range ps {
		pl, err := plotPanel(p, xmax)
		if err != nil {
			return nil, fmt.Errorf("panel %q: %w", p.title, err)
		}
		plots[i] = []*plot.Plot{pl}
	}
	left := draw.Crop(dc, 0, -px(legendW), 0, 0)
	tiles := draw.Tiles{Rows: len(ps), Cols: 1, PadTop: px(8), PadBottom: px(8), PadLeft: px(8), PadRight: px(12), PadY: px(24)}
	for i, row := range plot.Align(plots, tiles, left) {
		plots[i][0].Draw(row[0])
	}

	lg := plot.NewLegend()
	lg.Top, lg.Left = true, true
	lg.TextStyle.Font = sans(11)
	lg.ThumbnailWidth = px(36)
	lg.Padding = px(6)
	lg.Add("servers (both panels):")
	for i, s := range res.Servers {
		ls, gs := styles(palette[i%len(palette)])
		ln := &plotter.Line{LineStyle: ls}
		sc := &plotter.Scatter{GlyphStyle: gs}
		lg.Add(legendEntryText(s), ln, sc)
	}
	for _, p := range ps {
		if p.hline > 0 {
			lg.Add(p.hlabel+", top panel", &plotter.Line{LineStyle: refStyle})
		}
	}
	lg.Draw(draw.Crop(dc, px(chartW-legendW), 0, 0, -px(16)))
	return img, nil
}

// writeChart writes the PNG and its legend file.
func writeChart(pngPath, legendPath string, res *Results) error {
	img, err := renderChart(res)
	if err != nil {
		return err
	}
	f, err := os.Create(pngPath)
	if err != nil {
		return fmt.Errorf("chart: %w", err)
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", pngPath, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", pngPath, err)
	}
	ps, _ := panels(res)
	lg := chartLegend{File: "chart.png", X: "offered DORA/s (median of runs per point)"}
	for _, p := range ps {
		lg.Panels = append(lg.Panels, p.title+" (y: "+p.ylabel+")")
	}
	for i, s := range res.Servers {
		lg.Series = append(lg.Series, legendEntry{Server: s.Name, Color: palette[i%len(palette)].hex(), Path: s.Actual})
	}
	return writeJSON(legendPath, lg)
}
