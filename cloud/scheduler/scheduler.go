// Package scheduler plans transfers: from every box's prioritized wishlist and what every box
// holds, it decides which box fetches what from whom, and when the operator's server may send.
// It is pure and deterministic: a snapshot in, a plan out, no I/O and no clock (time, when it
// matters, is part of the snapshot).
package scheduler

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"time"

	"swarmbox/media"
)

// Snapshot is everything the planner knows.
type Snapshot struct {
	Now   time.Time
	Items map[media.ItemID]Item
	Boxes []Box
	// Serving says which box the server was sending each item to in the previous plan. That box
	// keeps the server while it still fetches the item, so the server's copy is not restarted
	// elsewhere each time another box reports progress.
	Serving map[media.ItemID]media.BoxID
}

// Item is a title as the planner sees it.
type Item struct {
	Size   int64 // bytes that travel (the sealed container)
	Pieces int
}

// Box is one box's state.
type Box struct {
	ID       media.BoxID
	Wishlist []media.ItemID // first = most wanted
	Holdings map[media.ItemID]Holding
}

// Holding is what a box has of an item.
type Holding struct {
	Pieces   int
	Complete bool
}

// Fetch is one planned transfer into a box.
type Fetch struct {
	Item    media.ItemID
	Sources []media.BoxID // boxes to fetch from, best first
	Server  bool          // whether the operator's server (web seed) may send
}

// Plan is the planner's answer: the fetches of every box that has one.
type Plan struct {
	Fetches map[media.BoxID][]Fetch
}

// Serving returns, per item, the box the plan lets the server send it to; feed it into the next
// snapshot.
func (p Plan) Serving() map[media.ItemID]media.BoxID {
	out := map[media.ItemID]media.BoxID{}
	for b, fs := range p.Fetches {
		for _, f := range fs {
			if f.Server {
				out[f.Item] = b
			}
		}
	}
	return out
}

// For returns the fetch planned for box and item, if any.
func (p Plan) For(box media.BoxID, item media.ItemID) (Fetch, bool) {
	for _, f := range p.Fetches[box] {
		if f.Item == item {
			return f, true
		}
	}
	return Fetch{}, false
}

// ErrInvalid wraps every validation error of a snapshot.
var ErrInvalid = errors.New("invalid snapshot")

// Validate checks a snapshot and names the first bad field.
func (s Snapshot) Validate() error {
	seen := make(map[media.BoxID]bool, len(s.Boxes))
	for i, it := range s.Items {
		if it.Size < 0 || it.Pieces < 0 {
			return fmt.Errorf("%w: items[%s]: negative size or pieces", ErrInvalid, i)
		}
	}
	for i, b := range s.Boxes {
		if seen[b.ID] {
			return fmt.Errorf("%w: boxes[%d].id: duplicate box %s", ErrInvalid, i, b.ID)
		}
		seen[b.ID] = true
		if len(b.Wishlist) > len(s.Items) {
			return fmt.Errorf("%w: boxes[%d].wishlist: %d wishes for %d items", ErrInvalid, i, len(b.Wishlist), len(s.Items))
		}
		for j, w := range b.Wishlist {
			if _, ok := s.Items[w]; !ok {
				return fmt.Errorf("%w: boxes[%d].wishlist[%d]: unknown item %s", ErrInvalid, i, j, w)
			}
		}
		for it, h := range b.Holdings {
			if _, ok := s.Items[it]; !ok {
				return fmt.Errorf("%w: boxes[%d].holdings[%s]: unknown item", ErrInvalid, i, it)
			}
			if h.Pieces < 0 {
				return fmt.Errorf("%w: boxes[%d].holdings[%s].pieces: negative", ErrInvalid, i, it)
			}
		}
	}
	return nil
}

// Compute makes the plan. Each box fetches its most wanted item that it does not hold complete.
// Sources are the other boxes holding the item, complete holders first, then partial holders
// with the most pieces. While no box holds the item complete, exactly one fetching box may take
// it from the server: the one it was serving before if that box still fetches it, else the one
// with the most pieces (ties: lowest id). Every other fetching box is pointed at it, so the
// server sends each item about once.
func Compute(s Snapshot) (Plan, error) {
	if err := s.Validate(); err != nil {
		return Plan{}, err
	}
	boxes := slices.Clone(s.Boxes)
	slices.SortFunc(boxes, func(a, b Box) int { return cmpID(a.ID, b.ID) })

	// want[item] lists the boxes whose current fetch is item.
	want := map[media.ItemID][]media.BoxID{}
	for _, b := range boxes {
		for _, it := range b.Wishlist {
			if !b.Holdings[it].Complete {
				want[it] = append(want[it], b.ID)
				break
			}
		}
	}
	held := func(b Box, it media.ItemID) Holding { return b.Holdings[it] }
	byID := make(map[media.BoxID]Box, len(boxes))
	for _, b := range boxes {
		byID[b.ID] = b
	}

	plan := Plan{Fetches: map[media.BoxID][]Fetch{}}
	items := make([]media.ItemID, 0, len(want))
	for it := range want {
		items = append(items, it)
	}
	slices.SortFunc(items, func(a, b media.ItemID) int { return cmpID(a, b) })
	for _, it := range items {
		// Everyone holding any of it, best source first.
		var holders []Box
		complete := false
		for _, b := range boxes {
			h := held(b, it)
			if h.Complete || h.Pieces > 0 {
				holders = append(holders, b)
				complete = complete || h.Complete
			}
		}
		fetchers := want[it]
		var leader media.BoxID
		if !complete {
			// The fetcher furthest along takes the server; it becomes a source for the rest.
			leader = slices.MaxFunc(fetchers, func(a, b media.BoxID) int {
				return cmp.Or(cmp.Compare(held(byID[a], it).Pieces, held(byID[b], it).Pieces), cmpID(b, a))
			})
			if prev, ok := s.Serving[it]; ok && slices.Contains(fetchers, prev) {
				leader = prev
			}
			if held(byID[leader], it).Pieces == 0 {
				holders = append(holders, byID[leader])
			}
		}
		slices.SortStableFunc(holders, func(a, b Box) int {
			ha, hb := held(a, it), held(b, it)
			return cmp.Or(-cmpBool(ha.Complete, hb.Complete), -cmp.Compare(ha.Pieces, hb.Pieces), cmpID(a.ID, b.ID))
		})
		for _, f := range fetchers {
			fe := Fetch{Item: it, Server: !complete && f == leader}
			for _, h := range holders {
				if h.ID != f {
					fe.Sources = append(fe.Sources, h.ID)
				}
			}
			plan.Fetches[f] = append(plan.Fetches[f], fe)
		}
	}
	return plan, nil
}

func cmpID[T ~[16]byte](a, b T) int { return slices.Compare(a[:], b[:]) }

func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}
