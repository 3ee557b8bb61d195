package ui

import (
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/gdamore/tcell/v2"

	"swarmbox/ui/psf"
)

// consoleFont is the font the box's console draws the TV in (scripts/image.d/rc sets it on tty1;
// Debian's console-setup-linux ships it, and scripts/deps installs that package for the tests).
// SWARMBOX_CONSOLE_FONT names another copy.
const consoleFont = "/usr/share/consolefonts/Uni2-Terminus32x16.psf.gz"

func loadConsoleFont(t *testing.T) *psf.Font {
	t.Helper()
	path := consoleFont
	if p := os.Getenv("SWARMBOX_CONSOLE_FONT"); p != "" {
		path = p
	}
	font, err := psf.Open(path)
	if err != nil {
		t.Fatalf("the box's console font: %v (run 'make deps' as root: scripts/deps installs Debian's console-setup-linux)", err)
	}
	if font.Width != 16 || font.Height != 32 {
		t.Fatalf("%s: %d×%d glyphs, want 16×32 (80×25 on the box's 1280×800 screen)", path, font.Width, font.Height)
	}
	return font
}

// TestEveryGlyphIsInTheConsoleFont (UI-4): every character any screen draws, at the box's grid
// and a large one, is in the console font, so nothing shows as a box on the TV.
func TestEveryGlyphIsInTheConsoleFont(t *testing.T) {
	font := loadConsoleFont(t)
	missing := map[rune][]string{}
	for _, v := range everyView() {
		for _, size := range [][2]int{{72, 21}, {160, 50}} {
			sim := render(t, v, size[0], size[1])
			cells, _, _ := sim.GetContents()
			for _, c := range cells {
				for _, r := range c.Runes {
					if r != ' ' && !font.Has(r) && len(missing[r]) < 3 && !slices.Contains(missing[r], v.name) {
						missing[r] = append(missing[r], v.name)
					}
				}
			}
		}
	}
	var lines []string
	for r, where := range missing {
		lines = append(lines, fmt.Sprintf("%q (U+%04X) on %s", r, r, strings.Join(where, ", ")))
	}
	sort.Strings(lines)
	if len(lines) > 0 {
		t.Errorf("characters the console font lacks (use the glyph constants of glyph.go):\n%s", strings.Join(lines, "\n"))
	}
}

// TestTheGlyphsAreInTheConsoleFont: each named glyph, and the search keyboard, is drawable.
func TestTheGlyphsAreInTheConsoleFont(t *testing.T) {
	font := loadConsoleFont(t)
	all := []string{glyphCrumb, glyphRange, glyphDot, glyphMinus, glyphEllipsis, glyphLeft, glyphRight, glyphUp, glyphDown, glyphPlay, glyphPause, glyphStop, glyphDone, glyphToDo}
	all = append(all, searchKeys...)
	for _, g := range all {
		for _, r := range g {
			if !font.Has(r) {
				t.Errorf("%q: the console font lacks %q", g, r)
			}
		}
	}
}

// TestSafeAreaStaysBlank (UI-4): with the box's 5% safe area on its 80×25 console, no screen
// draws anything in the 4 columns and 2 rows at each edge, and every screen still draws inside.
func TestSafeAreaStaysBlank(t *testing.T) {
	const w, h, mx, my = 80, 25, 4, 2
	for _, v := range everyView() {
		t.Run(v.name, func(t *testing.T) {
			sim := render(t, v, w, h, WithSafeArea(5))
			cells, _, _ := sim.GetContents()
			inside := 0
			for y := range h {
				for x := range w {
					c := cells[y*w+x]
					drawn := len(c.Runes) > 0 && c.Runes[0] != ' '
					if x >= mx && x < w-mx && y >= my && y < h-my {
						if drawn {
							inside++
						}
						continue
					}
					if _, bg, _ := c.Style.Decompose(); drawn || (bg != tcell.ColorDefault && bg != theme.body.bg) {
						t.Fatalf("cell %d,%d outside the safe area holds %q on %v:\n%s", x, y, c.Runes, bg, strings.Join(rows(sim), "\n"))
					}
				}
			}
			if inside == 0 {
				t.Fatal("nothing drawn inside the safe area")
			}
		})
	}
}

func TestMargin(t *testing.T) {
	for _, c := range []struct{ n, pct, want int }{{80, 5, 4}, {25, 5, 2}, {160, 5, 8}, {50, 5, 3}, {80, 0, 0}, {1, 5, 1}, {0, 5, 0}} {
		if got := margin(c.n, c.pct); got != c.want {
			t.Errorf("margin(%d, %d%%) = %d, want %d", c.n, c.pct, got, c.want)
		}
	}
}
