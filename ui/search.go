package ui

import (
	"fmt"
	"strings"

	"github.com/rivo/tview"
)

// searchScreen is an on-screen keyboard: arrows move over letters, OK types one, Done goes
// back to the catalog with the text as a filter.
type searchScreen struct {
	text *tview.TextView
	box  *tview.Flex
	a    *App
}

// searchKeys is the keyboard, nine keys a row.
var searchKeys = append(strings.Split("A B C D E F G H I J K L M N O P Q R S T U V W X Y Z 0 1 2 3 4 5 6 7 8 9", " "), keySpace, keyDelete, keyDone)

func newSearch(a *App) *searchScreen {
	grid := tview.NewTable().SetSelectable(true, true)
	grid.SetSelectedStyle(theme.focus.style())
	for i, k := range searchKeys {
		grid.SetCell(i/9, i%9, tview.NewTableCell(" "+k+" ").SetAlign(tview.AlignCenter).SetExpansion(1))
	}
	s := &searchScreen{a: a, text: tview.NewTextView().SetDynamicColors(true)}
	s.box = tview.NewFlex().SetDirection(tview.FlexRow).AddItem(s.text, 2, 0, false).AddItem(grid, 0, 1, true)
	s.box.SetBorder(true).SetTitle(" Search by title ")
	grid.SetSelectedFunc(func(r, c int) {
		f := &a.filter
		switch k := searchKeys[r*9+c]; k {
		case keyDelete:
			if f.search != "" {
				f.search = f.search[:len(f.search)-1]
			}
		case keySpace:
			f.search += " "
		case keyDone:
			a.back()
			return
		default:
			f.search += strings.ToLower(k)
		}
		a.redraw()
	})
	return s
}

func (s *searchScreen) Name() string               { return "Search" }
func (s *searchScreen) Primitive() tview.Primitive { return s.box }
func (s *searchScreen) Keys() []keyHelp {
	return []keyHelp{{"OK", "type", ""}, {"0" + glyphRange + "9", "type", ""}, {"Back", "done", ""}, keyHome}
}

// more is Info's longer words for the keyboard's keys.
func (s *searchScreen) more() ([]keyHelp, map[string]string) {
	return []keyHelp{{glyphUp + " " + glyphDown + " " + glyphLeft + " " + glyphRight, "move over the keyboard", ""}}, map[string]string{
		"OK":                   "type the key in focus (Delete removes the last letter)",
		"0" + glyphRange + "9": "type that digit",
		"Back":                 "back to the catalog, searched (Blue there clears it)",
	}
}

// typeDigit types a digit key of the remote: on the keyboard digits are letters, not jumps.
func (s *searchScreen) typeDigit(r rune) {
	s.a.filter.search += string(r)
	s.a.redraw()
}
func (s *searchScreen) Update(*snapshot) {
	s.text.SetText(fmt.Sprintf(" Title contains: %s%s_", theme.accent.tag(), tview.Escape(s.a.filter.search)))
}
