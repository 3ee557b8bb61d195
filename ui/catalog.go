package ui

import (
	"fmt"
	"slices"
	"strings"

	"github.com/gdamore/tcell/v2"
	"github.com/rivo/tview"

	"swarmbox/firmware/boxbus"
	"swarmbox/sync/protocol"
)

// catalogFilter is what the catalog shows; it outlives the catalog screen, as on any TV.
type catalogFilter struct {
	kind     string // "", video, audio, file
	category string // "" (all), a category, or uncategorised
	search   string // text the title must contain
}

// catalogScreen lists the catalog, filtered by kind (the colour keys), by category (Left and
// Right move along the shelf line above the list) and by the search text. A search is never on
// unseen (UI-3): a line above the shelves says what it matches, how many of how many titles it
// shows and that Blue clears it, and the shelf counts are those of the titles it matches.
type catalogScreen struct {
	a          *App
	list       *tview.List
	shelfLine  *shelfLine
	searchLine *tview.TextView // the search on, or nothing (no row) without one
	page       *tview.Flex

	// Rows are formatted once per title and kept while it is unchanged: with a large catalog,
	// formatting was most of the time from a key that changes the filter to the redrawn list
	// (BenchmarkUICategoryKeyRedraw).
	rowOf       map[boxbus.Title]string
	rowCurrency string // the currency rowOf's prices are in
	// The list is refilled only when the titles or the filter changed, not for every progress.
	shownFor struct {
		titles int
		filter catalogFilter
		loaded bool
	}
	matching []boxbus.Shelf // the shelves counting only the titles the search matches
	of       int            // titles of the kind and shelf, searched or not
}

func newCatalog(a *App) *catalogScreen {
	c := &catalogScreen{a: a, list: newList(), shelfLine: &shelfLine{TextView: tview.NewTextView().SetDynamicColors(true).SetWrap(false)},
		searchLine: tview.NewTextView().SetDynamicColors(true).SetWrap(false)}
	c.page = tview.NewFlex().SetDirection(tview.FlexRow).AddItem(c.searchLine, 0, 0, false).AddItem(c.shelfLine, 1, 0, false).AddItem(c.list, 0, 1, true)
	// Left and Right would scroll the list sideways; on the TV they move along the shelves.
	c.list.SetInputCapture(func(ev *tcell.EventKey) *tcell.EventKey {
		step := map[tcell.Key]int{tcell.KeyLeft: -1, tcell.KeyRight: 1}[ev.Key()]
		if step == 0 {
			return ev
		}
		shelves := c.shelfLine.shelves
		i := slices.IndexFunc(shelves, func(s shelfChoice) bool { return s.category == a.filter.category })
		if j := i + step; i >= 0 && j >= 0 && j < len(shelves) {
			a.filter.category = shelves[j].category
			c.list.SetCurrentItem(0)
			a.redraw()
		}
		return nil
	})
	return c
}

func (c *catalogScreen) Name() string               { return "Catalog" }
func (c *catalogScreen) Primitive() tview.Primitive { return c.page }

// Keys name what each colour key does now: pressed again, a kind key shows every kind, and Blue
// clears the search it started (the same toggle, so one rule covers the four).
func (c *catalogScreen) Keys() []keyHelp {
	f := c.a.filter
	kind := func(k, label string) string {
		if f.kind == k {
			return "all kinds"
		}
		return label
	}
	keys := []keyHelp{{"Red", kind("video", "video"), "red"}, {"Green", kind("audio", "audio"), "green"}, {"Yellow", kind("file", "files"), "yellow"}, {"Blue", "search", "blue"}}
	if f.search != "" {
		keys[3].what = "clear search"
	}
	if len(c.shelfLine.shelves) > 1 {
		keys = append(keys, keyHelp{glyphLeft + " " + glyphRight, "category", ""})
	}
	return append(keys, listKeys(c.list.GetItemCount(), true)...)
}

