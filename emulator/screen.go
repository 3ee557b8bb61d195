package emulator

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"math"

	"swarmbox/ui/psf"
)

// Measures of the TV's screen taken from a screen dump's pixels, for whether it reads well from
// the sofa (requirement UI-5): how tall a line of text is, the contrast of the focused row, what
// is drawn outside the title-safe area, and which character cells show the console font's
// replacement glyph.

// Grid is the console's character grid on the screen: Cols×Rows cells of CellW×CellH pixels
// from the top left corner.
type Grid struct {
	Cols, Rows, CellW, CellH int
}

// GridOf is the grid a console of cols×rows characters lays on a screen of the given bounds:
// the kernel's fbcon draws cells of the font's size from the top left, so the cell is the
// screen's size divided by the grid's, rounded down.
func GridOf(screen image.Rectangle, cols, rows int) (Grid, error) {
	if cols <= 0 || rows <= 0 || cols > screen.Dx() || rows > screen.Dy() {
		return Grid{}, fmt.Errorf("a console of %d×%d characters cannot lie on a %d×%d screen", cols, rows, screen.Dx(), screen.Dy())
	}
	return Grid{Cols: cols, Rows: rows, CellW: screen.Dx() / cols, CellH: screen.Dy() / rows}, nil
}

// Cell is the rectangle of pixels of the cell at col, row.
func (g Grid) Cell(col, row int) image.Rectangle {
	return image.Rect(col*g.CellW, row*g.CellH, (col+1)*g.CellW, (row+1)*g.CellH)
}

// Span is the rectangle of pixels of n cells of row from col on.
func (g Grid) Span(col, row, n int) image.Rectangle {
	return g.Cell(col, row).Union(g.Cell(col+n-1, row))
}

func rgba(c color.Color) color.RGBA {
	r, g, b, _ := c.RGBA()
	return color.RGBA{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8), 255}
}

// histogram counts the colours of r's pixels.
func histogram(img image.Image, r image.Rectangle) map[color.RGBA]int {
	h := map[color.RGBA]int{}
	r = r.Intersect(img.Bounds())
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			h[rgba(img.At(x, y))]++
		}
	}
	return h
}

// commonest is h's most frequent colour other than not (ties go to the darker, so the answer
// does not depend on map order); false when h has no other colour.
func commonest(h map[color.RGBA]int, not *color.RGBA) (color.RGBA, bool) {
	var best color.RGBA
	n := 0
	for c, k := range h {
		if not != nil && c == *not {
			continue
		}
		if k > n || (k == n && Luminance(c) < Luminance(best)) {
			best, n = c, k
		}
	}
	return best, n > 0
}

// Background is the screen's most common colour: what the console clears to.
func Background(img image.Image) color.RGBA {
	c, _ := commonest(histogram(img, img.Bounds()), nil)
	return c
}

// Luminance is WCAG 2's relative luminance of a colour (0 black to 1 white).
func Luminance(c color.RGBA) float64 {
	lin := func(v uint8) float64 {
		s := float64(v) / 255
		if s <= 0.03928 {
			return s / 12.92
		}
		return math.Pow((s+0.055)/1.055, 2.4)
	}
	return 0.2126*lin(c.R) + 0.7152*lin(c.G) + 0.0722*lin(c.B)
}

// Contrast is WCAG 2's contrast ratio of two colours, 1 (the same) to 21 (black and white).
func Contrast(a, b color.RGBA) float64 {
	la, lb := Luminance(a), Luminance(b)
	return (max(la, lb) + 0.05) / (min(la, lb) + 0.05)
}

// SafeMargins are the title-safe area's margins of a screen: ceil(percent % of its width)
// columns and ceil(percent % of its height) rows of pixels at each edge.
func SafeMargins(screen image.Rectangle, percent int) (mx, my int) {
	return (screen.Dx()*percent + 99) / 100, (screen.Dy()*percent + 99) / 100
}

