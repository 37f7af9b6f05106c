package main

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
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
}

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

var (
	white = color.RGBA{255, 255, 255, 255}
	black = color.RGBA{0, 0, 0, 255}
	grey  = color.RGBA{210, 210, 210, 255}
	dark  = color.RGBA{90, 90, 90, 255}
)

func fillRect(img *image.RGBA, r image.Rectangle, c color.RGBA) {
	r = r.Intersect(img.Bounds())
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			img.SetRGBA(x, y, c)
		}
	}
}

// line draws a (thick) line with Bresenham's algorithm; dash > 0 leaves
// gaps.
func line(img *image.RGBA, x0, y0, x1, y1 int, c color.RGBA, thick, dash int) {
	dx, dy := abs(x1-x0), -abs(y1-y0)
	sx, sy := sign(x1-x0), sign(y1-y0)
	err := dx + dy
	for i := 0; ; i++ {
		if dash == 0 || (i/dash)%2 == 0 {
			for t := -(thick / 2); t <= thick/2; t++ {
				for u := -(thick / 2); u <= thick/2; u++ {
					if image.Pt(x0+t, y0+u).In(img.Bounds()) {
						img.SetRGBA(x0+t, y0+u, c)
					}
				}
			}
		}
		if x0 == x1 && y0 == y1 {
			return
		}
		e2 := 2 * err
		if e2 >= dy {
			err += dy
			x0 += sx
		}
		if e2 <= dx {
			err += dx
			y0 += sy
		}
	}
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

func sign(v int) int {
	switch {
	case v < 0:
		return -1
	case v > 0:
		return 1
	}
	return 0
}

// drawPanel plots p into area r; xmax is the shared x range.
func drawPanel(img *image.RGBA, r image.Rectangle, p panel, xmax float64) {
	const ml, mr, mt, mb = 70, 20, 30, 45
	plot := image.Rect(r.Min.X+ml, r.Min.Y+mt, r.Max.X-mr, r.Max.Y-mb)
	ymax := p.hline
	for _, s := range p.series {
		for _, pt := range s.pts {
			ymax = math.Max(ymax, pt[1])
		}
	}
	ymax = niceCeil(ymax * 1.05)
	xmax = niceCeil(xmax)
	X := func(v float64) int { return plot.Min.X + int(math.Round(v/xmax*float64(plot.Dx()))) }
	Y := func(v float64) int { return plot.Max.Y - int(math.Round(math.Min(v, ymax)/ymax*float64(plot.Dy()))) }
	drawText(img, r.Min.X+ml, r.Min.Y+8, p.title, black, 2)
	// grid and ticks
	for i := 0; i <= 5; i++ {
		yv := ymax * float64(i) / 5
		y := Y(yv)
		line(img, plot.Min.X, y, plot.Max.X, y, grey, 1, 0)
		line(img, plot.Min.X-6, y, plot.Min.X, y, black, 1, 0)
		l := tickLabel(yv)
		drawText(img, plot.Min.X-10-textWidth(l, 1), y-3, l, black, 1)
		xv := xmax * float64(i) / 5
		x := X(xv)
		line(img, x, plot.Min.Y, x, plot.Max.Y, grey, 1, 0)
		line(img, x, plot.Max.Y, x, plot.Max.Y+6, black, 1, 0)
		l = tickLabel(xv)
		drawText(img, x-textWidth(l, 1)/2, plot.Max.Y+10, l, black, 1)
	}
	line(img, plot.Min.X, plot.Min.Y, plot.Min.X, plot.Max.Y, black, 2, 0)
	line(img, plot.Min.X, plot.Max.Y, plot.Max.X, plot.Max.Y, black, 2, 0)
	xl := "OFFERED DORA/S"
	drawText(img, plot.Min.X+plot.Dx()/2-textWidth(xl, 1)/2, plot.Max.Y+26, xl, dark, 1)
	drawText(img, r.Min.X+4, plot.Min.Y-14, p.ylabel, dark, 1)
	if p.hline > 0 {
		line(img, plot.Min.X, Y(p.hline), plot.Max.X, Y(p.hline), dark, 1, 6)
	}
	for _, s := range p.series {
		c := s.color.rgba()
		for i, pt := range s.pts {
			x, y := X(pt[0]), Y(pt[1])
			fillRect(img, image.Rect(x-3, y-3, x+4, y+4), c)
			if i > 0 {
				line(img, X(s.pts[i-1][0]), Y(s.pts[i-1][1]), x, y, c, 3, 0)
			}
		}
	}
	// legend, top-left inside the plot
	lx, ly := plot.Min.X+12, plot.Min.Y+10
	for _, s := range p.series {
		fillRect(img, image.Rect(lx, ly, lx+18, ly+10), s.color.rgba())
		drawText(img, lx+24, ly, s.name, black, 1+boolInt(plot.Dy() > 250))
		ly += 18
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// panels builds the chart's two panels from the results: loss and
// REQUEST-ACK delay (p99, or max without percentiles) against offered rate.
func panels(res *Results) ([]panel, float64) {
	dn := "MAX"
	if res.Percentiles {
		dn = "P99"
	}
	loss := panel{title: "LOSS VS OFFERED RATE", ylabel: "LOSS %", hline: 100 * lossTarget}
	delay := panel{title: "REQUEST-ACK " + dn + " DELAY", ylabel: dn + " MS"}
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

// renderChart draws the two panels stacked.
func renderChart(res *Results) *image.RGBA {
	const w, h = 1000, 900
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	fillRect(img, img.Bounds(), white)
	ps, xmax := panels(res)
	drawPanel(img, image.Rect(0, 0, w, h/2), ps[0], xmax)
	drawPanel(img, image.Rect(0, h/2, w, h), ps[1], xmax)
	return img
}

// writeChart writes the PNG and its legend file.
func writeChart(pngPath, legendPath string, res *Results) error {
	img := renderChart(res)
	f, err := os.Create(pngPath)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
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
