package ui

import (
	"strings"
	"testing"
	"time"

	"github.com/gdamore/tcell/v2"
	"github.com/godbus/dbus/v5"

	"swarmbox/firmware/boxbus"
)

// TestOfflineLineShowsAndClears: a box offline since 14:05 shows a quiet line with what still
// works (no modal), its Buy dialog says buying needs the connection, a purchase refused with
// org.swarmbox.Error.Offline shows the box's sentence, and the line goes when the box is back.
func TestOfflineLineShowsAndClears(t *testing.T) {
	since := time.Date(2026, 12, 2, 14, 5, 0, 0, time.Local)
	box := downloadingBox()
	box.link = boxbus.Link{Online: false, OfflineSince: since.Unix(), Registered: true}
	a := New(box, "", func(c *Config) { c.Probe, c.Heartbeat = time.Hour, time.Hour })
	sim := running(t, a)
	see(t, a, sim, 5*time.Second, "Offline since 14:05 — your titles still play.", "Browse the catalog")

	// The title ready to buy: its Buy dialog warns before the household presses anything.
	a.app.QueueEvent(tcell.NewEventKey(tcell.KeyRune, '4', tcell.ModNone))
	for _, k := range []tcell.Key{tcell.KeyEnter, tcell.KeyEnter} {
		a.app.QueueEvent(tcell.NewEventKey(k, 0, tcell.ModNone))
	}
	see(t, a, sim, 2*time.Second, "Buy Comedy Two for €2.99?", "Buying needs the", "offline since 14:05. Your") // the dialog wraps
	msg := "buying needs the connection to the operator, and the box has been offline since 14:05. Your titles still play; try again when the connection is back"
	box.mu.Lock()
	box.buyErr = &boxbus.Error{Name: boxbus.ErrOffline, Message: msg}
	box.mu.Unlock()
	a.app.QueueEvent(tcell.NewEventKey(tcell.KeyEnter, 0, tcell.ModNone))
	see(t, a, sim, 2*time.Second, "Buying needs the connection; offline since 14:05. Your titles still play.")

	// Back online: the line clears by itself (once the refusal's message has had its time).
	box.events <- boxbus.Event{Properties: map[string]dbus.Variant{boxbus.PropOnline: dbus.MakeVariant(true), boxbus.PropOfflineSince: dbus.MakeVariant(int64(0))}}
	screen := see(t, a, sim, time.Second, "Comedy Two")
	for deadline := time.Now().Add(statusFor + 5*time.Second); strings.Contains(screen, "Offline") || strings.Contains(screen, "Buying needs"); {
		if time.Now().After(deadline) {
			t.Fatalf("the offline line stays after the box is back:\n%s", screen)
		}
		time.Sleep(50 * time.Millisecond)
		screen = see(t, a, sim, time.Second)
	}
}

func TestOfflineLine(t *testing.T) {
	at := time.Date(2026, 12, 2, 9, 41, 0, 0, time.Local).Unix()
	for _, c := range []struct {
		name string
		l    boxbus.Link
		want string
	}{
		{"online", boxbus.Link{Online: true, Registered: true}, ""},
		{"offline", boxbus.Link{OfflineSince: at, Registered: true}, "Offline since 09:41 — your titles still play."},
		{"never registered", boxbus.Link{OfflineSince: at}, "Waiting for the operator's service"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := offlineLine(c.l)
			if c.want == "" && got != "" || !strings.Contains(got, c.want) {
				t.Errorf("offlineLine(%+v) = %q, want %q", c.l, got, c.want)
			}
		})
	}
}