// more is Info's longer words for the catalog's keys.
func (c *catalogScreen) more() ([]keyHelp, map[string]string) {
	return []keyHelp{{glyphUp + " " + glyphDown, "move along the list", ""}}, map[string]string{
		"Red":                        "videos only; again: every kind",
		"Green":                      "audio only; again: every kind",
		"Yellow":                     "files only; again: every kind",
		"Blue":                       "search by title; while a search is on: clear it",
		glyphLeft + " " + glyphRight: "the previous or next category on the shelf line",
		"OK":                         "open the title in focus",
		"0" + glyphRange + "9":       "jump to the row showing that digit (0 is the tenth)",
	}
}

func (c *catalogScreen) Act(act Action) bool {
	f := &c.a.filter
	toggle := func(k string) {
		if f.kind == k {
			f.kind = ""
		} else {
			f.kind = k
		}
		c.a.redraw()
	}
	switch act {
	case ActRed:
		toggle("video")
	case ActGreen:
		toggle("audio")
	case ActYellow:
		toggle("file")
	case ActBlue:
		if f.search != "" {
			f.search = ""
			c.list.SetCurrentItem(0)
			c.a.redraw()
			c.a.say("Search cleared: every title again.")
			return true
		}
		c.a.push(newSearch(c.a))
	default:
		return false
	}
	return true
}

func (c *catalogScreen) Update(s *snapshot) {
	f := c.a.filter
	if !c.shownFor.loaded || c.shownFor.titles != s.titles || c.shownFor.filter != f {
		c.refill(s, f)
	}
	shelves := s.shelves[f.kind]
	if f.search != "" {
		shelves = c.matching
		c.searchLine.SetText(fmt.Sprintf(" [::b]Search[::-] %q: %d of %d %s %s Blue %s clears", tview.Escape(f.search), c.list.GetItemCount(), c.of, glyphDot, theme.keys["blue"].tag(), reset))
		c.page.ResizeItem(c.searchLine, 1, 0)
	} else {
		c.searchLine.SetText("")
		c.page.ResizeItem(c.searchLine, 0, 0)
	}
	c.shelfLine.shelves, c.shelfLine.current = shelfChoices(shelves, f.category), f.category
}

// refill lists the titles the filter lets through, and counts them for the search line.
func (c *catalogScreen) refill(s *snapshot, f catalogFilter) {
	c.shownFor.titles, c.shownFor.filter, c.shownFor.loaded = s.titles, f, s.loaded
	if len(c.rowOf) > 2*len(s.items)+64 || c.rowCurrency != s.terms.Currency { // titles changed or left, or the currency: start afresh
		c.rowOf, c.rowCurrency = nil, s.terms.Currency
	}
	if c.rowOf == nil {
		c.rowOf = make(map[boxbus.Title]string, len(s.items))
	}
	var shown []string
	var rows []string
	search := strings.ToLower(f.search)
	count := map[string]int32{} // by category, parents counting their children, as Categories does
	c.of = 0
	for _, it := range s.items {
		t := titleOf(*it)
		row, ok := c.rowOf[t]
		if !ok {
			row = fmt.Sprintf("%-34s %-6s %-14s %9s %7s", tview.Escape(cut(t.Title, 34)), t.Kind, tview.Escape(cut(titleShelf(t.Category), 14)), size(t.Size), s.price(t.PriceCents))
			c.rowOf[t] = row
		}
		if f.kind != "" && t.Kind != f.kind {
			continue
		}
		in := protocol.InCategory(t.Category, f.category)
		if in {
			c.of++
		}
		if search != "" && !strings.Contains(strings.ToLower(t.Title), search) {
			continue
		}
		if search != "" {
			count[t.Category]++
			if i := strings.IndexByte(t.Category, '/'); i > 0 {
				count[t.Category[:i]]++
			}
		}
		if !in {
			continue
		}
		shown = append(shown, t.ID)
		rows = append(rows, row)
	}
	var filter []string
	if f.kind != "" {
		filter = append(filter, f.kind)
	}
	if f.category != "" {
		filter = append(filter, f.category)
	}
	if len(filter) == 0 {
		filter = append(filter, "all titles")
	}
	if f.search != "" {
		filter[len(filter)-1] += fmt.Sprintf(", matching %q", f.search)
	}
	c.list.SetTitle(fmt.Sprintf(" Catalog — %s (%d) ", tview.Escape(strings.Join(filter, " "+glyphDot+" ")), len(shown)))
	fillNumbered(c.list, rows, func(i int) { c.a.push(newItem(c.a, shown[i])) })
	c.matching = nil
	if search != "" {
		for _, sh := range s.shelves[f.kind] {
			c.matching = append(c.matching, boxbus.Shelf{Category: sh.Category, Titles: count[sh.Category]})
		}
	}
}

