package ui

import (
	"context"
	"strings"
	"testing"

	"github.com/godbus/dbus/v5"

	"swarmbox/firmware/boxbus"
)

// unpairedBox is a fake box that is not paired to a household yet.
type unpairedBox struct {
	*fakeBox
	p boxbus.Pairing
}

func (u *unpairedBox) Pairing(context.Context) (boxbus.Pairing, error) { return u.p, nil }

// TestPairingBannerOnHome: an unpaired box's Home says where to sign in and which code to
// enter, the buy dialog says so instead of the balance, and both go once the Paired property
// says the box is paired.
func TestPairingBannerOnHome(t *testing.T) {
	box := &unpairedBox{fakeBox: newCatalogBox(3), p: boxbus.Pairing{Code: "BCDF-GHJK", URL: "http://tv.example/pair"}}
	a := loaded(t, box)
	want := "To buy on this box, sign in at http://tv.example/pair and enter BCDF-GHJK"
	// A line above the list, not a row: it would shift every row's digit when it comes and goes.
	if first := a.home.banner.GetText(true); !strings.Contains(first, want) {
		t.Fatalf("Home's banner %q, want %q", first, want)
	}
	b := newBuy(a, box.items[0], false)
	if text := b.text(a.model.snap); !strings.Contains(text, want) {
		t.Errorf("buy dialog %q lacks the pairing banner", text)
	}
	s := a.model.snap.clone()
	a.model.applyProperties(s, map[string]dbus.Variant{boxbus.PropPaired: dbus.MakeVariant(true), boxbus.PropPairingCode: dbus.MakeVariant("")})
	a.show(s)
	if first := a.home.banner.GetText(true); strings.Contains(first, "To buy") || pairingBanner(s) != "" {
		t.Errorf("still shown once paired: %q", first)
	}
}
