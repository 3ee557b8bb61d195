package ui

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gdamore/tcell/v2"
	"github.com/godbus/dbus/v5"

	"swarmbox/firmware/boxbus"
)

func TestModelAppliesEvents(t *testing.T) {
	owner := func(s string) *string { return &s }
	for _, tc := range []struct {
		name  string
		ev    boxbus.Event
		check func(s *snapshot) string // "" when s is right
		stale bool                     // a reload is due
	}{
		{"progress", boxbus.Event{Item: &boxbus.Change{Item: id(1), State: boxbus.Downloading, Pieces: 20, Total: 40, BytesFromPeers: 7}},
			func(s *snapshot) string {
				it, _ := s.item(id(1))
				return want(it.Pieces == 20 && it.BytesFromPeers == 7, "progress not applied: %+v", it)
			}, false},
		{"a new state reads the item for what the signal lacks", boxbus.Event{Item: &boxbus.Change{Item: id(2), State: boxbus.Bought, Pieces: 40, Total: 40}},
			func(s *snapshot) string {
				it, _ := s.item(id(2))
				return want(it.State == boxbus.Bought && it.Expires == 1<<40, "bought without its licence: %+v", it)
			}, false},
		{"removed", boxbus.Event{Item: &boxbus.Change{Item: id(1), State: boxbus.Removed}},
			func(s *snapshot) string {
				it, _ := s.item(id(1))
				return want(it.State == boxbus.NotWished && it.Pieces == 0 && !s.isLocal(id(1)) && !slices.Contains(s.wishlist, id(1)), "removed title still there: %+v %v", it, s.local)
			}, false},
		{"unknown title", boxbus.Event{Item: &boxbus.Change{Item: "new", State: boxbus.Wished}},
			func(*snapshot) string { return "" }, true},
		{"wishlist", boxbus.Event{Properties: map[string]dbus.Variant{boxbus.PropWishlist: dbus.MakeVariant([]string{id(3), id(1)})}},
			func(s *snapshot) string {
				a, _ := s.item(id(3))
				b, _ := s.item(id(1))
				return want(a.WishRank == 1 && b.WishRank == 2, "ranks %d, %d", a.WishRank, b.WishRank)
			}, false},
		{"account", boxbus.Event{Properties: map[string]dbus.Variant{boxbus.PropBalanceCents: dbus.MakeVariant(int64(42)), boxbus.PropAccountStatus: dbus.MakeVariant("suspended"), boxbus.PropNowPlaying: dbus.MakeVariant(id(2))}},
			func(s *snapshot) string {
				return want(s.balanceCents == 42 && s.accountStatus == "suspended" && s.nowPlaying == id(2), "account %q %d, playing %q", s.accountStatus, s.balanceCents, s.nowPlaying)
			}, false},
		{"catalog version", boxbus.Event{Properties: map[string]dbus.Variant{boxbus.PropCatalogVersion: dbus.MakeVariant(int64(2))}},
			func(*snapshot) string { return "" }, true},
		{"the daemon left", boxbus.Event{Owner: owner("")},
			func(s *snapshot) string {
				return want(s.trust != nil && strings.Contains(s.trust.Error(), "not answering"), "trust %v", s.trust)
			}, true},
		{"a daemon came", boxbus.Event{Owner: owner(":1.7")},
			func(*snapshot) string { return "" }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			box := downloadingBox()
			box.wishlist = []string{id(1)}
			box.setRanks()
			m := newModel(box, defaultConfig(""), func(*snapshot) {})
			s, err := m.load(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			box.items[1].State, box.items[1].Expires = boxbus.Bought, 1<<40 // what Item tells after the purchase
			m.snap = s
			next := s.clone()
			m.apply(context.Background(), next, tc.ev)
			if msg := tc.check(next); msg != "" {
				t.Error(msg)
			}
			if m.stale != tc.stale {
				t.Errorf("reload due %v, want %v", m.stale, tc.stale)
			}
			if it, _ := s.item(id(1)); it.Pieces != 10 || len(s.wishlist) != 1 {
				t.Errorf("the published snapshot changed: %+v %v", it, s.wishlist)
			}
		})
	}
}

func id(n int) string { return fmt.Sprintf("%032x", n) }

func want(ok bool, format string, args ...any) string {
	if ok {
		return ""
	}
	return fmt.Sprintf(format, args...)
}

