package ui

import (
	"fmt"
	"strconv"
	"testing"
)

func TestNavStack(t *testing.T) {
	box := downloadingBox()
	a := loaded(t, box)
	it, _ := a.snap.item(id(2))
	visible := func() string { return visiblePages(a) }
	for _, step := range []struct {
		name    string
		do      func()
		depth   int
		visible string
	}{
		{"start", func() {}, 1, "[Home]"},
		{"push", func() { a.push(newCatalog(a)) }, 2, "[Catalog]"},
		{"push", func() { a.push(newItem(a, it.ID)) }, 3, "[Title]"},
		{"a dialog shows over its screen", func() { a.push(newBuy(a, it, false)) }, 4, "[Title Title]"},
		{"Back pops the dialog only", a.back, 3, "[Title]"},
		{"Back", a.back, 2, "[Catalog]"},
		{"Back", a.back, 1, "[Home]"},
		{"Back at the bottom stays", a.back, 1, "[Home]"},
		{"push", func() { a.push(newWishlist(a)) }, 2, "[Wishlist]"},
		{"reset", a.nav.reset, 1, "[Home]"},
	} {
		step.do()
		if len(a.nav.stack) != step.depth || a.nav.pages.GetPageCount() != step.depth || visible() != step.visible {
			t.Fatalf("%s: depth %d, pages %d, visible %s; want %d, %s", step.name, len(a.nav.stack), a.nav.pages.GetPageCount(), visible(), step.depth, step.visible)
		}
	}
}

func TestLegend(t *testing.T) {
	a := loaded(t, shelvedBox())
	for _, tc := range []struct {
		s    screen
		want string
	}{
		{a.home, " [silver:black:b]OK[-:-:-] open  [silver:black:b]0–9[-:-:-] jump"},
		{newCatalog(a), " [silver:maroon:b] Red [-:-:-] video  [black:green:-] Green [-:-:-] audio  [silver:olive:b] Yellow [-:-:-] files  [silver:navy:b] Blue [-:-:-] search  [silver:black:b]◀ ▶[-:-:-] category  [silver:black:b]OK[-:-:-] open  [silver:black:b]Back[-:-:-] back  [silver:black:b]Home[-:-:-] home  [silver:black:b]0–9[-:-:-] jump"},
		{&playingScreen{}, " [silver:black:b]Play/Pause[-:-:-] pause  [silver:black:b]FF[-:-:-] +30 s  [silver:black:b]RW[-:-:-] −10 s  [silver:black:b]Stop[-:-:-] stop  [silver:black:b]Back[-:-:-] stop"},
	} {
		if _, ok := tc.s.(*catalogScreen); ok {
			a.push(tc.s) // its keys follow what it lists
		}
		if got := legend(tc.s.Keys()); got != tc.want {
			t.Errorf("%s: legend\n%q, want\n%q", tc.s.Name(), got, tc.want)
		}
	}
}

// visiblePages names the screens the navigation stack shows, bottom first.
func visiblePages(a *App) string {
	var names []string
	for _, p := range a.nav.pages.GetPageNames(true) {
		i, _ := strconv.Atoi(p)
		names = append(names, a.nav.stack[i].Name())
	}
	return fmt.Sprint(names)
}
