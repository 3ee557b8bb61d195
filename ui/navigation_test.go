package ui

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gdamore/tcell/v2"

	"swarmbox/firmware/boxbus"
	"swarmbox/hw/remote"
)

// onUI runs f on the drawing goroutine of a running UI and returns what it returned.
func onUI[T any](a *App, f func() T) T {
	got := make(chan T, 1)
	a.app.QueueUpdateDraw(func() { got <- f() })
	return <-got
}

// waitUI waits until cond holds on the drawing goroutine of a running UI.
func waitUI(t *testing.T, a *App, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !onUI(a, cond); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("still not so after 5 s: %s", what)
		}
	}
}

// typeRunes sends runes as the application would (see press).
func typeRunes(a *App, rs ...rune) {
	for _, r := range rs {
		ev := a.onKey(tcell.NewEventKey(tcell.KeyRune, r, tcell.ModNone))
		if ev == nil {
			continue
		}
		if h := a.app.GetFocus().InputHandler(); h != nil {
			h(ev, nil)
		}
	}
}

// currentRow is the text of the row in focus of a list screen.
func currentRow(t *testing.T, a *App) string {
	t.Helper()
	var l interface {
		GetCurrentItem() int
		GetItemText(int) (string, string)
	}
	switch s := a.nav.top().(type) {
	case *homeScreen:
		l = s.list
	case *itemScreen:
		l = s.actions
	case *wishlistScreen:
		l = s.list
	case *catalogScreen:
		l = s.list
	default:
		t.Fatalf("no list on %T", s)
	}
	main, _ := l.GetItemText(l.GetCurrentItem())
	return stripTags(main)
}

