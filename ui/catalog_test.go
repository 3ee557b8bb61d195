package ui

import (
	"fmt"
	"strings"
	"testing"

	"github.com/gdamore/tcell/v2"
	"github.com/rivo/tview"

	"swarmbox/firmware/boxbus"
)

// press sends keys as the application would: the UI's own handling first, then the focus.
func press(a *App, keys ...tcell.Key) {
	for _, k := range keys {
		ev := a.onKey(tcell.NewEventKey(k, 0, tcell.ModNone))
		if ev == nil {
			continue
		}
		if h := a.app.GetFocus().InputHandler(); h != nil {
			h(ev, func(p tview.Primitive) { a.app.SetFocus(p) })
		}
	}
}

// listed returns the catalog list's title and rows.
func listed(t *testing.T, a *App) (string, []string) {
	t.Helper()
	l, ok := a.app.GetFocus().(*tview.List)
	if !ok {
		t.Fatalf("focus on %T, want the catalog list", a.app.GetFocus())
	}
	var rows []string
	for i := range l.GetItemCount() {
		main, _ := l.GetItemText(i)
		rows = append(rows, strings.TrimSpace(string([]rune(main)[2:36]))) // past the digit column
	}
	return l.GetTitle(), rows
}

func TestCatalogBrowsesByKindAndCategory(t *testing.T) {
	a := loaded(t, shelvedBox())
	a.push(newCatalog(a))
	for _, step := range []struct {
		keys  []tcell.Key
		title string
		rows  string
	}{
		{nil, " Catalog — all titles (5) ", "[Drama One Comedy Two Jazz Three Kids Four Manual]"},
		{[]tcell.Key{tcell.KeyRight}, " Catalog — films (2) ", "[Drama One Comedy Two]"},
		{[]tcell.Key{tcell.KeyRight}, " Catalog — films/comedy (1) ", "[Comedy Two]"},
		{[]tcell.Key{tcell.KeyF1}, " Catalog — video · films/comedy (1) ", "[Comedy Two]"}, // Red: video only
		{[]tcell.Key{tcell.KeyRight, tcell.KeyRight}, " Catalog — video · kids (1) ", "[Kids Four]"},
		{[]tcell.Key{tcell.KeyRight}, " Catalog — video · kids (1) ", "[Kids Four]"}, // the last video shelf
		{[]tcell.Key{tcell.KeyF2}, " Catalog — audio · kids (0) ", "[]"},             // Green: audio has no kids titles
		{[]tcell.Key{tcell.KeyLeft}, " Catalog — audio · music/jazz (1) ", "[Jazz Three]"},
		{[]tcell.Key{tcell.KeyF2}, " Catalog — music/jazz (1) ", "[Jazz Three]"}, // Green again: every kind
		{[]tcell.Key{tcell.KeyRight}, " Catalog — uncategorised (1) ", "[Manual]"},
		{[]tcell.Key{tcell.KeyLeft, tcell.KeyLeft, tcell.KeyLeft, tcell.KeyLeft, tcell.KeyLeft, tcell.KeyLeft, tcell.KeyLeft, tcell.KeyLeft}, " Catalog — all titles (5) ", "[Drama One Comedy Two Jazz Three Kids Four Manual]"},
	} {
		press(a, step.keys...)
		title, rows := listed(t, a)
		if title != step.title || fmt.Sprint(rows) != step.rows {
			t.Fatalf("after %v: %q %v; want %q %s", step.keys, title, rows, step.title, step.rows)
		}
	}
}

func TestShelfLineFitsTheConsole(t *testing.T) {
	for _, size := range [][2]int{{80, 24}, {160, 50}} {
		t.Run(fmt.Sprintf("%dx%d", size[0], size[1]), func(t *testing.T) {
			a := loaded(t, shelvedBox())
			a.push(newCatalog(a))
			sim := console(a, size[0], size[1])
			press(a, tcell.KeyRight, tcell.KeyRight, tcell.KeyRight) // films/drama
			screen := strings.Join(onScreen(a, sim), "\n")
			for _, want := range []string{"Category", "films/drama (1)", "Catalog — films/drama (1)", "Drama One", "films/drama", "◀ ▶ category"} {
				if !strings.Contains(screen, want) {
					t.Errorf("the screen lacks %q:\n%s", want, screen)
				}
			}
			press(a, tcell.KeyEnter)
			screen = strings.Join(onScreen(a, sim), "\n")
			if !strings.Contains(screen, "Category  films/drama") {
				t.Errorf("the item screen lacks its category:\n%s", screen)
			}
		})
	}
}

func TestShelfStripKeepsTheCurrentShelfInView(t *testing.T) {
	var many []shelfChoice
	for i := range 30 {
		many = append(many, shelfChoice{fmt.Sprintf("shelf%02d", i), i})
	}
	for _, c := range []struct {
		current         string
		left, right     bool
		width           int
		wantIn, wantNot string
	}{
		{"shelf00", false, true, 80, "shelf00 (0)", "shelf29"},
		{"shelf15", true, true, 80, "shelf15 (15)", "shelf00"},
		{"shelf29", true, false, 80, "shelf29 (29)", "shelf00"},
		{"shelf29", true, false, 30, "shelf29 (29)", "shelf27"},
	} {
		s := shelfStrip(many, c.current, c.width)
		plain := stripTags(s)
		if !strings.Contains(plain, c.wantIn) || strings.Contains(plain, c.wantNot) ||
			strings.Contains(plain, "◀") != c.left || strings.Contains(plain, "▶") != c.right || len([]rune(plain)) > c.width {
			t.Errorf("shelfStrip(%s, %d) = %q", c.current, c.width, plain)
		}
	}
}

// stripTags drops tview colour tags.
func stripTags(s string) string {
	tv := tview.NewTextView().SetDynamicColors(true).SetText(s)
	return tv.GetText(true)
}

func TestShelfChoices(t *testing.T) {
	sh := []boxbus.Shelf{{Category: "films", Titles: 3}, {Category: "films/drama", Titles: 2}, {Category: "films/comedy", Titles: 1}, {Category: "kids", Titles: 1}, {Category: "", Titles: 2}}
	for _, c := range []struct {
		current, want string
	}{
		{"", "[{ 6} {films 3} {films/drama 2} {films/comedy 1} {kids 1} {uncategorised 2}]"},
		{"music/jazz", "[{ 6} {films 3} {films/drama 2} {films/comedy 1} {kids 1} {uncategorised 2} {music/jazz 0}]"},
	} {
		if got := fmt.Sprint(shelfChoices(sh, c.current)); got != c.want {
			t.Errorf("shelfChoices(current %q) = %s, want %s", c.current, got, c.want)
		}
	}
}
