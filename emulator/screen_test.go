package emulator

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"testing"

	"swarmbox/ui/psf"
)

var (
	black = color.RGBA{0, 0, 0, 255}
	navy  = color.RGBA{0, 0, 0xaa, 255}
	white = color.RGBA{0xff, 0xff, 0xff, 255}
	dim   = color.RGBA{0x30, 0x30, 0x80, 255} // on navy: about 1.3:1
)

// testFont is an 8×16 PSF2 font of two glyphs: "A" (a frame with a bar) and U+FFFD (a
// chequered box), so the measures can be tried on glyphs whose pixels are known.
func testFont(t *testing.T) *psf.Font {
	t.Helper()
	var b bytes.Buffer
	for _, v := range []uint32{0x864ab572, 0, 32, 1, 2, 16, 16, 8} {
		binary.Write(&b, binary.LittleEndian, v)
	}
	a := []byte{0, 0, 0x18, 0x24, 0x42, 0x42, 0x42, 0x7e, 0x42, 0x42, 0x42, 0x42, 0, 0, 0, 0}
	repl := []byte{0, 0xff, 0x81, 0xbd, 0xa5, 0xa5, 0xbd, 0x81, 0x99, 0x99, 0x81, 0x99, 0x81, 0xff, 0, 0}
	b.Write(a)
	b.Write(repl)
	b.WriteString("A\xff\uFFFD\xff")
	f, err := psf.Parse(b.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// screen is a synthetic console screen: 160×160 pixels, a grid of 20×10 cells of 8×16.
type screen struct {
	*image.RGBA
	grid Grid
}

func newScreen(t *testing.T) screen {
	img := image.NewRGBA(image.Rect(0, 0, 160, 160))
	fill(img, img.Bounds(), black)
	g, err := GridOf(img.Bounds(), 20, 10)
	if err != nil {
		t.Fatal(err)
	}
	return screen{img, g}
}

func fill(img *image.RGBA, r image.Rectangle, c color.RGBA) {
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			img.SetRGBA(x, y, c)
		}
	}
}

// text draws glyph g in fg on bg in cells col… of row.
func (s screen) text(g psf.Glyph, col, row, n int, fg, bg color.RGBA) {
	for i := range n {
		c := s.grid.Cell(col+i, row)
		for y := 0; y < c.Dy(); y++ {
			for x := 0; x < c.Dx(); x++ {
				p := bg
				if g.On(x, y) {
					p = fg
				}
				s.SetRGBA(c.Min.X+x, c.Min.Y+y, p)
			}
		}
	}
}

func TestContrast(t *testing.T) {
	for _, c := range []struct {
		a, b     color.RGBA
		lo, high float64
	}{
		{white, black, 20.99, 21.01},
		{white, navy, 9.0, 14.0}, // the TV's focused row: bright white on the console's blue
		{navy, navy, 1, 1},
		{dim, navy, 1, 2},
	} {
		if got := Contrast(c.a, c.b); got < c.lo || got > c.high {
			t.Errorf("Contrast(%v, %v) = %.2f, want %.2f–%.2f", c.a, c.b, got, c.lo, c.high)
		}
	}
}

