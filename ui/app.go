package ui

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gdamore/tcell/v2"
	"github.com/rivo/tview"

	"swarmbox/sync/protocol"
)

// Colours chosen for a TV across a room: white on near-black, one bright focus colour.
var (
	bg    = tcell.NewRGBColor(10, 12, 24)
	focus = tcell.NewRGBColor(255, 200, 0)
	dim   = tcell.NewRGBColor(150, 150, 170)
	ink   = tcell.NewRGBColor(0, 0, 0) // true black on the focus colour: palette black is grey on many TVs
)

// Action is what a key means, whether it came from the remote or a terminal.
type Action int

// Actions the UI reacts to beyond list navigation (arrows and OK are the widgets' own).
const (
	ActNone Action = iota
	ActBack
	ActHome
	ActRed
	ActGreen
	ActYellow
	ActBlue
	ActPlayPause
	ActStop
	ActFastForward
	ActRewind
	ActInfo
)

// KeyAction maps a terminal key to an action: Esc/Backspace = Back, Home or h = Home, F1–F4 =
// the colour keys, space or p = Play/Pause, s = Stop, f or > = FF, r or < = RW, i or ? = Info.
func KeyAction(ev *tcell.EventKey) Action {
	switch ev.Key() {
	case tcell.KeyEscape, tcell.KeyBackspace, tcell.KeyBackspace2:
		return ActBack
	case tcell.KeyHome:
		return ActHome
	case tcell.KeyF1:
		return ActRed
	case tcell.KeyF2:
		return ActGreen
	case tcell.KeyF3:
		return ActYellow
	case tcell.KeyF4:
		return ActBlue
	case tcell.KeyRune:
		switch ev.Rune() {
		case 'h':
			return ActHome
		case ' ', 'p':
			return ActPlayPause
		case 's':
			return ActStop
		case 'f', '>':
			return ActFastForward
		case 'r', '<':
			return ActRewind
		case 'i', '?':
			return ActInfo
		}
	}
	return ActNone
}

// App is the TV UI.
type App struct {
	box    Box
	app    *tview.Application
	pages  *tview.Pages
	header *tview.TextView
	footer *tview.TextView
	status *tview.TextView

	home     *tview.List
	stack    []string          // page names, Home at the bottom
	refresh  map[string]func() // per page: reload its data
	keys     map[string]func(Action) bool
	search   string
	kind     string // catalog filter: "", video, audio, file
	category string // catalog filter: "" (all), a category, or uncategorised
	player   string // optional external player command, e.g. "mpv"
	playing  *nowPlaying
	statusAt time.Time // when the status line was last set
	resume   *positions
	meter    meter // download rates, for rate and time-left figures
}

// New builds the UI for box. player, if not empty, is run with the playback URL.
func New(box Box, player string) *App {
	a := &App{box: box, app: tview.NewApplication(), pages: tview.NewPages(), refresh: map[string]func(){}, keys: map[string]func(Action) bool{}, player: player, resume: &positions{m: map[string]resumePoint{}}}
	tview.Styles.PrimitiveBackgroundColor = bg
	tview.Styles.ContrastBackgroundColor = bg
	tview.Styles.PrimaryTextColor = tcell.ColorWhite
	tview.Styles.BorderColor = dim
	tview.Styles.TitleColor = focus
	a.header = tview.NewTextView().SetDynamicColors(true)
	a.footer = tview.NewTextView().SetDynamicColors(true)
	a.status = tview.NewTextView().SetDynamicColors(true)
	layout := tview.NewFlex().SetDirection(tview.FlexRow).
		AddItem(a.header, 1, 0, false).
		AddItem(a.pages, 0, 1, true).
		AddItem(a.status, 1, 0, false).
		AddItem(a.footer, 1, 0, false)
	a.app.SetRoot(layout, true)
	a.app.SetInputCapture(a.onKey)
	a.open("home")
	return a
}