// OutsideSafeArea counts the pixels in the title-safe area's margins (SafeMargins) that are not
// the background colour bg, and returns the first of them (top to bottom, left to right).
func OutsideSafeArea(img image.Image, percent int, bg color.RGBA) (n int, first image.Point) {
	b := img.Bounds()
	mx, my := SafeMargins(b, percent)
	inner := image.Rect(b.Min.X+mx, b.Min.Y+my, b.Max.X-mx, b.Max.Y-my)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if (image.Point{x, y}).In(inner) || rgba(img.At(x, y)) == bg {
				continue
			}
			if n == 0 {
				first = image.Pt(x, y)
			}
			n++
		}
	}
	return n, first
}

// Band is a line of text on a background of its own, such as the focused row: the background
// bar, measured from the pixels, and the text's colour and extent on it.
type Band struct {
	Bar       image.Rectangle // the background's extent: the rows of pixels it fills
	Back      color.RGBA      // the bar's colour
	Fore      color.RGBA      // the text's colour: the commonest other colour on the bar
	InkTop    int             // the first row of pixels with glyph pixels (Fore) on the bar
	InkBottom int             // one past the last
}

// Height is the bar's height in pixels: on a console, the height of a line of text.
func (b Band) Height() int { return b.Bar.Dy() }

// Contrast is the contrast ratio of the text on the bar.
func (b Band) Contrast() float64 { return Contrast(b.Fore, b.Back) }

// MeasureBand measures the bar behind the text drawn in span (a rectangle inside the bar: the
// cells of a focused row's label, say). The bar's colour is span's commonest colour and the
// text's the commonest other one; the bar is the run of rows of pixels, up and down from span,
// in which its colour covers at least a quarter of span's width. Measured this way a console
// font of half the height gives a bar of half the height, whatever grid the caller assumed.
func MeasureBand(img image.Image, span image.Rectangle) (Band, error) {
	span = span.Intersect(img.Bounds())
	if span.Empty() {
		return Band{}, errors.New("the text's rectangle is off the screen")
	}
	h := histogram(img, span)
	back, _ := commonest(h, nil)
	fore, ok := commonest(h, &back)
	if !ok {
		return Band{}, fmt.Errorf("nothing is drawn in %v: all of it is one colour", span)
	}
	filled := func(y int) bool {
		n := 0
		for x := span.Min.X; x < span.Max.X; x++ {
			if rgba(img.At(x, y)) == back {
				n++
			}
		}
		return 4*n >= span.Dx()
	}
	b := Band{Back: back, Fore: fore, Bar: span, InkTop: -1}
	for b.Bar.Min.Y > img.Bounds().Min.Y && filled(b.Bar.Min.Y-1) {
		b.Bar.Min.Y--
	}
	for b.Bar.Max.Y < img.Bounds().Max.Y && filled(b.Bar.Max.Y) {
		b.Bar.Max.Y++
	}
	for y := b.Bar.Min.Y; y < b.Bar.Max.Y; y++ {
		for x := span.Min.X; x < span.Max.X; x++ {
			if rgba(img.At(x, y)) == fore {
				if b.InkTop < 0 {
					b.InkTop = y
				}
				b.InkBottom = y + 1
				break
			}
		}
	}
	return b, nil
}

// DrawsGlyph reports whether the pixels of cell draw glyph: taking the cell's commonest colour
// as its background and every other colour as ink, the ink is the glyph's pixels exactly (or,
// drawn in reverse, exactly the others). The cell must be the glyph's size.
func DrawsGlyph(img image.Image, cell image.Rectangle, glyph psf.Glyph) bool {
	if cell.Dx() != glyph.Width || cell.Dy() != glyph.Height || !cell.In(img.Bounds()) {
		return false
	}
	back, _ := commonest(histogram(img, cell), nil)
	same, reverse := true, true
	for y := 0; y < glyph.Height && (same || reverse); y++ {
		for x := 0; x < glyph.Width; x++ {
			ink := rgba(img.At(cell.Min.X+x, cell.Min.Y+y)) != back
			on := glyph.On(x, y)
			same = same && ink == on
			reverse = reverse && ink != on
		}
	}
	return same || reverse
}