// TestMeasureBand: the bar's height and the text's contrast come from the pixels; a bar of
// half the height measures half, dim text measures low, a span with nothing drawn is an error.
func TestMeasureBand(t *testing.T) {
	font := testFont(t)
	a, _ := font.Glyph('A')
	cases := []struct {
		name               string
		draw               func(s screen)
		span               func(g Grid) image.Rectangle
		height             int
		minRatio, maxRatio float64
		inkTop, inkBottom  int
		err                bool
	}{
		{"focused row", func(s screen) { s.text(a, 3, 4, 10, white, navy) }, func(g Grid) image.Rectangle { return g.Span(3, 4, 10) },
			16, 9, 21, 64 + 2, 64 + 12, false},
		{"seen from a sliver of it", func(s screen) { s.text(a, 3, 4, 10, white, navy) }, func(g Grid) image.Rectangle { return image.Rect(24, 70, 104, 72) },
			16, 9, 21, 64 + 2, 64 + 12, false},
		{"dim text", func(s screen) { s.text(a, 3, 4, 10, dim, navy) }, func(g Grid) image.Rectangle { return g.Span(3, 4, 10) },
			16, 1, 2, 64 + 2, 64 + 12, false},
		{"a bar half as tall", func(s screen) {
			s.text(a, 3, 4, 10, white, navy)
			fill(s.RGBA, image.Rect(0, 72, 160, 80), black)
		}, func(g Grid) image.Rectangle { return image.Rect(24, 66, 104, 70) },
			8, 9, 21, 64 + 2, 64 + 8, false},
		{"nothing drawn", func(s screen) {}, func(g Grid) image.Rectangle { return g.Span(3, 4, 10) }, 0, 0, 0, 0, 0, true},
		{"off the screen", func(s screen) {}, func(g Grid) image.Rectangle { return image.Rect(200, 200, 210, 210) }, 0, 0, 0, 0, 0, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newScreen(t)
			s.text(a, 3, 3, 4, white, black) // text on the rows around it does not count
			s.text(a, 3, 5, 4, white, black)
			c.draw(s)
			b, err := MeasureBand(s, c.span(s.grid))
			if c.err {
				if err == nil {
					t.Fatalf("MeasureBand = %+v, want an error", b)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if b.Height() != c.height || b.Back != navy {
				t.Errorf("bar %v of %v, want %d rows of navy", b.Bar, b.Back, c.height)
			}
			if r := b.Contrast(); r < c.minRatio || r > c.maxRatio {
				t.Errorf("contrast %.2f, want %.1f–%.1f", r, c.minRatio, c.maxRatio)
			}
			if b.InkTop != c.inkTop || b.InkBottom != c.inkBottom {
				t.Errorf("ink rows %d–%d, want %d–%d", b.InkTop, b.InkBottom, c.inkTop, c.inkBottom)
			}
		})
	}
}

// TestOutsideSafeArea: a screen drawn inside its 5% margins passes; one pixel in a margin is
// found, wherever it is.
func TestOutsideSafeArea(t *testing.T) {
	a, _ := testFont(t).Glyph('A')
	for _, c := range []struct {
		name  string
		at    *image.Point
		wantN int
	}{
		{"inside", nil, 0},
		{"left margin", &image.Point{7, 80}, 1},
		{"bottom margin", &image.Point{80, 152}, 1},
		{"last pixel", &image.Point{159, 159}, 1},
		{"just inside", &image.Point{8, 8}, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := newScreen(t)
			s.text(a, 1, 1, 18, white, navy) // cells 1–18 of row 1: pixels 8–151, 16–31
			if c.at != nil {
				s.SetRGBA(c.at.X, c.at.Y, white)
			}
			n, first := OutsideSafeArea(s, 5, Background(s))
			if n != c.wantN || (n > 0 && first != *c.at) {
				t.Errorf("OutsideSafeArea = %d at %v, want %d at %v", n, first, c.wantN, c.at)
			}
		})
	}
	if mx, my := SafeMargins(image.Rect(0, 0, 1280, 800), 5); mx != 64 || my != 40 {
		t.Errorf("5%% margins of 1280×800: %d, %d, want 64, 40", mx, my)
	}
}

// TestDrawsGlyph: a cell showing the replacement glyph is told from one showing a letter, a
// blank one, and one a pixel off.
func TestDrawsGlyph(t *testing.T) {
	font := testFont(t)
	a, _ := font.Glyph('A')
	repl, ok := font.Replacement()
	if !ok {
		t.Fatal("the test font has no replacement glyph")
	}
	s := newScreen(t)
	s.text(a, 2, 2, 1, white, black)
	s.text(repl, 3, 2, 1, white, black)
	s.text(repl, 4, 2, 1, white, navy)
	s.text(repl, 5, 2, 1, black, white) // reverse video
	s.text(repl, 6, 2, 1, white, black)
	s.SetRGBA(s.grid.Cell(6, 2).Min.X, s.grid.Cell(6, 2).Min.Y, white)
	for _, c := range []struct {
		col  int
		want bool
	}{{1, false}, {2, false}, {3, true}, {4, true}, {5, true}, {6, false}} {
		if got := DrawsGlyph(s, s.grid.Cell(c.col, 2), repl); got != c.want {
			t.Errorf("cell %d: DrawsGlyph = %v, want %v", c.col, got, c.want)
		}
	}
	if DrawsGlyph(s, image.Rect(0, 0, 16, 32), repl) {
		t.Error("a cell of another size matched")
	}
}

func TestGridOf(t *testing.T) {
	g, err := GridOf(image.Rect(0, 0, 1280, 800), 80, 25)
	if err != nil || g.CellW != 16 || g.CellH != 32 {
		t.Fatalf("GridOf(1280×800, 80×25) = %+v, %v", g, err)
	}
	if r := g.Span(4, 2, 3); r != image.Rect(64, 64, 112, 96) {
		t.Errorf("Span(4, 2, 3) = %v", r)
	}
	for _, bad := range [][2]int{{0, 25}, {80, 0}, {2000, 25}} {
		if _, err := GridOf(image.Rect(0, 0, 1280, 800), bad[0], bad[1]); err == nil {
			t.Errorf("GridOf(%v) accepted", bad)
		}
	}
}
