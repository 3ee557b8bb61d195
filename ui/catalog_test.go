package ui

import (
	"fmt"
	"strings"
	"testing"

	"github.com/gdamore/tcell/v2"
	"github.com/rivo/tview"
)

// shelvedBox is a small catalog over several categories.
func shelvedBox() *catalogBox {
	return &catalogBox{titles: []Title{
		{ID: fmt.Sprintf("%032x", 1), Title: "Drama One", Kind: "video", Category: "films/drama", Size: 1 << 20, PriceCents: 399},
		{ID: fmt.Sprintf("%032x", 2), Title: "Comedy Two", Kind: "video", Category: "films/comedy", Size: 1 << 20, PriceCents: 299},
		{ID: fmt.Sprintf("%032x", 3), Title: "Jazz Three", Kind: "audio", Category: "music/jazz", Size: 1 << 20, PriceCents: 99},
		{ID: fmt.Sprintf("%032x", 4), Title: "Kids Four", Kind: "video", Category: "kids", Size: 1 << 20, PriceCents: 199},
		{ID: fmt.Sprintf("%032x", 5), Title: "Manual", Kind: "file", Category: "", Size: 1 << 10, PriceCents: 0},
	}}
}

// console gives a a simulated w×h console (once: tview finishes a replaced screen).
func console(a *App, w, h int) tcell.SimulationScreen {
	sim := tcell.NewSimulationScreen("UTF-8")
	a.app.SetScreen(sim)
	sim.SetSize(w, h)
	return sim
}

// onScreen draws a on its console and returns the text, one string per row.
func onScreen(a *App, sim tcell.SimulationScreen) []string {
	// The shelf line fits itself to the width it was last drawn at: draw, reload, draw.
	a.app.ForceDraw()
	a.reload()
	a.app.ForceDraw()
	cells, cw, ch := sim.GetContents()
	rows := make([]string, ch)
	for y := range ch {
		var b strings.Builder
		for x := range cw {
			r := cells[y*cw+x].Runes
			if len(r) == 0 {
				b.WriteByte(' ')
				continue
			}
			b.WriteString(string(r))
		}
		rows[y] = b.String()
	}
	return rows
}

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
		rows = append(rows, strings.TrimSpace(string([]rune(main)[:34])))
	}
	return l.GetTitle(), rows
}

func TestCatalogBrowsesByKindAndCategory(t *testing.T) {
	a := New(shelvedBox(), "")
	a.open("catalog")
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
			a := New(shelvedBox(), "")
			a.open("catalog")
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
	sh := []Shelf{{"films", 3}, {"films/drama", 2}, {"films/comedy", 1}, {"kids", 1}, {"", 2}}
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