// running runs a's UI on a simulated 100×30 console until the test ends.
func running(t testing.TB, a *App) tcell.SimulationScreen {
	t.Helper()
	sim := tcell.NewSimulationScreen("UTF-8")
	if err := sim.Init(); err != nil {
		t.Fatal(err)
	}
	sim.SetSize(100, 30)
	a.app.SetScreen(sim)
	stop := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- a.Run(stop) }()
	t.Cleanup(func() {
		close(stop)
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return sim
}

// see waits until the screen shows every string of want, and returns it.
func see(t *testing.T, a *App, sim tcell.SimulationScreen, timeout time.Duration, want ...string) string {
	t.Helper()
	var screen string
	for deadline := time.Now().Add(timeout); ; time.Sleep(10 * time.Millisecond) {
		got := make(chan string, 1)
		a.app.QueueUpdate(func() { got <- strings.Join(rows(sim), "\n") })
		screen = <-got
		missing := slices.IndexFunc(want, func(w string) bool { return !strings.Contains(screen, w) })
		if missing < 0 {
			return screen
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v the screen lacks %q:\n%s", timeout, want[missing], screen)
		}
	}
}

func fastTimeouts(c *Config) {
	c.CallTimeout, c.BuyTimeout, c.Probe, c.Heartbeat = 100*time.Millisecond, 200*time.Millisecond, 50*time.Millisecond, 100*time.Millisecond
}

// TestBoxNotAnswering: a box whose calls hang (a stopped daemon keeps its bus name) costs each
// call its deadline; the TV says so on a line of its own, keeps navigating what it has, and
// recovers by itself when the box answers again.
func TestBoxNotAnswering(t *testing.T) {
	box := downloadingBox()
	a := New(box, "", fastTimeouts)
	sim := running(t, a)
	see(t, a, sim, 5*time.Second, "Browse the catalog", "Downloading        Drama One")

	box.pause()
	see(t, a, sim, 5*time.Second, "The box is not answering.", "restart the box")
	// Navigation works from what the TV has.
	a.app.QueueEvent(tcell.NewEventKey(tcell.KeyEnter, 0, tcell.ModNone))
	see(t, a, sim, 2*time.Second, "Catalog — all titles (5)", "Jazz Three", "The box is not answering.")
	// An action waits its deadline, not forever, and says nothing of its own.
	a.app.QueueEvent(tcell.NewEventKey(tcell.KeyEnter, 0, tcell.ModNone)) // Drama One
	see(t, a, sim, 2*time.Second, "State     downloading")
	box.mu.Lock()
	box.items[0].State = boxbus.ReadyToBuy // changed while the TV could not hear it
	box.mu.Unlock()

	box.resume()
	see(t, a, sim, 5*time.Second, "The box is answering again.", "State     ready to buy", "Buy for €3.99")
	if s := see(t, a, sim, time.Second); strings.Contains(s, "not answering") {
		t.Errorf("the line stays after the box answers:\n%s", s)
	}
}

// TestBoxNotAnsweringCommand: a household's action that finds the box stuck shows the same line
// at once, without waiting for the next check.
func TestBoxNotAnsweringCommand(t *testing.T) {
	box := shelvedBox()
	a := New(box, "", fastTimeouts, func(c *Config) { c.Heartbeat = time.Hour })
	sim := running(t, a)
	see(t, a, sim, 5*time.Second, "Browse the catalog")
	a.app.QueueUpdateDraw(func() { a.push(newItem(a, id(1))) })
	see(t, a, sim, 2*time.Second, "Add to wishlist")
	box.pause()
	a.app.QueueEvent(tcell.NewEventKey(tcell.KeyEnter, 0, tcell.ModNone)) // Add to wishlist
	s := see(t, a, sim, 2*time.Second, "The box is not answering.")
	if strings.Contains(s, "deadline") {
		t.Errorf("the raw error is on screen:\n%s", s)
	}
	box.resume()
	see(t, a, sim, 5*time.Second, "The box is answering again.")
	box.mu.Lock()
	wl := slices.Clone(box.wishlist)
	box.mu.Unlock()
	if len(wl) != 0 {
		t.Errorf("a wish that timed out was made: %v", wl)
	}
}

// TestOwnerLeaves: the bus says the daemon left; the TV says so without a call timing out, and
// reloads everything when a daemon owns the name again.
func TestOwnerLeaves(t *testing.T) {
	box := shelvedBox()
	a := New(box, "", func(c *Config) { c.Probe, c.Heartbeat = time.Hour, time.Hour })
	sim := running(t, a)
	see(t, a, sim, 5*time.Second, "Browse the catalog")
	gone, back := "", ":1.9"
	box.events <- boxbus.Event{Owner: &gone}
	see(t, a, sim, time.Second, "The box is not answering.")
	box.mu.Lock()
	box.set(1, boxbus.ReadyToBuy, 40, 40, 0, 1)
	box.mu.Unlock()
	box.events <- boxbus.Event{Owner: &back}
	see(t, a, sim, time.Second, "The box is answering again.", "Ready to buy       Comedy Two")
}

// TestEventsRedraw: a change the box announces is on screen without any call from the TV.
func TestEventsRedraw(t *testing.T) {
	box := downloadingBox()
	a := New(box, "", func(c *Config) { c.Probe, c.Heartbeat = time.Hour, time.Hour })
	sim := running(t, a)
	see(t, a, sim, 5*time.Second, "Browse the catalog")
	a.app.QueueUpdateDraw(func() { a.push(newDownloads(a)) })
	see(t, a, sim, time.Second, " 25%")
	box.mu.Lock()
	calls := box.calls
	box.mu.Unlock()
	box.events <- boxbus.Event{Item: &boxbus.Change{Item: id(1), State: boxbus.Downloading, Pieces: 30, Total: 40, BytesFromServer: 1, BytesFromPeers: 3}}
	see(t, a, sim, time.Second, " 75%", "3 B from neighbours, 1 B from the operator")
	box.mu.Lock()
	defer box.mu.Unlock()
	if box.calls != calls {
		t.Errorf("%d calls to the box for a progress signal", box.calls-calls)
	}
}

// TestCatalogArrivesUnannounced: a box that had no catalog at the TV's start gets one; the TV
// lists it even when the box does not say so.
func TestCatalogArrivesUnannounced(t *testing.T) {
	box := newFakeBox()
	a := New(box, "", fastTimeouts)
	sim := running(t, a)
	see(t, a, sim, 5*time.Second, "Browse the catalog")
	a.app.QueueEvent(tcell.NewEventKey(tcell.KeyEnter, 0, tcell.ModNone))
	see(t, a, sim, time.Second, "Catalog — all titles (0)")
	full := shelvedBox()
	box.mu.Lock()
	box.items = full.items
	box.mu.Unlock()
	see(t, a, sim, 2*time.Second, "Catalog — all titles (5)", "Kids Four", "films (2)")
}
