package main

import (
	"context"
	"errors"
	"time"

	"swarmbox/firmware/boxbus"
)

// errAccountFlag answers the -account flag, which once made a box join any household by name.
var errAccountFlag = errors.New("-account no longer pairs a box (any box could join any household by name): " +
	"start it without, and the TV shows a code the household enters after signing in on the catalog " +
	"(or the operator runs 'swarmbox-cloud box pair -code CODE -account ID'); or start it with " +
	"-enroll TOKEN, a token from 'swarmbox-cloud account enroll ID'")

// Pairing is the box's pairing, read from its store.
func (l localDoor) Pairing(ctx context.Context) (boxbus.Pairing, error) { return l.api.Pairing(ctx) }

// pairingJSON is the pairing in `swarmboxd status -json`.
type pairingJSON struct {
	Paired  bool       `json:"paired"`
	Code    string     `json:"code,omitempty"`
	URL     string     `json:"url,omitempty"`
	Expires *time.Time `json:"expires,omitempty"`
}

func pairingOf(p boxbus.Pairing) pairingJSON {
	j := pairingJSON{Paired: p.Paired, Code: p.Code, URL: p.URL}
	if p.Expires != 0 {
		t := time.Unix(p.Expires, 0).UTC()
		j.Expires = &t
	}
	return j
}
