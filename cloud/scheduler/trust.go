package scheduler

import (
	"time"

	"swarmbox/media"
)

// Evidence is what the head-end can show of one box's holding of one item, beside the box's
// claim: a box's word alone never makes it a source (a box that claimed a whole title at a
// made-up address once kept a real wisher at 0 pieces for minutes).
type Evidence struct {
	// Pieces is the most pieces the bytes the head-end knows were sent to the box can cover:
	// what its web seed served the box, plus what the box received from peers the plan named.
	Pieces int
	// Proven says the box answered a possession challenge for its whole claim.
	Proven bool
	// Demoted says receivers reported the box, named as their source of this item, as sending
	// nothing (unreachable, or it does not have the item): it is no source until it proves
	// possession again.
	Demoted bool
}

// Trusted is the part of a claimed holding of an item of n pieces that the evidence supports:
// the whole claim when proven, none when demoted, else at most Evidence.Pieces. unproven says
// some of the claim was left out; the head-end challenges such claims when they are whole.
func Trusted(claim Holding, n int, ev Evidence) (h Holding, unproven bool) {
	h = claim
	switch {
	case ev.Demoted:
		h.Pieces, h.Complete = 0, false
	case ev.Proven:
		return h, false
	default:
		h.Pieces = min(h.Pieces, max(ev.Pieces, 0))
		h.Complete = h.Complete && h.Pieces >= n
	}
	return h, h.Pieces < claim.Pieces || h.Complete != claim.Complete
}

// WholeClaim says the holding claims every piece it was meant to have (the item, or its
// range): a claim a possession challenge can test, since every piece in it must be there.
func WholeClaim(h Holding, n int) bool {
	if h.Range.Len() > 0 && !h.Complete {
		return h.Pieces >= h.Range.Len()
	}
	return h.Complete || (n > 0 && h.Pieces >= n)
}

// Delivery is what one receiver reported, since the plan named Source for its fetch of Item,
// about what Source sent it.
type Delivery struct {
	Source, Receiver media.BoxID
	Item             media.ItemID
	// Since is when the plan first named Source for this fetch.
	Since time.Time
	// BytesBefore and Bytes are the receiver's count of bytes from Source then and now.
	BytesBefore, Bytes int64
	// Progressed says the receiver's holding of Item grew since then (from any source).
	// Receivers tell peers apart by address, and boxes behind one address are not told apart:
	// a receiver that gained pieces blames nobody.
	Progressed bool
	// BadBefore and Bad are the receiver's count of pieces from Source that failed
	// verification, when the plan named Source and now.
	BadBefore, Bad int64
}

// BadDeliveries are the deliveries whose source sent the receiver pieces that failed
// verification since the plan named it: lying or broken, it should no longer be named, at
// once. The result keeps the order of ds.
func BadDeliveries(ds []Delivery) []Delivery {
	var out []Delivery
	for _, d := range ds {
		if d.Bad > d.BadBefore {
			out = append(out, d)
		}
	}
	return out
}

// Demotions are the deliveries whose source should no longer be named: the receiver got
// nothing from it, and no pieces at all, for at least after since the plan named it. The
// result keeps the order of ds.
func Demotions(ds []Delivery, now time.Time, after time.Duration) []Delivery {
	var out []Delivery
	for _, d := range ds {
		if now.Sub(d.Since) >= after && d.Bytes <= d.BytesBefore && !d.Progressed {
			out = append(out, d)
		}
	}
	return out
}
