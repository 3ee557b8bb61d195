package scheduler

import (
	"testing"
	"time"

	"swarmbox/media"
)

// TestTrustedHoldingBoundedByEvidence: a claim counts only as far as the evidence goes; a
// proven claim counts whole, a demoted source not at all.
func TestTrustedHoldingBoundedByEvidence(t *testing.T) {
	const n = 10
	whole := Holding{Pieces: n, Complete: true}
	for _, tc := range []struct {
		name     string
		claim    Holding
		ev       Evidence
		want     Holding
		unproven bool
	}{
		{"no evidence", whole, Evidence{}, Holding{}, true},
		{"half sent", whole, Evidence{Pieces: 5}, Holding{Pieces: 5}, true},
		{"all sent", whole, Evidence{Pieces: n}, whole, false},
		{"claim below evidence", Holding{Pieces: 3}, Evidence{Pieces: 7}, Holding{Pieces: 3}, false},
		{"proven", whole, Evidence{Proven: true}, whole, false},
		{"demoted though proven", whole, Evidence{Proven: true, Demoted: true, Pieces: n}, Holding{}, true},
		{"negative evidence", Holding{Pieces: 2}, Evidence{Pieces: -4}, Holding{}, true},
		{"cache flag kept", Holding{Pieces: 4, Cache: true}, Evidence{Pieces: 1}, Holding{Pieces: 1, Cache: true}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, unproven := Trusted(tc.claim, n, tc.ev)
			if got != tc.want || unproven != tc.unproven {
				t.Errorf("Trusted(%+v, %+v) = %+v, %v; want %+v, %v", tc.claim, tc.ev, got, unproven, tc.want, tc.unproven)
			}
		})
	}
}

func TestWholeClaim(t *testing.T) {
	for _, tc := range []struct {
		h    Holding
		want bool
	}{
		{Holding{Pieces: 10, Complete: true}, true},
		{Holding{Pieces: 10}, true},
		{Holding{Pieces: 9}, false},
		{Holding{Pieces: 4, Range: PieceRange{Begin: 2, End: 6}}, true},
		{Holding{Pieces: 3, Range: PieceRange{Begin: 2, End: 6}}, false},
	} {
		if got := WholeClaim(tc.h, 10); got != tc.want {
			t.Errorf("WholeClaim(%+v) = %v, want %v", tc.h, got, tc.want)
		}
	}
}

// TestSilentSourceDemoted: a source that sent a receiver nothing, while the receiver gained no
// piece, for the demotion delay is demoted; one that sent bytes, one still within the delay, or
// one whose receiver progressed is not.
func TestSilentSourceDemoted(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	after := 20 * time.Second
	liar, honest, fresh, busy := media.BoxID{1}, media.BoxID{2}, media.BoxID{3}, media.BoxID{4}
	ds := []Delivery{
		{Source: liar, Since: now.Add(-after), BytesBefore: 7, Bytes: 7},
		{Source: honest, Since: now.Add(-time.Minute), BytesBefore: 7, Bytes: 9},
		{Source: fresh, Since: now.Add(-after + time.Second)},
		{Source: busy, Since: now.Add(-time.Minute), Progressed: true},
	}
	got := Demotions(ds, now, after)
	if len(got) != 1 || got[0].Source != liar {
		t.Fatalf("demoted %+v, want only the silent source", got)
	}
	if got := Demotions(nil, now, after); len(got) != 0 {
		t.Fatalf("demoted %+v from no deliveries", got)
	}
}

func TestBadDeliveriesAreThoseWithNewBadPieces(t *testing.T) {
	liar, old, honest := media.BoxID{1}, media.BoxID{2}, media.BoxID{3}
	ds := []Delivery{
		{Source: liar, BadBefore: 2, Bad: 3, Progressed: true, BytesBefore: 1, Bytes: 9},
		{Source: old, BadBefore: 4, Bad: 4}, // failures from before the plan named it
		{Source: honest, Bytes: 9},
	}
	got := BadDeliveries(ds)
	if len(got) != 1 || got[0].Source != liar {
		t.Fatalf("bad %+v, want only the source that sent bad pieces since it was named", got)
	}
}