// Run draws the UI until the household leaves it (Ctrl-C) or stop is closed.
func (a *App) Run(stop <-chan struct{}) error {
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-stop:
				a.app.Stop()
				return
			case <-t.C:
				a.app.QueueUpdateDraw(a.reload)
			}
		}
	}()
	return a.app.Run()
}

// Application exposes the tview application (for tests with a simulation screen).
func (a *App) Application() *tview.Application { return a.app }

func (a *App) onKey(ev *tcell.EventKey) *tcell.EventKey {
	act := KeyAction(ev)
	top := a.stack[len(a.stack)-1]
	if h := a.keys[top]; act != ActNone && h != nil && h(act) {
		return nil
	}
	if r := ev.Rune(); ev.Key() == tcell.KeyRune && r >= '0' && r <= '9' {
		// Digits jump to an entry of the list in focus: 1 is the first, 0 the tenth.
		if l, ok := a.app.GetFocus().(*tview.List); ok {
			if i := (int(r-'0') + 9) % 10; i < l.GetItemCount() {
				l.SetCurrentItem(i)
			}
			return nil
		}
	}
	switch act {
	case ActBack:
		a.back()
		return nil
	case ActHome:
		// Home is a fresh start: the home screen with its first entry in focus, as on any TV.
		a.stopPlayback()
		for _, p := range a.stack[1:] {
			a.pages.RemovePage(p)
		}
		a.stack = a.stack[:1]
		a.home.SetCurrentItem(0)
		a.show("home")
		return nil
	case ActStop:
		a.stopPlayback()
		return nil
	case ActInfo:
		a.say("Arrows move (◀ ▶ change the category in the catalog), OK opens, Back goes back, Home starts over, 0–9 jump to an entry; the colour keys do what the bottom line says; Play/Pause, FF, RW and Stop work while playing.")
		return nil
	}
	return ev
}

// statusFor is how long a message stays on the status line: long enough to read from the sofa,
// short enough not to describe a screen the household has left.
const statusFor = 8 * time.Second

func (a *App) say(msg string) {
	a.status.SetText(" " + tview.Escape(msg))
	a.statusAt = time.Now()
}

func (a *App) fail(err error) {
	a.status.SetText(" [red::b]" + tview.Escape(err.Error()))
	a.statusAt = time.Now()
}

// open pushes a page, building it the first time.
func (a *App) open(name string, arg ...string) {
	switch {
	case name == "home":
		a.buildHome()
	case name == "catalog":
		a.buildCatalog()
	case name == "wishlist":
		a.buildWishlist()
	case name == "downloads":
		a.buildDownloads()
	case name == "search":
		a.buildSearch()
	case name == "player":
		a.buildPlayer()
	case strings.HasPrefix(name, "item:"):
		a.buildItem(strings.TrimPrefix(name, "item:"))
	}
	a.stack = append(a.stack, name)
	a.show(name)
}

func (a *App) back() {
	if a.stack[len(a.stack)-1] == "player" && a.playing != nil {
		a.stopPlayback() // leaving the player ends playback, as on any TV
		return
	}
	if len(a.stack) > 1 {
		a.pages.RemovePage(a.stack[len(a.stack)-1])
		a.stack = a.stack[:len(a.stack)-1]
		a.show(a.stack[len(a.stack)-1])
	}
}

func (a *App) show(name string) {
	a.pages.SwitchToPage(name)
	a.reload()
}

func (a *App) reload() {
	top := a.stack[len(a.stack)-1]
	titles := map[string]string{"home": "Home", "catalog": "Catalog", "wishlist": "Wishlist", "downloads": "Downloads", "search": "Search", "player": "Playing"}
	t := titles[top]
	if strings.HasPrefix(top, "item:") {
		t = "Title"
	}
	a.header.SetText(fmt.Sprintf(" [::b]swarmbox[-:-:-]  ›  [#ffc800::b]%s[-:-:-]%s%s", t, strings.Repeat(" ", 20), time.Now().Format("15:04")))
	if !a.statusAt.IsZero() && time.Since(a.statusAt) > statusFor {
		a.status.SetText("")
		a.statusAt = time.Time{}
	}
	if f := a.refresh[top]; f != nil {
		f()
	}
	a.footer.SetText(a.legend(top))
}

