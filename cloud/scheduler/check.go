package scheduler

import (
	"errors"
	"fmt"
	"slices"

	"swarmbox/media"
)

// ErrViolation wraps every invariant a plan breaks.
var ErrViolation = errors.New("plan violates an invariant")

// Violations counts what Check finds, by kind.
type Violations struct {
	Storage, UploadCap, Source, NATPair, Offline int
	First                                        error // the first violation found, or nil
}

// Total is the number of violations of every kind.
func (v Violations) Total() int { return v.Storage + v.UploadCap + v.Source + v.NATPair + v.Offline }

// Check verifies a plan against the snapshot it was made from: no box receives more bytes than
// its areas have free (counting what it evicts), no source sends more than its uplink, every
// source holds the item complete or is itself receiving it (a relay, serving pieces as they
// arrive), no two boxes behind NAT are paired, no offline box takes part, and the shares of a
// server copy into a region do not overlap. The simulator
// runs it on every policy's plans; tests and the fuzz target run it on the planner's.
func Check(s Snapshot, p Plan) Violations {
	var v Violations
	fail := func(n *int, format string, a ...any) {
		*n++
		if v.First == nil {
			v.First = fmt.Errorf("%w: "+format, append([]any{ErrViolation}, a...)...)
		}
	}
	cfg := s.Config.withDefaults()
	boxes := make(map[media.BoxID]*Box, len(s.Boxes))
	for i := range s.Boxes {
		boxes[s.Boxes[i].ID] = &s.Boxes[i]
	}
	upUsed := map[media.BoxID]int64{}
	// The server's pieces per (item, region): shares of one copy must not overlap.
	type itemRegion struct {
		item   media.ItemID
		region string
	}
	served := map[itemRegion][]PieceRange{}
	for id, bp := range p.Boxes {
		b := boxes[id]
		if b == nil {
			fail(&v.Source, "plan for unknown box %s", id)
			continue
		}
		if b.Offline && len(bp.Fetches) > 0 {
			fail(&v.Offline, "box %s: offline but fetching", id)
		}
		var wish, cache int64
		for _, f := range bp.Fetches {
			if f.Cache {
				cache += f.Bytes
			} else {
				wish += f.Bytes
			}
		}
		freed := int64(0)
		for _, e := range bp.Evict {
			h, ok := b.Holdings[e]
			if !ok || !h.Cache {
				fail(&v.Storage, "box %s: evicts %s, which is not in its cache", id, e)
				continue
			}
			it := s.Items[e]
			if h.Complete || h.Pieces >= it.Pieces {
				freed += it.Size
			} else if it.Pieces > 0 {
				freed += it.Size * int64(h.Pieces) / int64(it.Pieces)
			}
		}
		if wish > b.FreeWish {
			fail(&v.Storage, "box %s: %d wishlist bytes planned, %d free", id, wish, b.FreeWish)
		}
		if cache > b.FreeCache+freed {
			fail(&v.Storage, "box %s: %d cache bytes planned, %d free after evictions", id, cache, b.FreeCache+freed)
		}
		for _, f := range bp.Fetches {
			if r := f.Range; r != (PieceRange{}) && (r.Begin < 0 || r.End > s.Items[f.Item].Pieces || r.Begin >= r.End) {
				fail(&v.Source, "box %s: fetch of pieces [%d,%d) outside %s", id, r.Begin, r.End, f.Item)
			}
			if len(f.ServerRanges) > 0 && !f.Server {
				fail(&v.Source, "box %s: server pieces of %s without the server", id, f.Item)
			}
			k := itemRegion{f.Item, b.Region}
			for _, r := range f.ServerRanges {
				if r.Begin < 0 || r.End > s.Items[f.Item].Pieces || r.Begin >= r.End {
					fail(&v.Source, "box %s: server pieces [%d,%d) outside %s", id, r.Begin, r.End, f.Item)
				}
				for _, o := range served[k] {
					if r.Begin < o.End && o.Begin < r.End {
						fail(&v.Source, "box %s: server pieces [%d,%d) of %s overlap another share [%d,%d) in region %q", id, r.Begin, r.End, f.Item, o.Begin, o.End, b.Region)
					}
				}
				served[k] = append(served[k], r)
			}
			for _, src := range f.Sources {
				sb := boxes[src.Box]
				if sb == nil {
					fail(&v.Source, "box %s: source %s unknown", id, src.Box)
					continue
				}
				upUsed[src.Box] += src.Rate
				if sb.Offline {
					fail(&v.Offline, "box %s: source %s is offline", id, src.Box)
				}
				if sb.NAT && b.NAT && (b.LAN == "" || sb.LAN != b.LAN) {
					fail(&v.NATPair, "box %s and source %s are both behind NAT", id, src.Box)
				}
				h := sb.Holdings[f.Item]
				_, has := sb.Holdings[f.Item]
				complete := has && (h.Complete || h.Pieces >= s.Items[f.Item].Pieces)
				if !src.Relay && !complete && has && h.Range != (PieceRange{}) {
					// A range holder serves only pieces of the range it holds whole.
					if h.Pieces < h.Range.Len() || len(src.Ranges) == 0 {
						fail(&v.Source, "box %s: source %s holds only part of its range of %s", id, src.Box, f.Item)
					}
					for _, r := range src.Ranges {
						if !h.Range.contains(r) {
							fail(&v.Source, "box %s: source %s is to serve pieces [%d,%d) of %s outside its range [%d,%d)", id, src.Box, r.Begin, r.End, f.Item, h.Range.Begin, h.Range.End)
						}
					}
				} else if src.Relay {
					if _, receiving := p.For(src.Box, f.Item); !receiving && h.Pieces == 0 {
						fail(&v.Source, "box %s: relay %s neither holds nor receives %s", id, src.Box, f.Item)
					}
					// A relay serves what reaches it; fixed pieces only where they are its share of
					// the server's copy, which it is receiving from the server.
					if sf, _ := p.For(src.Box, f.Item); len(src.Ranges) > 0 && !slices.Equal(src.Ranges, sf.ServerRanges) {
						fail(&v.Source, "box %s: relay %s is given fixed pieces of %s other than its share of the server's copy", id, src.Box, f.Item)
					}
				} else if !complete {
					fail(&v.Source, "box %s: source %s does not hold %s", id, src.Box, f.Item)
				}
				for _, r := range src.Ranges {
					if r.Begin < 0 || r.End > s.Items[f.Item].Pieces || r.Begin > r.End {
						fail(&v.Source, "box %s: source %s: pieces [%d,%d) outside the item", id, src.Box, r.Begin, r.End)
					}
				}
			}
		}
	}
	for id, used := range upUsed {
		up := boxes[id].Uplink
		if up == 0 {
			up = cfg.DefaultUplink
		}
		if used > up {
			fail(&v.UploadCap, "box %s: %d bytes/s of uploads planned, uplink %d", id, used, up)
		}
	}
	return v
}
