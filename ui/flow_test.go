package ui

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/gdamore/tcell/v2"

	"swarmbox/firmware/boxbus"
	"swarmbox/player"
)

// fakePlayer is a player at 12:34 of 1:30:00 that pauses and seeks.
type fakePlayer struct {
	mu      sync.Mutex
	st      player.Status
	stopped bool
	silent  bool // Status fails, as a player too busy to answer
}

func (p *fakePlayer) TogglePause(context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.st.Paused = !p.st.Paused
	return nil
}

func (p *fakePlayer) Seek(_ context.Context, d float64) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.st.Position += d
	return nil
}

func (p *fakePlayer) Status(context.Context) (player.Status, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.silent {
		return player.Status{}, context.DeadlineExceeded
	}
	return p.st, nil
}

func (p *fakePlayer) Stop() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stopped = true
	return nil
}

// TestHouseholdFlow walks the remote's path of the e2e test against a fake box that announces
// nothing: what the TV shows after each action comes from the action's own read-back.
func TestHouseholdFlow(t *testing.T) {
	box := downloadingBox()
	a := New(box, "mpv", func(c *Config) { c.Probe, c.Heartbeat = time.Hour, time.Hour })
	fp := &fakePlayer{st: player.Status{Position: 754, Duration: 5400}}
	var from float64
	a.startPlayer = func(_ context.Context, command, url string, start float64) (playback, error) {
		from = start
		return fp, nil
	}
	sim := running(t, a)
	keys := func(ks ...tcell.Key) {
		for _, k := range ks {
			a.app.QueueEvent(tcell.NewEventKey(k, 0, tcell.ModNone))
		}
	}
	runes := func(rs ...rune) {
		for _, r := range rs {
			a.app.QueueEvent(tcell.NewEventKey(tcell.KeyRune, r, tcell.ModNone))
		}
	}
	see(t, a, sim, 5*time.Second, "Browse the catalog", "Ready to buy       Comedy Two")

	// Wish two titles from the catalog, then reorder them on the wishlist.
	keys(tcell.KeyEnter, tcell.KeyDown, tcell.KeyDown, tcell.KeyDown, tcell.KeyEnter) // Kids Four
	see(t, a, sim, 2*time.Second, "Add to wishlist", "€1.99 to own")
	keys(tcell.KeyEnter)
	see(t, a, sim, 2*time.Second, "On your wishlist", "on your wishlist, #1")
	keys(tcell.KeyEscape, tcell.KeyDown, tcell.KeyEnter, tcell.KeyDown, tcell.KeyEnter) // Manual; Add to wishlist, most wanted
	see(t, a, sim, 2*time.Second, "on your wishlist, #1")
	keys(tcell.KeyHome, tcell.KeyDown, tcell.KeyEnter)
	see(t, a, sim, 2*time.Second, " 1. Manual", " 2. Kids Four")
	keys(tcell.KeyDown, tcell.KeyF1) // Red: up
	see(t, a, sim, 2*time.Second, " 1. Kids Four", " 2. Manual")
	keys(tcell.KeyF3) // Yellow: remove the focused one
	see(t, a, sim, 2*time.Second, " 1. Manual")

	// Buy the title that is ready, then play, pause, seek and stop it.
	keys(tcell.KeyHome)
	runes('4') // the fourth entry: Ready to buy Comedy Two
	keys(tcell.KeyEnter)
	see(t, a, sim, 2*time.Second, "Buy for €2.99", "Rent for €1.00, 2 days")
	keys(tcell.KeyEnter)
	see(t, a, sim, 2*time.Second, "Buy Comedy Two for €2.99?", "Balance €10.00, after", "€7.01.")
	keys(tcell.KeyEnter)
	see(t, a, sim, 2*time.Second, "Done: it is yours. €2.99 paid, balance €7.01.", "▶ Play")
	keys(tcell.KeyEnter)
	see(t, a, sim, 2*time.Second, "Starting Comedy Two", "▶ Playing", "12:34 / 1:30:00")
	runes(' ')
	see(t, a, sim, 2*time.Second, "‖ Paused")
	runes('f')
	see(t, a, sim, 2*time.Second, "13:04 / 1:30:00")
	runes('s')
	see(t, a, sim, 2*time.Second, "Stopped.")
	keys(tcell.KeyHome)
	see(t, a, sim, 2*time.Second, "Continue watching  Comedy Two")
	runes('4')
	keys(tcell.KeyEnter)
	see(t, a, sim, 2*time.Second, "▶ Resume from 13:04", "▶ Play from the start")
	keys(tcell.KeyEnter)
	see(t, a, sim, 2*time.Second, "Starting Comedy Two")
	if from != 784 {
		t.Errorf("resumed from %v, want 784", from)
	}
	keys(tcell.KeyEscape) // Back on the player stops it
	see(t, a, sim, 2*time.Second, "Stopped.", "Resume from")
	fp.mu.Lock()
	defer fp.mu.Unlock()
	if !fp.stopped {
		t.Error("the player was not stopped")
	}
	if it, _ := box.Item(context.Background(), id(2)); it.State != boxbus.Bought {
		t.Errorf("the box has the title %s", it.State)
	}
}

// TestStopKeepsWhereThePlayerLastWas: a player too busy to answer at Stop (a loaded box) still
// leaves a resume point, the position it gave at its last answer.
func TestStopKeepsWhereThePlayerLastWas(t *testing.T) {
	box := downloadingBox()
	a := New(box, "mpv", func(c *Config) { c.Probe, c.Heartbeat = time.Hour, time.Hour })
	fp := &fakePlayer{st: player.Status{Position: 754, Duration: 5400}}
	a.startPlayer = func(context.Context, string, string, float64) (playback, error) { return fp, nil }
	sim := running(t, a)
	key := func(k tcell.Key, r rune) { a.app.QueueEvent(tcell.NewEventKey(k, r, tcell.ModNone)) }
	see(t, a, sim, 5*time.Second, "Ready to buy       Comedy Two")
	key(tcell.KeyRune, '4')
	key(tcell.KeyEnter, 0)
	see(t, a, sim, 2*time.Second, "Buy for €2.99")
	key(tcell.KeyEnter, 0)
	key(tcell.KeyEnter, 0)
	see(t, a, sim, 2*time.Second, "▶ Play")
	key(tcell.KeyEnter, 0)
	see(t, a, sim, 2*time.Second, "▶ Playing", "12:34 / 1:30:00")
	fp.mu.Lock()
	fp.silent = true
	fp.mu.Unlock()
	key(tcell.KeyRune, 's')
	see(t, a, sim, 5*time.Second, "Stopped.", "▶ Resume from 12:34")
}