// legend names the keys that do something on page: the page's own (colour keys) first, so
// they stay on screen when an 80-column console cuts the line short.
func (a *App) legend(page string) string {
	k := func(c, key, what string) string { return fmt.Sprintf("[#000000:%s] %s [-:-] %s  ", c, key, what) }
	common := "[::b]OK[::-] open  [::b]Back[::-] back  [::b]Home[::-] home  [::b]0–9[::-] jump"
	switch page {
	case "catalog":
		return " " + k("red", "Red", "video") + k("green", "Green", "audio") + k("yellow", "Yellow", "files") + k("blue", "Blue", "search") + "[::b]◀ ▶[::-] category  " + common
	case "wishlist":
		return " " + k("red", "Red", "up") + k("green", "Green", "down") + k("yellow", "Yellow", "remove") + common
	case "player":
		return " [::b]Play/Pause[::-] pause  [::b]FF[::-] +30 s  [::b]RW[::-] −10 s  [::b]Stop[::-] stop  [::b]Back[::-] stop"
	}
	return " " + common
}

func newList() *tview.List {
	l := tview.NewList().ShowSecondaryText(false).SetHighlightFullLine(true).
		SetSelectedStyle(tcell.StyleDefault.Background(focus).Foreground(ink).Bold(true)).
		SetMainTextStyle(tcell.StyleDefault.Background(bg).Foreground(tcell.ColorWhite))
	l.SetBorder(true).SetBorderPadding(0, 0, 1, 1)
	return l
}

// fill replaces a list's items, keeping the selection where it was.
func fill(l *tview.List, items []string, open func(i int)) {
	cur := l.GetCurrentItem()
	l.Clear()
	for i, s := range items {
		i := i
		l.AddItem(s, "", 0, func() { open(i) })
	}
	if cur < len(items) {
		l.SetCurrentItem(cur)
	}
}

func money(c int64) string {
	if c == 0 {
		return "free"
	}
	return fmt.Sprintf("%d.%02d", c/100, c%100)
}

func size(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%d kB", n>>10)
}

func bar(done, total int64, width int) string {
	if total <= 0 {
		total = 1
	}
	n := int(int64(width) * done / total)
	return "[#ffc800]" + strings.Repeat("█", n) + "[#404060]" + strings.Repeat("░", width-n) + "[-]"
}

func (a *App) buildHome() {
	l := newList()
	a.home = l
	l.SetTitle(" Welcome ")
	a.pages.AddPage("home", l, true, false)
	a.refresh["home"] = func() {
		cat, err := a.box.Catalog()
		if err != nil {
			a.fail(err)
			return
		}
		entries := []string{"[::b]Browse the catalog", "[::b]My wishlist", "[::b]Downloads"}
		targets := []string{"catalog", "wishlist", "downloads"}
		groups := map[string][]string{}
		names := map[string]string{}
		for _, t := range cat {
			names[t.ID] = t.Title
		}
		locals, _ := a.box.Local()
		for _, lc := range locals {
			st, err := a.box.Item(lc.ID)
			if err != nil {
				continue
			}
			state := st.State
			if _, ok := a.resume.m[lc.ID]; ok && state == "bought" {
				state = "continue"
			}
			groups[state] = append(groups[state], lc.ID)
		}
		for _, g := range []struct{ state, label string }{{"continue", "Continue watching"}, {"bought", "Ready to watch"}, {"ready to buy", "Ready to buy"}, {"downloading", "Downloading"}, {"license expired", "Rental ended"}} {
			for _, id := range groups[g.state] {
				entries = append(entries, fmt.Sprintf("%-18s %s", g.label, tview.Escape(names[id])))
				targets = append(targets, "item:"+id)
			}
		}
		fill(l, entries, func(i int) { a.open(targets[i]) })
	}
}

