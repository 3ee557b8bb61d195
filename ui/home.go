package ui

import (
	"fmt"

	"github.com/rivo/tview"

	"swarmbox/firmware/boxbus"
)

// homeScreen is the menu, then the titles on the box by what the household can do with them.
type homeScreen struct {
	a    *App
	list *tview.List
}

func newHome(a *App) *homeScreen {
	l := newList()
	l.SetTitle(" Welcome ")
	return &homeScreen{a: a, list: l}
}

func (h *homeScreen) Name() string               { return "Home" }
func (h *homeScreen) Primitive() tview.Primitive { return h.list }
func (h *homeScreen) Keys() []keyHelp            { return commonKeys }

// continueWatching groups bought titles with a resume point; lapsed, owned titles whose
// licence ran out (never "Rental ended": the household owns them).
const (
	continueWatching boxbus.State = "continue"
	lapsed           boxbus.State = "lapsed"
	freeToWatch      boxbus.State = "free" // ready and free: never "ready to buy"
)

// homeGroups are Home's title groups, in order.
var homeGroups = []struct {
	state boxbus.State
	label string
}{{continueWatching, "Continue watching"}, {boxbus.Bought, "Ready to watch"}, {freeToWatch, "Free to watch"}, {boxbus.ReadyToBuy, "Ready to buy"}, {boxbus.Downloading, "Downloading"}, {lapsed, "Licence to renew"}, {boxbus.Expired, "Rental ended"}}

func (h *homeScreen) Update(s *snapshot) {
	a := h.a
	entries := []string{"[::b]Browse the catalog", "[::b]My wishlist", "[::b]Downloads"}
	open := []func(){
		func() { a.push(newCatalog(a)) },
		func() { a.push(newWishlist(a)) },
		func() { a.push(newDownloads(a)) },
	}
	groups := map[boxbus.State][]boxbus.Item{}
	for _, id := range s.local {
		it, ok := s.item(id)
		if !ok {
			continue
		}
		state := it.State
		if _, ok := a.resume.m[id]; ok && state == boxbus.Bought {
			state = continueWatching
		}
		if state == boxbus.Expired && owned(it) {
			state = lapsed
		}
		if state == boxbus.ReadyToBuy && free(it) {
			state = freeToWatch
		}
		groups[state] = append(groups[state], it)
	}
	for _, g := range homeGroups {
		for _, it := range groups[g.state] {
			entries = append(entries, fmt.Sprintf("%-18s %s", g.label, tview.Escape(it.Title)))
			open = append(open, func() { a.push(newItem(a, it.ID)) })
		}
	}
	if banner := pairingBanner(s); banner != "" {
		entries = append([]string{"[yellow]" + tview.Escape(banner)}, entries...)
		open = append([]func(){func() { a.say(banner) }}, open...)
	}
	fill(h.list, entries, func(i int) { open[i]() })
}