// uncategorised is the shelf of titles without a category (no category can be named so).
const uncategorised = protocol.Uncategorised

// shelfChoice is one stop on the shelf line: "" is every category.
type shelfChoice struct {
	category string
	titles   int
}

// shelfChoices is the shelf line for the box's categories: all titles, each category, the
// uncategorised titles; the current choice stays on it (with no titles) when the kind has none.
func shelfChoices(sh []boxbus.Shelf, current string) []shelfChoice {
	all := 0
	out := []shelfChoice{{"", 0}}
	for _, c := range sh {
		all += int(c.Titles)
		name := c.Category
		if name == "" {
			name = uncategorised
		} else if strings.Contains(name, "/") {
			// A child's titles are already in its parent's count.
			all -= int(c.Titles)
		}
		out = append(out, shelfChoice{name, int(c.Titles)})
	}
	out[0].titles = all
	if !slices.ContainsFunc(out, func(c shelfChoice) bool { return c.category == current }) {
		out = append(out, shelfChoice{current, 0})
	}
	return out
}

// shelfLine is the line of shelves above the catalog, fitted to the width it is drawn at.
type shelfLine struct {
	*tview.TextView
	shelves []shelfChoice
	current string
}

// Draw fits the line to the width the layout gave it.
func (l *shelfLine) Draw(screen tcell.Screen) {
	_, _, w, _ := l.GetInnerRect()
	l.SetText(shelfStrip(l.shelves, l.current, w))
	l.TextView.Draw(screen)
}

// shelfStrip draws the shelf line in width cells: the current shelf highlighted and as many of
// its neighbours as fit, with ◀ or ▶ where more are hidden.
func shelfStrip(shelves []shelfChoice, current string, width int) string {
	if len(shelves) == 0 {
		return ""
	}
	if width <= 0 {
		width = 76
	}
	label := func(c shelfChoice) string { return fmt.Sprintf(" %s (%d) ", shelfName(c.category), c.titles) }
	cur := max(0, slices.IndexFunc(shelves, func(c shelfChoice) bool { return c.category == current }))
	const lead = " Category ◀ "
	room := width - len([]rune(lead)) - 2
	lo, hi := cur, cur+1
	used := len([]rune(label(shelves[cur])))
	for grew := true; grew; {
		grew = false
		if hi < len(shelves) && used+len([]rune(label(shelves[hi]))) <= room {
			used += len([]rune(label(shelves[hi])))
			hi++
			grew = true
		}
		if lo > 0 && used+len([]rune(label(shelves[lo-1]))) <= room {
			lo--
			used += len([]rune(label(shelves[lo])))
			grew = true
		}
	}
	var b strings.Builder
	b.WriteString(" [::b]Category[::-] ")
	b.WriteString(map[bool]string{true: theme.accent.tag() + glyphLeft + reset, false: " "}[lo > 0])
	for i := lo; i < hi; i++ {
		if i == cur {
			b.WriteString(theme.focus.tag() + tview.Escape(label(shelves[i])) + reset)
		} else {
			b.WriteString(tview.Escape(label(shelves[i])))
		}
	}
	b.WriteString(map[bool]string{true: theme.accent.tag() + glyphRight + reset, false: ""}[hi < len(shelves)])
	return b.String()
}

// shelfName is how a shelf is named on the shelf line: "all" for every category.
func shelfName(c string) string {
	if c == "" {
		return "all"
	}
	return c
}

// titleShelf is how a title's category is shown: "uncategorised" for none.
func titleShelf(c string) string {
	if c == "" {
		return uncategorised
	}
	return c
}
