package ui

import (
	"fmt"
	"log/slog"
	"slices"

	"github.com/rivo/tview"

	"swarmbox/firmware/boxbus"
)

// homeScreen is the menu, then the titles on the box by what the household can do with them.
//
// Its rows keep their numbers (UI-3): the menu is rows 1–3, and the titles follow in the order
// Home first listed them (grouped by what can be done: Continue watching first, …). After that a
// title keeps its row while its state changes — only its label does — a new title goes to the
// end and one that leaves the box closes up the rows after it. So a digit opens what it showed a
// moment ago, after a restart of the UI too: the order is kept in a file of the UI's own
// (keepOrder). The pairing banner is a line above the list, not a row.
type homeScreen struct {
	a         *App
	list      *tview.List
	banner    *tview.TextView
	page      *tview.Flex
	order     []string // the titles as Home lists them
	orderPath string   // where order is kept; "" keeps it in memory only
}

// homeOrderFile is the file, beside the resume points, that keeps Home's row order.
const homeOrderFile = "home-order.json"

// keepOrder keeps Home's row order in path: it reads the order kept there (a damaged file is set
// aside, and Home starts afresh) and saves each change.
func (h *homeScreen) keepOrder(path string) error {
	h.orderPath = path
	var order []string
	err := loadState(path, "Home's row order", &order)
	h.order = nil
	for _, id := range order { // each title once, even from a file edited by hand
		if !slices.Contains(h.order, id) {
			h.order = append(h.order, id)
		}
	}
	return err
}

func newHome(a *App) *homeScreen {
	l := newList()
	l.SetTitle(" Welcome ")
	h := &homeScreen{a: a, list: l, banner: tview.NewTextView().SetDynamicColors(true)}
	h.page = tview.NewFlex().SetDirection(tview.FlexRow).AddItem(h.banner, 0, 0, false).AddItem(l, 0, 1, true)
	return h
}

func (h *homeScreen) Name() string               { return "Home" }
func (h *homeScreen) Primitive() tview.Primitive { return h.page }

// Keys: Back has nowhere to go from Home, and Home is where the household is.
func (h *homeScreen) Keys() []keyHelp { return listKeys(h.list.GetItemCount(), false) }

// more is Info's longer words for Home's keys.
func (h *homeScreen) more() ([]keyHelp, map[string]string) {
	return []keyHelp{{glyphUp + " " + glyphDown, "move along the list", ""}, {"Home", "back to the first row, from any screen", ""}},
		map[string]string{"OK": "open the row in focus", "0" + glyphRange + "9": "jump to the row showing that digit (0 is the tenth)"}
}

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
	// The groups label the rows and order the titles Home lists for the first time; a title
	// listed before keeps its row (UI-3).
	label := map[string]string{}
	var fresh []string
	for _, g := range homeGroups {
		for _, it := range groups[g.state] {
			label[it.ID] = fmt.Sprintf("%-18s %s", g.label, tview.Escape(it.Title))
			if !slices.Contains(h.order, it.ID) {
				fresh = append(fresh, it.ID)
			}
		}
	}
	before := slices.Clone(h.order)
	if s.loaded { // before the box has answered, no title has left: keep every row kept
		h.order = slices.DeleteFunc(h.order, func(id string) bool { _, ok := label[id]; return !ok })
	}
	h.order = append(h.order, fresh...)
	if !slices.Equal(before, h.order) {
		if err := saveState(h.orderPath, "Home's row order", h.order); err != nil {
			slog.Warn("Home's rows keep their numbers until the UI restarts only", "err", err)
		}
	}
	for _, id := range h.order {
		if _, ok := label[id]; !ok {
			continue // kept from before the restart, not loaded yet
		}
		entries = append(entries, label[id])
		open = append(open, func() { a.push(newItem(a, id)) })
	}
	banner := pairingBanner(s)
	h.banner.SetText(" " + theme.accent.tag() + tview.Escape(banner))
	h.page.ResizeItem(h.banner, map[bool]int{true: 0, false: 2}[banner == ""], 0)
	fillNumbered(h.list, entries, func(i int) { open[i]() })
}