// buildCatalog lists the catalog, filtered by kind (the colour keys), by category (Left and
// Right move along the shelf line above the list) and by the search text.
func (a *App) buildCatalog() {
	l := newList()
	shelfLine := tview.NewTextView().SetDynamicColors(true).SetWrap(false)
	page := tview.NewFlex().SetDirection(tview.FlexRow).AddItem(shelfLine, 1, 0, false).AddItem(l, 0, 1, true)
	a.pages.AddPage("catalog", page, true, false)
	var shown []Title
	var shelves []shelfChoice
	var rowOf map[Title]string
	a.refresh["catalog"] = func() {
		cat, err := a.box.Catalog()
		if err != nil {
			a.fail(err)
			return
		}
		sh, err := a.box.Categories(a.kind)
		if err != nil {
			a.fail(err)
			return
		}
		shelves = shelfChoices(sh, a.category)
		_, _, w, _ := shelfLine.GetInnerRect()
		shelfLine.SetText(shelfStrip(shelves, a.category, w))
		shown = shown[:0]
		var rows []string
		// Rows are formatted once per title and kept while it is unchanged: with a large
		// catalog, formatting was most of the time from a key that changes the filter to the
		// redrawn list (BenchmarkUICategoryKeyRedraw).
		if len(rowOf) > 2*len(cat)+64 { // titles changed or left: start afresh
			rowOf = nil
		}
		if rowOf == nil {
			rowOf = make(map[Title]string, len(cat))
		}
		for _, t := range cat {
			row, ok := rowOf[t]
			if !ok {
				row = fmt.Sprintf("%-34s %-6s %-14s %9s %7s", tview.Escape(cut(t.Title, 34)), t.Kind, tview.Escape(cut(titleShelf(t.Category), 14)), size(t.Size), money(t.PriceCents))
				rowOf[t] = row
			}
			if (a.kind != "" && t.Kind != a.kind) || !protocol.InCategory(t.Category, a.category) ||
				(a.search != "" && !strings.Contains(strings.ToLower(t.Title), strings.ToLower(a.search))) {
				continue
			}
			shown = append(shown, t)
			rows = append(rows, row)
		}
		var filter []string
		if a.kind != "" {
			filter = append(filter, a.kind)
		}
		if a.category != "" {
			filter = append(filter, a.category)
		}
		if len(filter) == 0 {
			filter = append(filter, "all titles")
		}
		if a.search != "" {
			filter[len(filter)-1] += fmt.Sprintf(", matching %q", a.search)
		}
		l.SetTitle(fmt.Sprintf(" Catalog — %s (%d) ", tview.Escape(strings.Join(filter, " · ")), len(shown)))
		fill(l, rows, func(i int) { a.open("item:" + shown[i].ID) })
	}
	// Left and Right would scroll the list sideways; on the TV they move along the shelves.
	l.SetInputCapture(func(ev *tcell.EventKey) *tcell.EventKey {
		step := map[tcell.Key]int{tcell.KeyLeft: -1, tcell.KeyRight: 1}[ev.Key()]
		if step == 0 {
			return ev
		}
		i := slices.IndexFunc(shelves, func(c shelfChoice) bool { return c.category == a.category })
		if j := i + step; i >= 0 && j >= 0 && j < len(shelves) {
			a.category = shelves[j].category
			l.SetCurrentItem(0)
			a.reload()
		}
		return nil
	})
	a.keys["catalog"] = func(act Action) bool {
		toggle := func(k string) {
			if a.kind == k {
				a.kind = ""
			} else {
				a.kind = k
			}
			a.reload()
		}
		switch act {
		case ActRed:
			toggle("video")
		case ActGreen:
			toggle("audio")
		case ActYellow:
			toggle("file")
		case ActBlue:
			a.open("search")
		default:
			return false
		}
		return true
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
func shelfChoices(sh []Shelf, current string) []shelfChoice {
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

// shelfStrip draws the shelf line in width cells: the current shelf highlighted and as many of
// its neighbours as fit, with ◀ or ▶ where more are hidden.
func shelfStrip(shelves []shelfChoice, current string, width int) string {
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
	b.WriteString(map[bool]string{true: "[#ffc800]◀[-]", false: " "}[lo > 0])
	for i := lo; i < hi; i++ {
		if i == cur {
			b.WriteString("[#000000:#ffc800:b]" + tview.Escape(label(shelves[i])) + "[-:-:-]")
		} else {
			b.WriteString(tview.Escape(label(shelves[i])))
		}
	}
	b.WriteString(map[bool]string{true: "[#ffc800]▶[-]", false: ""}[hi < len(shelves)])
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

// cut shortens s to n characters, marking the cut with an ellipsis.
func cut(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// buildSearch is an on-screen keyboard: arrows move over letters, OK types one.
func (a *App) buildSearch() {
	grid := tview.NewTable().SetSelectable(true, true)
	grid.SetSelectedStyle(tcell.StyleDefault.Background(focus).Foreground(ink).Bold(true))
	keys := strings.Split("A B C D E F G H I J K L M N O P Q R S T U V W X Y Z 0 1 2 3 4 5 6 7 8 9 ␣ ⌫ Done", " ")
	for i, k := range keys {
		grid.SetCell(i/9, i%9, tview.NewTableCell(" "+k+" ").SetAlign(tview.AlignCenter).SetExpansion(1))
	}
	text := tview.NewTextView().SetDynamicColors(true)
	box := tview.NewFlex().SetDirection(tview.FlexRow).AddItem(text, 2, 0, false).AddItem(grid, 0, 1, true)
	box.SetBorder(true).SetTitle(" Search by title ")
	a.pages.AddPage("search", box, true, false)
	a.refresh["search"] = func() { text.SetText(fmt.Sprintf(" Title contains: [#ffc800::b]%s_", tview.Escape(a.search))) }
	grid.SetSelectedFunc(func(r, c int) {
		switch k := keys[r*9+c]; k {
		case "⌫":
			if a.search != "" {
				a.search = a.search[:len(a.search)-1]
			}
		case "␣":
			a.search += " "
		case "Done":
			a.back()
			return
		default:
			a.search += strings.ToLower(k)
		}
		a.reload()
	})
}

func (a *App) buildItem(id string) {
	text := tview.NewTextView().SetDynamicColors(true)
	actions := newList()
	actions.SetTitle(" Choose ")
	body := tview.NewFlex().SetDirection(tview.FlexRow).AddItem(text, 10, 0, false).AddItem(actions, 0, 1, true)
	body.SetBorder(true)
	name := "item:" + id
	a.pages.AddPage(name, body, true, false)
	a.refresh[name] = func() {
		st, err := a.box.Item(id)
		if err != nil {
			a.fail(err)
			return
		}
		body.SetTitle(" " + tview.Escape(st.Title) + " ")
		state := st.State
		switch st.State {
		case "wished":
			state = fmt.Sprintf("on your wishlist, #%d", st.WishRank)
		case "downloading":
			pct := int64(0)
			if st.TotalPieces > 0 {
				pct = 100 * st.Pieces / st.TotalPieces
			}
			state = fmt.Sprintf("downloading %d%%  %s", pct, bar(st.Pieces, st.TotalPieces, 24))
			if lc, ok := a.local(id); ok {
				total := lc.BytesFromServer + lc.BytesFromPeers
				rate := a.meter.observe(id, total, time.Now())
				left, known := eta(total, lc.Pieces, lc.Total, rate)
				peers := 0
				if total > 0 {
					peers = int(100 * lc.BytesFromPeers / total)
				}
				// Rate and sources on rows of their own: one row would not fit 80 columns.
				state += fmt.Sprintf("\n            %s\n            %d%% from neighbours, %d%% from the operator", rateText(rate, left, known), peers, 100-peers)
			}
		case "bought":
			state = "bought — " + expiry(st.Expires)
		case "kept for neighbours":
			state = "kept for neighbours (not on your list)"
		}
		text.SetText(fmt.Sprintf("\n  [::b]%s[::-]\n\n  Kind      %s\n  Category  %s\n  Size      %s\n  Price     %s to own, %s to rent\n  State     [#ffc800::b]%s",
			tview.Escape(st.Title), st.Kind, tview.Escape(titleShelf(st.Category)), size(st.Size), money(st.PriceCents), money((st.PriceCents+2)/3), state))
		var opts []string
		var do []func()
		add := func(s string, f func()) { opts, do = append(opts, s), append(do, f) }
		switch st.State {
		case "bought":
			if rp, ok := a.resume.m[id]; ok {
				add("▶ Resume from "+clock(rp.Position), func() { a.play(id, st.Title, rp.Position) })
				add("▶ Play from the start", func() { a.play(id, st.Title, 0) })
			} else {
				add("▶ Play", func() { a.play(id, st.Title, 0) })
			}
		case "ready to buy", "license expired":
			add(fmt.Sprintf("Buy for %s", money(st.PriceCents)), func() { a.confirmBuy(st, false) })
			add(fmt.Sprintf("Rent for %s", money((st.PriceCents+2)/3)), func() { a.confirmBuy(st, true) })
		}
		if st.WishRank == 0 && (st.State == "not wished" || st.State == "kept for neighbours") {
			add("Add to wishlist", func() { a.wish(id, 1<<20) })
			add("Add to wishlist, most wanted", func() { a.wish(id, 1) })
		} else if st.WishRank > 0 {
			if st.WishRank > 1 {
				add("Move to the top of the wishlist", func() { a.wish(id, 1) })
			}
			add("Remove from wishlist", func() {
				if err := a.box.RemoveWish(id); err != nil {
					a.fail(err)
					return
				}
				a.say("Removed from your wishlist.")
				a.reload()
			})
		}
		fill(actions, opts, func(i int) { do[i]() })
	}
}

func expiry(unix int64) string {
	if unix == 0 {
		return ""
	}
	d := time.Until(time.Unix(unix, 0)).Round(time.Minute)
	if d > 48*time.Hour {
		return "licence renews by " + time.Unix(unix, 0).Format("2 Jan")
	}
	return "expires in " + d.String()
}

func (a *App) wish(id string, pos int) {
	if err := a.box.MoveWish(id, pos); err != nil {
		a.fail(err)
		return
	}
	a.say("On your wishlist. It will be fetched for you.")
	a.reload()
}

func (a *App) confirmBuy(st ItemState, rent bool) {
	price, verb := st.PriceCents, "Buy"
	if rent {
		price, verb = (st.PriceCents+2)/3, "Rent"
	}
	text := fmt.Sprintf("%s %s for %s?", verb, st.Title, money(price))
	switch status, balance, err := a.box.Account(); {
	case err != nil:
		text += "\n\nYour balance is not known yet; the purchase is refused if it is too low."
	case status != "active":
		text += fmt.Sprintf("\n\nYour account is %s: call the operator before buying.", status)
	case balance < price:
		text += fmt.Sprintf("\n\nYour balance is %s: top it up first.", money(balance))
	default:
		text += fmt.Sprintf("\n\nBalance %s, after %s.", money(balance), money(balance-price))
	}
	m := tview.NewModal().SetText(text).
		AddButtons([]string{verb, "Cancel"})
	m.SetBackgroundColor(bg).SetButtonBackgroundColor(dim).SetButtonTextColor(ink)
	m.SetButtonActivatedStyle(tcell.StyleDefault.Background(focus).Foreground(ink))
	m.SetDoneFunc(func(i int, label string) {
		a.pages.RemovePage("buy")
		if label == verb {
			charged, balance, err := a.box.Buy(st.ID, rent)
			if err != nil {
				a.fail(err)
			} else {
				a.say(fmt.Sprintf("Done: %s paid, balance %s. Press Play to watch.", money(charged), money(balance)))
			}
		}
		a.reload()
	})
	a.pages.AddPage("buy", m, true, true)
}

// local returns the box's transfer figures for one title.
func (a *App) local(id string) (Local, bool) {
	ls, err := a.box.Local()
	if err != nil {
		return Local{}, false
	}
	i := slices.IndexFunc(ls, func(l Local) bool { return l.ID == id })
	if i < 0 {
		return Local{}, false
	}
	return ls[i], true
}

// nowPlaying is the title on screen in the player overlay.
type nowPlaying struct {
	id, title, url string
	ctl            *mpv // nil when no player is configured or it could not start
}

// KeepPositions keeps resume points in path, so "Continue watching" survives a restart.
func (a *App) KeepPositions(path string) error {
	p, err := loadPositions(path)
	a.resume = p
	return err
}

func (a *App) play(id, title string, from float64) {
	url, err := a.box.Play(id)
	if err != nil {
		a.fail(err)
		return
	}
	a.playing = &nowPlaying{id: id, title: title, url: url}
	a.say(fmt.Sprintf("▶ Playing %s — Stop to end.", title))
	if a.player != "" {
		if a.playing.ctl, err = startMPV(a.player, url, from); err != nil {
			a.fail(err)
		}
	}
	a.open("player")
}

func (a *App) stopPlayback() {
	if a.playing == nil {
		return
	}
	if ctl := a.playing.ctl; ctl != nil {
		if st, err := ctl.Status(); err == nil {
			if err := a.resume.record(a.playing.id, st, time.Now()); err != nil {
				a.fail(err)
			}
		}
		ctl.Close()
	}
	a.playing = nil
	if err := a.box.Stop(); err != nil {
		a.fail(err)
	} else {
		a.say("Stopped.")
	}
	if a.stack[len(a.stack)-1] == "player" {
		a.back()
	}
}

// buildPlayer is the overlay while a title plays: position, play/pause, seek, stop.
func (a *App) buildPlayer() {
	text := tview.NewTextView().SetDynamicColors(true)
	text.SetBorder(true).SetTitle(" Now playing ")
	a.pages.AddPage("player", text, true, false)
	a.refresh["player"] = func() {
		p := a.playing
		if p == nil {
			text.SetText("\n  Nothing is playing.")
			return
		}
		var b strings.Builder
		fmt.Fprintf(&b, "\n  [::b]%s[::-]\n\n", tview.Escape(p.title))
		if p.ctl == nil {
			fmt.Fprintf(&b, "  No player is configured on this box.\n")
		} else if st, err := p.ctl.Status(); err != nil {
			fmt.Fprintf(&b, "  [red]The player does not answer: %s[-]\n", tview.Escape(err.Error()))
		} else {
			state := "▶ Playing"
			switch {
			case st.Ended:
				state = "■ Finished"
			case st.Paused:
				state = "⏸ Paused"
			}
			fmt.Fprintf(&b, "  [#ffc800::b]%s[-:-:-]\n\n  %s  %s / %s\n", state,
				bar(int64(st.Position*10), int64(max(st.Duration, st.Position)*10), 40), clock(st.Position), clock(st.Duration))
		}
		fmt.Fprintf(&b, "\n  [#9696aa]Stream: %s[-]", p.url)
		text.SetText(b.String())
	}
	a.keys["player"] = func(act Action) bool {
		p := a.playing
		if p == nil || p.ctl == nil {
			return false
		}
		var err error
		switch act {
		case ActPlayPause:
			err = p.ctl.TogglePause()
		case ActFastForward:
			err = p.ctl.Seek(30)
		case ActRewind:
			err = p.ctl.Seek(-10)
		default:
			return false
		}
		if err != nil {
			a.fail(err)
		}
		a.reload()
		return true
	}
}

// clock formats seconds as h:mm:ss or m:ss.
func clock(sec float64) string {
	s := int(sec)
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}

func (a *App) buildWishlist() {
	l := newList()
	l.SetTitle(" Wishlist — most wanted first ")
	a.pages.AddPage("wishlist", l, true, false)
	var ids []string
	a.refresh["wishlist"] = func() {
		var err error
		if ids, err = a.box.Wishlist(); err != nil {
			a.fail(err)
			return
		}
		var rows []string
		for i, id := range ids {
			st, err := a.box.Item(id)
			if err != nil {
				rows = append(rows, fmt.Sprintf("%2d. %s", i+1, id))
				continue
			}
			rows = append(rows, fmt.Sprintf("%2d. %-34s %s", i+1, tview.Escape(st.Title), st.State))
		}
		if len(rows) == 0 {
			rows = []string{"Your wishlist is empty: add titles from the catalog."}
		}
		fill(l, rows, func(i int) {
			if i < len(ids) {
				a.open("item:" + ids[i])
			}
		})
	}
	a.keys["wishlist"] = func(act Action) bool {
		i := l.GetCurrentItem()
		if i >= len(ids) {
			return false
		}
		switch act {
		case ActRed:
			if i > 0 {
				a.box.MoveWish(ids[i], i)
				l.SetCurrentItem(i - 1)
			}
		case ActGreen:
			if i < len(ids)-1 {
				a.box.MoveWish(ids[i], i+2)
				l.SetCurrentItem(i + 1)
			}
		case ActYellow:
			a.box.RemoveWish(ids[i])
		default:
			return false
		}
		a.reload()
		return true
	}
}

func (a *App) buildDownloads() {
	text := tview.NewTextView().SetDynamicColors(true)
	text.SetBorder(true).SetTitle(" Downloads ")
	a.pages.AddPage("downloads", text, true, false)
	a.refresh["downloads"] = func() {
		locals, err := a.box.Local()
		if err != nil {
			a.fail(err)
			return
		}
		cat, _ := a.box.Catalog()
		names := map[string]string{}
		for _, t := range cat {
			names[t.ID] = t.Title
		}
		slices.SortFunc(locals, func(x, y Local) int { return strings.Compare(names[x.ID], names[y.ID]) })
		var b strings.Builder
		for _, lc := range locals {
			state := "downloading"
			if lc.Complete {
				state = "ready"
			} else if st, err := a.box.Item(lc.ID); err == nil && st.State == "kept for neighbours" {
				// Part of the disk the box lends to the swarm: nothing to wait for.
				fmt.Fprintf(&b, "\n  [::b]%-30s[::-] %s %3d%%\n    kept for neighbours, not on your list\n",
					tview.Escape(cut(names[lc.ID], 30)), bar(int64(lc.Pieces), int64(lc.Total), 24), pct(lc.Pieces, lc.Total))
				continue
			}
			total := lc.BytesFromServer + lc.BytesFromPeers
			peers := 0
			if total > 0 {
				peers = int(100 * lc.BytesFromPeers / total)
			}
			if !lc.Complete {
				rate := a.meter.observe(lc.ID, total, time.Now())
				left, known := eta(total, lc.Pieces, lc.Total, rate)
				state = rateText(rate, left, known)
			}
			// Two lines of at most 76 cells, so an 80-column console shows each title whole.
			fmt.Fprintf(&b, "\n  [::b]%-30s[::-] %s %3d%%\n    %s · from neighbours %d%%, the operator %d%%\n",
				tview.Escape(cut(names[lc.ID], 30)), bar(int64(lc.Pieces), int64(lc.Total), 24), pct(lc.Pieces, lc.Total), state, peers, 100-peers)
		}
		if len(locals) == 0 {
			b.WriteString("\n  Nothing yet: titles on your wishlist appear here while they arrive.")
		}
		text.SetText(b.String())
	}
}

func pct(a, b int32) int {
	if b <= 0 {
		return 0
	}
	return int(100 * int64(a) / int64(b))
}