// TestTVNavigation (UI-3): navigation without surprises, as a household with a remote meets it.
func TestTVNavigation(t *testing.T) {
	t.Run("a search is visible on the catalog until Blue clears it", func(t *testing.T) {
		a := loaded(t, shelvedBox())
		sim := console(a, 80, 24)
		a.push(newCatalog(a))
		press(a, tcell.KeyF4) // Blue: the keyboard
		if _, ok := a.nav.top().(*searchScreen); !ok {
			t.Fatalf("Blue opened %s, want the search keyboard", a.nav.top().Name())
		}
		// D is the fourth key of the first row, R the last of the second.
		press(a, tcell.KeyRight, tcell.KeyRight, tcell.KeyRight, tcell.KeyEnter, tcell.KeyDown, tcell.KeyRight, tcell.KeyRight, tcell.KeyRight, tcell.KeyRight, tcell.KeyRight, tcell.KeyEnter)
		if a.filter.search != "dr" {
			t.Fatalf("typed %q, want dr", a.filter.search)
		}
		press(a, tcell.KeyEscape)
		searched := func(when string) {
			t.Helper()
			c := a.nav.top().(*catalogScreen)
			screen := strings.Join(onScreen(a, sim), "\n")
			_, rows := listed(t, a)
			for _, want := range []string{`Search "dr": 1 of 5 ·  Blue  clears`, "Category", " all (1) ", "films (1)", "kids (0)", "Blue  clear search"} {
				if !strings.Contains(screen, want) {
					t.Errorf("%s: the catalog lacks %q:\n%s", when, want, screen)
				}
			}
			if fmt.Sprint(rows) != "[Drama One]" || c.shelfLine.shelves[0].titles != 1 {
				t.Errorf("%s: rows %v, shelves %v; want [Drama One] under all (1)", when, rows, c.shelfLine.shelves)
			}
		}
		searched("after the search")
		press(a, tcell.KeyEscape, tcell.KeyEnter) // Home, then the catalog again
		searched("reopened")
		press(a, tcell.KeyF4) // Blue again: cleared
		screen := strings.Join(onScreen(a, sim), "\n")
		if _, rows := listed(t, a); len(rows) != 5 || strings.Contains(screen, `Search "`) || !strings.Contains(screen, "all (5)") || !strings.Contains(screen, "Search cleared") || a.filter.search != "" {
			t.Errorf("after Blue: rows %v, filter %+v:\n%s", rows, a.filter, screen)
		}
	})

	t.Run("a digit opens the same title after a state change that regroups Home", func(t *testing.T) {
		a := loaded(t, downloadingBox())
		jump := func(digit rune, want ...string) {
			t.Helper()
			typeRunes(a, digit)
			row := currentRow(t, a)
			if !strings.HasPrefix(row, string(digit)+" ") {
				t.Errorf("digit %c: row %q does not show it", digit, row)
			}
			for _, w := range want {
				if !strings.Contains(row, w) {
					t.Errorf("digit %c: row %q lacks %q", digit, row, w)
				}
			}
		}
		jump('4', "Ready to buy", "Comedy Two")
		jump('5', "Downloading", "Drama One")
		// Drama One is bought: its group ("Ready to watch") comes first, but its row stays.
		s := a.model.snap.clone()
		it, _ := s.item(id(1))
		it.State, it.Pieces, it.Expires = boxbus.Bought, it.TotalPieces, 1<<40
		s.setItem(it)
		a.model.snap = s
		a.show(s)
		jump('5', "Ready to watch", "Drama One")
		jump('4', "Ready to buy", "Comedy Two")
		// The catalog, the title's choices and the wishlist show their digits too.
		a.push(newCatalog(a))
		jump('3', "Jazz Three")
		a.push(newItem(a, id(2)))
		jump('2', "Rent for")
	})

	t.Run("a digit opens the same title after the UI restarts", func(t *testing.T) {
		positions := filepath.Join(t.TempDir(), "positions.json")
		start := func(box Box, keep bool) *App {
			a := New(box, "")
			if keep {
				if err := a.KeepPositions(positions); err != nil {
					t.Fatal(err)
				}
			}
			return loadedApp(t, a)
		}
		row := func(a *App, digit rune) string { typeRunes(a, digit); return currentRow(t, a) }
		// Drama One is bought while the UI is down: listed afresh it would be row 4, first.
		bought := func() Box {
			b := downloadingBox()
			it := &b.items[0]
			it.State, it.Pieces, it.Expires = boxbus.Bought, it.TotalPieces, 1<<40
			b.local[0].Pieces, b.local[0].Complete = it.TotalPieces, true
			return b
		}
		a := start(downloadingBox(), true)
		if r4, r5 := row(a, '4'), row(a, '5'); !strings.Contains(r4, "Comedy Two") || !strings.Contains(r5, "Drama One") {
			t.Fatalf("before the restart: rows 4 and 5 are %q and %q", r4, r5)
		}
		if r4 := row(start(bought(), false), '4'); !strings.Contains(r4, "Drama One") {
			t.Fatalf("listed afresh, row 4 is %q: the restart would not change the order", r4)
		}
		a = start(bought(), true)
		if r4, r5 := row(a, '4'), row(a, '5'); !strings.Contains(r4, "Comedy Two") || !strings.Contains(r5, "Ready to watch     Drama One") {
			t.Errorf("after the restart: rows 4 and 5 are %q and %q, want Comedy Two and Drama One as before", r4, r5)
		}
		// A damaged file is set aside and Home lists afresh.
		kept := filepath.Join(filepath.Dir(positions), homeOrderFile)
		if err := os.WriteFile(kept, []byte("[\"unfinished"), 0o600); err != nil {
			t.Fatal(err)
		}
		a = New(bought(), "")
		if err := a.KeepPositions(positions); err == nil || !strings.Contains(err.Error(), "set aside") {
			t.Errorf("a damaged order file: %v", err)
		}
		if _, err := os.Stat(kept + ".damaged"); err != nil {
			t.Errorf("the damaged file was not kept for a look: %v", err)
		}
	})

	for _, rent := range []bool{false, true} {
		t.Run(fmt.Sprintf("Play is in focus after buying (rent %v)", rent), func(t *testing.T) {
			box := downloadingBox()
			box.wishlist = []string{id(1), id(2)} // so Rent sits above "Move to the top of the wishlist"
			box.setRanks()
			a := New(box, "", func(c *Config) { c.Probe, c.Heartbeat = time.Hour, time.Hour })
			sim := running(t, a)
			see(t, a, sim, 5*time.Second, "Comedy Two")
			onUI(a, func() bool { a.push(newItem(a, id(2))); return true })
			see(t, a, sim, 2*time.Second, "Move to the top of the wishlist")
			if rent {
				a.app.QueueEvent(tcell.NewEventKey(tcell.KeyDown, 0, tcell.ModNone))
			}
			a.app.QueueEvent(tcell.NewEventKey(tcell.KeyEnter, 0, tcell.ModNone)) // Buy or Rent…
			see(t, a, sim, 2*time.Second, "Comedy Two for")
			a.app.QueueEvent(tcell.NewEventKey(tcell.KeyEnter, 0, tcell.ModNone)) // …confirmed
			see(t, a, sim, 2*time.Second, "paid", "▶ Play")
			if row := onUI(a, func() string { return currentRow(t, a) }); !strings.Contains(row, "▶ Play") {
				t.Errorf("after buying the focus is on %q, want Play", row)
			}
		})
	}

	t.Run("Back closes the dialog only, and help over it only the help", func(t *testing.T) {
		a := loaded(t, downloadingBox())
		a.push(newItem(a, id(2)))
		visible := func() string { return visiblePages(a) }
		for _, step := range []struct {
			name, visible string
			do            func()
		}{
			{"OK on Buy opens the dialog over the title", "[Title Title]", func() { press(a, tcell.KeyEnter) }},
			{"Info opens help over both", "[Help]", func() { typeRunes(a, 'i') }},
			{"Back closes the help only", "[Title Title]", func() { press(a, tcell.KeyEscape) }},
			{"Back closes the dialog only", "[Title]", func() { press(a, tcell.KeyEscape) }},
		} {
			step.do()
			if got := visible(); got != step.visible {
				t.Fatalf("%s: visible %s, want %s", step.name, got, step.visible)
			}
		}
		if _, ok := a.nav.top().(*itemScreen); !ok || len(a.nav.stack) != 2 {
			t.Errorf("on top %s, %d screens; want the title over Home", a.nav.top().Name(), len(a.nav.stack))
		}
	})

	t.Run("a held Back on the remote closes the dialog only", func(t *testing.T) {
		a := New(downloadingBox(), "", func(c *Config) { c.Probe, c.Heartbeat = time.Hour, time.Hour })
		sim := running(t, a)
		see(t, a, sim, 5*time.Second, "Comedy Two")
		onUI(a, func() bool { a.push(newItem(a, id(2))); return true })
		see(t, a, sim, 2*time.Second, "Buy for")
		a.PressRemote(remote.Press{Button: remote.OK})
		see(t, a, sim, 2*time.Second, "Buy Comedy Two for")
		for _, repeat := range []bool{false, true, true, true} { // pressed, then held
			a.PressRemote(remote.Press{Button: remote.Back, Repeat: repeat})
		}
		a.PressRemote(remote.Press{Button: remote.Down, Repeat: true}) // a held arrow still moves
		waitUI(t, a, "the dialog closed and the focus moved to Rent", func() bool {
			s, ok := a.nav.top().(*itemScreen)
			return ok && s.actions.GetCurrentItem() == 1
		})
		if n := onUI(a, func() int { return len(a.nav.stack) }); n != 2 {
			t.Errorf("%d screens open, want Home and the title", n)
		}
	})

	t.Run("Yellow removes a wish and Yellow again puts it back at its place", func(t *testing.T) {
		box := shelvedBox()
		box.wishlist = []string{id(1), id(4), id(5)}
		box.setRanks()
		a := New(box, "", func(c *Config) { c.Probe, c.Heartbeat = time.Hour, time.Hour })
		sim := running(t, a)
		see(t, a, sim, 5*time.Second, "Browse the catalog")
		onUI(a, func() bool { a.push(newWishlist(a)); return true })
		see(t, a, sim, 2*time.Second, " 2. Kids Four")
		a.app.QueueEvent(tcell.NewEventKey(tcell.KeyDown, 0, tcell.ModNone))
		a.app.QueueEvent(tcell.NewEventKey(tcell.KeyF3, 0, tcell.ModNone))
		see(t, a, sim, 2*time.Second, "Removed Kids Four from your wishlist · Yellow again to undo", " Yellow  undo", " 2. Manual")
		wl, _ := box.Wishlist(context.Background())
		if !slices.Equal(wl, []string{id(1), id(5)}) {
			t.Fatalf("the box's wishlist after the removal: %v", wl)
		}
		a.app.QueueEvent(tcell.NewEventKey(tcell.KeyF3, 0, tcell.ModNone))
		see(t, a, sim, 2*time.Second, "Kids Four is back on your wishlist at #2.", " 2. Kids Four", " Yellow  remove")
		if wl, _ := box.Wishlist(context.Background()); !slices.Equal(wl, []string{id(1), id(4), id(5)}) {
			t.Errorf("the box's wishlist after the undo: %v, want Kids Four second again", wl)
		}
	})

	t.Run("Info shows every key of each screen's bottom line, whole at 80x24 and within the box's safe area", func(t *testing.T) {
		for _, safe := range []int{0, 5} {
			for _, c := range []struct {
				name string
				open func(a *App) screen
			}{
				{"home", nil},
				{"catalog", func(a *App) screen { return newCatalog(a) }},
				{"catalog searched", func(a *App) screen { a.filter.search = "o"; return newCatalog(a) }},
				{"search", func(a *App) screen { return newSearch(a) }},
				{"title", func(a *App) screen { return newItem(a, id(2)) }},
				{"buy dialog", func(a *App) screen { it, _ := a.snap.item(id(2)); return newBuy(a, it, true) }},
				{"wishlist", func(a *App) screen { return newWishlist(a) }},
				{"downloads", func(a *App) screen { return newDownloads(a) }},
				{"player", func(a *App) screen { return &playingScreen{a: a, text: newPlayingText()} }},
			} {
				t.Run(fmt.Sprintf("%s/safe%d", c.name, safe), func(t *testing.T) {
					box := downloadingBox()
					box.wishlist = []string{id(4), id(5)}
					box.setRanks()
					a := loaded(t, box, WithSafeArea(safe))
					sim := console(a, 80, 24+safe/5)
					if c.open != nil {
						a.push(c.open(a))
					}
					under := a.nav.top()
					footer := under.Keys()
					typeRunes(a, 'i')
					if _, ok := a.nav.top().(*helpScreen); !ok {
						t.Fatalf("Info opened %s, want help", a.nav.top().Name())
					}
					rows := onScreen(a, sim)
					for _, k := range helpKeys(under) {
						line := fmt.Sprintf("%-10s %s", k.key, k.what)
						if !slices.ContainsFunc(rows, func(r string) bool { return strings.Contains(r, line) }) {
							t.Errorf("no row holds %q whole:\n%s", line, strings.Join(rows, "\n"))
						}
					}
					for _, k := range footer {
						if !slices.ContainsFunc(helpKeys(under), func(h keyHelp) bool { return h.key == k.key }) {
							t.Errorf("help leaves out %q of the bottom line", k.key)
						}
					}
					typeRunes(a, 'i')
					if a.nav.top() != under {
						t.Errorf("Info again left %s on top", a.nav.top().Name())
					}
				})
			}
		}
	})

	t.Run("bottom lines name only keys that do something", func(t *testing.T) {
		a := loaded(t, newFakeBox(boxbus.Item{ID: id(1), Title: "Only", Kind: "video", PriceCents: 100}))
		sim := console(a, 80, 24)
		for _, c := range []struct {
			s       screen
			without []string
		}{
			{a.home, []string{"Back", "Home"}},                                // nowhere to go back to
			{newDownloads(a), []string{"OK", "0–9"}},                          // nothing on the box
			{newWishlist(a), []string{"OK", "0–9", "Red", "Green", "Yellow"}}, // an empty wishlist
			{newItem(a, id(9)), []string{"OK", "0–9"}},                        // a title the catalog no longer has
		} {
			if c.s != a.home {
				a.push(c.s)
			}
			rows := onScreen(a, sim)
			bottom := rows[len(rows)-1]
			for _, w := range c.without {
				if strings.Contains(bottom, " "+w+" ") {
					t.Errorf("%s: the bottom line offers %q:\n%s", c.s.Name(), w, bottom)
				}
			}
		}
	})
}
