package ui

import (
	"fmt"

	"github.com/gdamore/tcell/v2"
	"github.com/rivo/tview"
)

// The TV's look, in one place (UI-4). On the box the UI runs under TERM=linux, where tcell knows
// eight colours (the console's palette indexes 0–7) and approximates anything else, so every
// colour here is one of those eight, and a bright foreground is asked for the console's way:
// bold. The contrast of every pair is checked against the kernel's default palette
// (theme_test.go): the focused row at least 7:1, every legend key at least 4.5:1.

// role is how one kind of text looks: foreground and background among the console's eight
// colours; bright makes the foreground the bright variant (bold, which the console shows as
// the palette's colour+8).
type role struct {
	fg, bg tcell.Color
	bright bool
}

// style is the role as a tcell style.
func (r role) style() tcell.Style {
	return tcell.StyleDefault.Foreground(r.fg).Background(r.bg).Bold(r.bright)
}

// tag is the role as a tview colour tag; reset() ends it.
func (r role) tag() string {
	attr := "-"
	if r.bright {
		attr = "b"
	}
	return fmt.Sprintf("[%s:%s:%s]", consoleName[r.fg], consoleName[r.bg], attr)
}

// reset ends a role's tag: back to the body's look.
const reset = "[-:-:-]"

// consoleName is tview's name of each of the console's eight colours.
var consoleName = map[tcell.Color]string{
	tcell.ColorBlack: "black", tcell.ColorMaroon: "maroon", tcell.ColorGreen: "green", tcell.ColorOlive: "olive",
	tcell.ColorNavy: "navy", tcell.ColorPurple: "purple", tcell.ColorTeal: "teal", tcell.ColorSilver: "silver",
}

// theme is every look the TV uses.
var theme = struct {
	body    role // ordinary text
	accent  role // the screen's name, states, the search text: the one colour that stands out
	faint   role // secondary lines (offline), borders, the meter's rest
	fail    role // what went wrong
	focus   role // the row, button or key in focus
	button  role // a dialog's button out of focus
	meter   role // the meter's done part
	keys    map[string]role
	keyText role // a plain key's name on the bottom line
}{
	body:    role{tcell.ColorSilver, tcell.ColorBlack, false},
	accent:  role{tcell.ColorOlive, tcell.ColorBlack, true},
	faint:   role{tcell.ColorTeal, tcell.ColorBlack, false},
	fail:    role{tcell.ColorMaroon, tcell.ColorBlack, true},
	focus:   role{tcell.ColorSilver, tcell.ColorNavy, true},
	button:  role{tcell.ColorBlack, tcell.ColorSilver, false},
	meter:   role{tcell.ColorOlive, tcell.ColorBlack, true},
	keyText: role{tcell.ColorSilver, tcell.ColorBlack, true},
	keys: map[string]role{
		"red":    {tcell.ColorSilver, tcell.ColorMaroon, true},
		"green":  {tcell.ColorBlack, tcell.ColorGreen, false},
		"yellow": {tcell.ColorSilver, tcell.ColorOlive, true},
		"blue":   {tcell.ColorSilver, tcell.ColorNavy, true},
	},
}

// safeArea draws the UI inside the title-safe area (UI-4): ceil(percent % of the width) columns
// and ceil(percent % of the height) rows at each edge stay blank, since a television crops the
// edges of the picture.
type safeArea struct {
	*tview.Flex
	percent int
}

// Draw lays the UI out in what the margins leave of the screen.
func (s *safeArea) Draw(screen tcell.Screen) {
	w, h := screen.Size()
	mx, my := margin(w, s.percent), margin(h, s.percent)
	s.Flex.SetRect(mx, my, max(0, w-2*mx), max(0, h-2*my))
	s.Flex.Draw(screen)
}

// margin is ceil(percent % of n).
func margin(n, percent int) int { return (n*percent + 99) / 100 }
