package ui

import (
	"testing"

	"github.com/gdamore/tcell/v2"
	"github.com/rivo/tview"

	"swarmbox/hw/remote"
)

func TestDigitsJumpInTheFocusedList(t *testing.T) {
	a := loaded(t, newCatalogBox(20))
	a.push(newCatalog(a))
	l, ok := a.app.GetFocus().(*tview.List)
	if !ok {
		t.Fatalf("focus on %T, want the catalog list", a.app.GetFocus())
	}
	for _, tc := range []struct {
		digit rune
		want  int
	}{{'3', 2}, {'1', 0}, {'0', 9}, {'9', 8}} {
		if a.onKey(tcell.NewEventKey(tcell.KeyRune, tc.digit, tcell.ModNone)) != nil {
			t.Errorf("digit %c was passed on instead of handled", tc.digit)
		}
		if got := l.GetCurrentItem(); got != tc.want {
			t.Errorf("after %c the current entry is %d, want %d", tc.digit, got, tc.want)
		}
	}
}

func TestEveryRemoteButtonReachesTheUI(t *testing.T) {
	for _, b := range remote.Buttons() {
		ev, ok := RemoteKey(b)
		if !ok {
			t.Errorf("button %q has no key in the UI", b)
			continue
		}
		// Navigation keys are the widgets' own; the rest must mean an action.
		switch ev.Key() {
		case tcell.KeyUp, tcell.KeyDown, tcell.KeyLeft, tcell.KeyRight, tcell.KeyEnter, tcell.KeyPgUp, tcell.KeyPgDn:
			continue
		}
		if ev.Key() == tcell.KeyRune && ev.Rune() >= '0' && ev.Rune() <= '9' {
			continue
		}
		if KeyAction(ev) == ActNone {
			t.Errorf("button %q gives key %s, which means nothing to the UI", b, ev.Name())
		}
	}
}

func TestHomeStartsFresh(t *testing.T) {
	box := newCatalogBox(5)
	a := loaded(t, box)
	a.home.list.SetCurrentItem(2)
	a.push(newCatalog(a))
	a.push(newItem(a, box.items[1].ID))
	a.onKey(tcell.NewEventKey(tcell.KeyHome, 0, tcell.ModNone))
	if len(a.nav.stack) != 1 || a.nav.top() != a.home || a.home.list.GetCurrentItem() != 0 {
		t.Fatalf("after Home: stack %v, home entry %d; want [home], 0", a.nav.stack, a.home.list.GetCurrentItem())
	}
	if n := a.nav.pages.GetPageCount(); n != 1 {
		t.Errorf("%d pages after Home; the pages above it are still there", n)
	}
}
