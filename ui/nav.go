package ui

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/rivo/tview"
)

// screen is one page of the TV: Home, the catalog, a title, the player…
type screen interface {
	// Name is the screen's name in the header.
	Name() string
	// Primitive is what the screen draws.
	Primitive() tview.Primitive
	// Keys are the keys the bottom line names while the screen is on top.
	Keys() []keyHelp
	// Update redraws the screen from s; it runs on the drawing goroutine and never calls the box.
	Update(s *snapshot)
}

// actor is a screen with uses of its own for the remote's action keys (colour keys, Play/Pause…);
// Act reports whether it used act.
type actor interface {
	Act(act Action) bool
}

// overlay is a screen drawn over the one below it (a dialog), not instead of it.
type overlay interface {
	overlay()
}

// keyHelp is one entry of the bottom line: a key, what it does, and its colour for the colour
// keys ("" for the others).
type keyHelp struct {
	key, what, colour string
}

// The keys most screens share, each listed on the bottom line only where it does something.
var (
	keyOpen = keyHelp{"OK", "open", ""}
	keyBack = keyHelp{"Back", "back", ""}
	keyHome = keyHelp{"Home", "home", ""}
	keyJump = keyHelp{"0" + glyphRange + "9", "jump", ""}
)

// listKeys are a list screen's plain keys: OK and the digits only while the list has rows to
// open and jump to (an empty list promises nothing), Back and Home when there is somewhere to go.
func listKeys(rows int, back bool) []keyHelp {
	var k []keyHelp
	if rows > 0 {
		k = append(k, keyOpen)
	}
	if back {
		k = append(k, keyBack, keyHome)
	}
	if rows > 1 {
		k = append(k, keyJump)
	}
	return k
}

// legend is the bottom line for keys: colour keys first, so they stay on screen when an
// 80-column console cuts the line short (Info, in the header, lists them all).
func legend(keys []keyHelp) string {
	var b strings.Builder
	b.WriteString(" ")
	var plain []string
	for _, k := range keys {
		if k.colour != "" {
			fmt.Fprintf(&b, "%s %s %s %s  ", theme.keys[k.colour].tag(), k.key, reset, k.what)
			continue
		}
		plain = append(plain, theme.keyText.tag()+k.key+reset+" "+k.what)
	}
	b.WriteString(strings.Join(plain, "  "))
	return b.String()
}

// Digit jumps (UI-3): 1–9 jump to the first nine rows of the list in focus and 0 to the tenth,
// and each of those rows shows its digit, so the number on screen is the key to press. A list
// keeps its rows in an order that a change of state does not disturb (Home: see home.go), so a
// digit opens what it showed a moment ago.

// digitRow is the row digit r jumps to (1 is the first, 0 the tenth).
func digitRow(r rune) int { return (int(r-'0') + 9) % 10 }

// numbered prefixes the rows digits reach with their digit, and the others with as much space.
func numbered(rows []string) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		if i < 10 {
			out[i] = strconv.Itoa((i+1)%10) + " " + r
		} else {
			out[i] = "  " + r
		}
	}
	return out
}

// fillNumbered fills a list whose rows digits jump to (see numbered).
func fillNumbered(l *tview.List, rows []string, open func(i int)) { fill(l, numbered(rows), open) }

// navStack is the screens the household went through, Home at the bottom; Back pops exactly
// the top one.
type navStack struct {
	pages *tview.Pages
	stack []screen
}

func newNavStack() *navStack { return &navStack{pages: tview.NewPages()} }

// top is the screen on top.
func (n *navStack) top() screen { return n.stack[len(n.stack)-1] }

// push puts s on top.
func (n *navStack) push(s screen) {
	name := strconv.Itoa(len(n.stack))
	n.stack = append(n.stack, s)
	n.pages.AddPage(name, s.Primitive(), true, true)
	if _, ok := s.(overlay); !ok {
		n.pages.SwitchToPage(name)
	}
}

// pop takes the top screen off, never the bottom one; it reports whether there was one.
func (n *navStack) pop() bool {
	if len(n.stack) <= 1 {
		return false
	}
	n.pages.RemovePage(strconv.Itoa(len(n.stack) - 1))
	n.stack = n.stack[:len(n.stack)-1]
	// The new top shows, and so does what a dialog on top is drawn over (help closed over the
	// Buy dialog leaves the title page under it).
	under := len(n.stack) - 1
	for ; under > 0; under-- {
		if _, ok := n.stack[under].(overlay); !ok {
			break
		}
	}
	n.pages.SwitchToPage(strconv.Itoa(under))
	for i := under + 1; i < len(n.stack); i++ {
		n.pages.ShowPage(strconv.Itoa(i))
	}
	return true
}

// reset pops every screen above the bottom one.
func (n *navStack) reset() {
	for n.pop() {
	}
}

// playNext tells the pages of title id to put Play in focus once it is bought (UI-3), or not.
func (a *App) playNext(id string, on bool) {
	for _, s := range a.nav.stack {
		if s, ok := s.(*itemScreen); ok && s.id == id {
			s.playNext = on
		}
	}
}
