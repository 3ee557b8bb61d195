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

// commonKeys work on every screen but the player.
var commonKeys = []keyHelp{{"OK", "open", ""}, {"Back", "back", ""}, {"Home", "home", ""}, {"0–9", "jump", ""}}

// legend is the bottom line for keys: colour keys first, so they stay on screen when an
// 80-column console cuts the line short.
func legend(keys []keyHelp) string {
	var b strings.Builder
	b.WriteString(" ")
	var plain []string
	for _, k := range keys {
		if k.colour != "" {
			fmt.Fprintf(&b, "[#000000:%s] %s [-:-] %s  ", k.colour, k.key, k.what)
			continue
		}
		plain = append(plain, fmt.Sprintf("[::b]%s[::-] %s", k.key, k.what))
	}
	b.WriteString(strings.Join(plain, "  "))
	return b.String()
}

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
	n.pages.SwitchToPage(strconv.Itoa(len(n.stack) - 1))
	return true
}

// reset pops every screen above the bottom one.
func (n *navStack) reset() {
	for n.pop() {
	}
}
