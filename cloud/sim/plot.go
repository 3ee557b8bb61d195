package sim

import (
	"fmt"
	"image/color"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

var policyColors = map[string]color.RGBA{
	PolicyScheduler: {R: 0x1b, G: 0x9e, B: 0x77, A: 0xff},
	PolicyTracker:   {R: 0xd9, G: 0x5f, B: 0x02, A: 0xff},
	PolicyCDN:       {R: 0x75, G: 0x70, B: 0xb3, A: 0xff},
}

// Plot draws two panels into a PNG at path: the server's share of all bytes so far, and the
// median time-to-ready of top wishes ready so far, over simulated hours, one line per policy.
func Plot(res *Result, title, path string) error {
	share := plot.New()
	share.Title.Text = title + ": server share of bytes delivered"
	share.X.Label.Text = "simulated hours"
	share.Y.Label.Text = "server share"
	ready := plot.New()
	ready.Title.Text = "median time-to-ready of top wishes"
	ready.X.Label.Text = "simulated hours"
	ready.Y.Label.Text = "hours"
	for _, name := range Policies {
		pr := res.Policies[name]
		if pr == nil {
			continue
		}
		s, t := make(plotter.XYs, len(pr.Series)), make(plotter.XYs, len(pr.Series))
		for i, p := range pr.Series {
			s[i] = plotter.XY{X: p.Hours, Y: p.ServerShare}
			t[i] = plotter.XY{X: p.Hours, Y: p.MedianReadyHours}
		}
		for _, pl := range []struct {
			p   *plot.Plot
			xys plotter.XYs
		}{{share, s}, {ready, t}} {
			l, err := plotter.NewLine(pl.xys)
			if err != nil {
				return fmt.Errorf("plot %s: %w", name, err)
			}
			l.Color, l.Width = policyColors[name], vg.Points(1.5)
			pl.p.Add(l)
			pl.p.Legend.Add(name, l)
		}
	}
	share.Legend.Top, share.Legend.Left = true, true
	share.Y.Min, share.Y.Max = 0, 1.15 // room for the legend above a CDN at 1.0
	ready.Legend.Top = true
	share.Add(plotter.NewGrid())
	ready.Add(plotter.NewGrid())
	img := vgimg.New(8*vg.Inch, 8*vg.Inch)
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 2, Cols: 1, PadX: vg.Millimeter, PadY: 4 * vg.Millimeter, PadTop: 2 * vg.Millimeter, PadBottom: 2 * vg.Millimeter, PadLeft: 2 * vg.Millimeter, PadRight: 4 * vg.Millimeter}
	canvases := plot.Align([][]*plot.Plot{{share}, {ready}}, tiles, dc)
	share.Draw(canvases[0][0])
	ready.Draw(canvases[1][0])
	return savePNG(img, path)
}
