package ui

import (
	"testing"

	"github.com/gdamore/tcell/v2"
	"github.com/rivo/tview"

	"swarmbox/hw/remote"
)

func TestDigitsJumpInTheFocusedList(t *testing.T) {
	a := New(newCatalogBox(20), "")
	a.open("catalog")
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
	a := New(newCatalogBox(5), "")
	a.home.SetCurrentItem(2)
	a.open("catalog")
	a.open("item:" + newCatalogBox(5).titles[1].ID)
	a.onKey(tcell.NewEventKey(tcell.KeyHome, 0, tcell.ModNone))
	if len(a.stack) != 1 || a.stack[0] != "home" || a.home.GetCurrentItem() != 0 {
		t.Fatalf("after Home: stack %v, home entry %d; want [home], 0", a.stack, a.home.GetCurrentItem())
	}
	if a.pages.HasPage("catalog") {
		t.Error("the pages above Home are still there")
	}
}
