package ui

import (
	"context"
	"errors"
	"fmt"

	"swarmbox/firmware/boxbus"
)

// Pairing on the TV: a box no household has paired yet shows, calmly on Home and in the buy
// dialog, where to sign in and which code to enter; the properties announce when it is paired.

// pairingBox is the part of the box's API that says whether it is paired; *boxbus.Client has
// it. A Box without it, or a daemon that does not know the method, is taken as paired (nothing
// is shown).
type pairingBox interface {
	Pairing(ctx context.Context) (boxbus.Pairing, error)
}

// loadPairing reads the box's pairing into s.
func (m *model) loadPairing(ctx context.Context, s *snapshot) error {
	pb, ok := m.box.(pairingBox)
	if !ok {
		return nil
	}
	p, err := pb.Pairing(ctx)
	if errors.Is(err, boxbus.Refusal(boxbus.DBusUnknownMethod)) {
		return nil // a daemon from before pairing
	}
	if err != nil {
		return err
	}
	s.pairing = &p
	return nil
}

// applyPairing takes one pairing property's new value into s.
func (s *snapshot) applyPairing(name string, val any) {
	p := boxbus.Pairing{Paired: true}
	if s.pairing != nil {
		p = *s.pairing
	}
	switch v := val.(type) {
	case bool:
		if name == boxbus.PropPaired {
			p.Paired = v
		}
	case string:
		switch name {
		case boxbus.PropPairingCode:
			p.Code = v
		case boxbus.PropPairingURL:
			p.URL = v
		}
	}
	s.pairing = &p
}

// pairingBanner is what the TV says while the box is not paired, "" once it is (or while
// unknown).
func pairingBanner(s *snapshot) string {
	switch p := s.pairing; {
	case p == nil || p.Paired:
		return ""
	case p.Code == "":
		return "This box is not paired to a household yet; its pairing code is on its way."
	default:
		return fmt.Sprintf("To buy on this box, sign in at %s and enter %s", p.URL, p.Code)
	}
}
