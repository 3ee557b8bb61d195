package ui

import (
	"math"
	"testing"

	"github.com/gdamore/tcell/v2"
	"github.com/rivo/tview"
)

// linuxPalette is the Linux console's default palette (drivers/tty/vt/vt.c default_red,
// default_grn, default_blu): what each of the 16 indexes looks like on the box's screen.
var linuxPalette = [16][3]uint8{
	{0x00, 0x00, 0x00}, {0xaa, 0x00, 0x00}, {0x00, 0xaa, 0x00}, {0xaa, 0x55, 0x00},
	{0x00, 0x00, 0xaa}, {0xaa, 0x00, 0xaa}, {0x00, 0xaa, 0xaa}, {0xaa, 0xaa, 0xaa},
	{0x55, 0x55, 0x55}, {0xff, 0x55, 0x55}, {0x55, 0xff, 0x55}, {0xff, 0xff, 0x55},
	{0x55, 0x55, 0xff}, {0xff, 0x55, 0xff}, {0x55, 0xff, 0xff}, {0xff, 0xff, 0xff},
}

// luminance is WCAG 2's relative luminance of a palette entry.
func luminance(c [3]uint8) float64 {
	lin := func(v uint8) float64 {
		s := float64(v) / 255
		if s <= 0.03928 {
			return s / 12.92
		}
		return math.Pow((s+0.055)/1.055, 2.4)
	}
	return 0.2126*lin(c[0]) + 0.7152*lin(c[1]) + 0.0722*lin(c[2])
}

// contrast is WCAG 2's contrast ratio of a role as the console shows it: the foreground's
// palette entry (+8 when bright: bold), on the background's.
func contrast(r role) float64 {
	fg := int(r.fg - tcell.ColorBlack)
	if r.bright {
		fg += 8
	}
	a, b := luminance(linuxPalette[fg]), luminance(linuxPalette[r.bg-tcell.ColorBlack])
	return (max(a, b) + 0.05) / (min(a, b) + 0.05)
}

func TestContrastOfAKnownPair(t *testing.T) {
	// White on black is 21:1 and the palette's grey on black about 9:1 (WCAG's own examples
	// give 21 for #fff on #000).
	for _, c := range []struct {
		r        role
		lo, high float64
	}{
		{role{tcell.ColorSilver, tcell.ColorBlack, true}, 20.99, 21.01},
		{role{tcell.ColorSilver, tcell.ColorBlack, false}, 9.0, 9.1},
		{role{tcell.ColorBlack, tcell.ColorOlive, true}, 1.0, 2.0}, // the old focused row: grey on brown
	} {
		if got := contrast(c.r); got < c.lo || got > c.high {
			t.Errorf("contrast(%+v) = %.2f, want %.2f–%.2f", c.r, got, c.lo, c.high)
		}
	}
}

// TestThemeContrast (UI-4): every colour pair the theme uses, as the box's console shows it,
// is readable from the sofa: the focused row at least 7:1 (WCAG AAA), every legend key and all
// other text at least 4.5:1; and every colour is one of the eight that TERM=linux shows exactly.
func TestThemeContrast(t *testing.T) {
	cases := []struct {
		name string
		r    role
		min  float64
	}{
		{"focused row", theme.focus, 7},
		{"body", theme.body, 7},
		{"accent", theme.accent, 7},
		{"faint", theme.faint, 4.5},
		{"fail", theme.fail, 4.5},
		{"button", theme.button, 4.5},
		{"meter", theme.meter, 4.5},
		{"key text", theme.keyText, 4.5},
	}
	for _, colour := range []string{"red", "green", "yellow", "blue"} {
		r, ok := theme.keys[colour]
		if !ok {
			t.Errorf("the theme has no %s key", colour)
		}
		cases = append(cases, struct {
			name string
			r    role
			min  float64
		}{colour + " key", r, 4.5})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, col := range []tcell.Color{c.r.fg, c.r.bg} {
				if col < tcell.ColorBlack || col > tcell.ColorSilver {
					t.Fatalf("colour %v is not one of the console's eight (TERM=linux would approximate it)", col)
				}
			}
			if got := contrast(c.r); got < c.min {
				t.Errorf("contrast %.2f:1, want at least %.1f:1", got, c.min)
			}
			if _, ok := consoleName[c.r.fg]; !ok {
				t.Errorf("no tag name for %v", c.r.fg)
			}
		})
	}
	// The widgets' own colours (never bold) come from the theme too.
	New(newFakeBox(), "")
	bg := tview.Styles.PrimitiveBackgroundColor
	for name, fg := range map[string]tcell.Color{"text": tview.Styles.PrimaryTextColor, "border": tview.Styles.BorderColor, "title": tview.Styles.TitleColor} {
		if fg < tcell.ColorBlack || fg > tcell.ColorSilver || bg < tcell.ColorBlack || bg > tcell.ColorSilver {
			t.Errorf("widget %s: %v on %v is not among the console's eight colours", name, fg, bg)
			continue
		}
		if got := contrast(role{fg, bg, false}); got < 4.5 {
			t.Errorf("widget %s: contrast %.2f:1, want at least 4.5:1", name, got)
		}
	}
}
