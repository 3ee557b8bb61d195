package ui

import (
	"fmt"
	"strings"

	"github.com/rivo/tview"
)

// helper is a screen with more to say in Info's help than its bottom line has room for: keys
// the line leaves out (the arrows), and longer words for the keys it names, by key.
type helper interface {
	more() (extra []keyHelp, longer map[string]string)
}

// helpScreen is Info's page for the screen under it (UI-3): every key of that screen's bottom
// line, then the keys the line leaves out, one a row, short enough for an 80×24 console.
type helpScreen struct {
	of   screen
	text *tview.TextView
}

func newHelp(of screen) *helpScreen {
	t := tview.NewTextView().SetDynamicColors(true).SetWrap(true).SetWordWrap(true)
	t.SetBorder(true).SetTitle(" Help: " + of.Name() + " ")
	return &helpScreen{of: of, text: t}
}

func (h *helpScreen) Name() string               { return "Help" }
func (h *helpScreen) Primitive() tview.Primitive { return h.text }
func (h *helpScreen) Keys() []keyHelp {
	return []keyHelp{{"Back", "close help", ""}, {"Info", "close help", ""}, keyHome}
}

// Update lists the keys of the screen under the help as they are now.
func (h *helpScreen) Update(*snapshot) { h.text.SetText(helpText(h.of)) }

// helpKeys are the keys help names for s: its bottom line's, the ones the line leaves out, and
// Info; with the longer words where s has them.
func helpKeys(s screen) []keyHelp {
	var extra []keyHelp
	var longer map[string]string
	if hs, ok := s.(helper); ok {
		extra, longer = hs.more()
	}
	var out []keyHelp
	seen := map[string]bool{}
	for _, k := range append(append(s.Keys(), extra...), keyHelp{"Info", "this help; Info or Back closes it", ""}) {
		if seen[k.key] {
			continue
		}
		seen[k.key] = true
		if l, ok := longer[k.key]; ok {
			k.what = l
		} else if l, ok := commonWords[k]; ok {
			k.what = l
		}
		out = append(out, k)
	}
	return out
}

// commonWords are help's longer words for the keys most screens share.
var commonWords = map[keyHelp]string{
	keyBack: "back to the screen before this one",
	keyHome: "Home, with its first row in focus, from any screen",
	keyOpen: "open the row in focus",
	keyJump: "jump to the row showing that digit (0 is the tenth)",
}

// helpText is the help page's text for s.
func helpText(s screen) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\n  On this screen:\n\n")
	for _, k := range helpKeys(s) {
		fmt.Fprintf(&b, "  [::b]%-10s[::-] %s\n", tview.Escape(k.key), tview.Escape(k.what))
	}
	return b.String()
}
