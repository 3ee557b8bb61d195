package scheduler

import (
	"time"

	"swarmbox/media"
)

// Plan is the planner's answer: every box's fetches and evictions, with totals.
type Plan struct {
	Boxes map[media.BoxID]BoxPlan
	// ServerBytes and PeerBytes are what the plan's fetches move from the server and from boxes.
	ServerBytes, PeerBytes int64
}

// BoxPlan is one box's part of a plan.
type BoxPlan struct {
	Fetches []Fetch
	Evict   []media.ItemID // cache items to delete before the cache placements start
	// Uploads are the receivers this box serves that are behind NAT: this box dials them.
	Uploads []Upload
	// Receivers are every box this box serves, behind NAT or not: the boxes it should accept.
	Receivers []Upload
}

// Upload names a receiver that the source must dial, for one item.
type Upload struct {
	Item media.ItemID
	To   media.BoxID
}

// Fetch is one planned transfer into a box.
type Fetch struct {
	Item    media.ItemID
	Sources []Source // best first
	// Server says the operator's server (web seed) sends too, at ServerRate bytes/s.
	Server     bool
	ServerRate int64
	// Start is when the server may begin sending (Server set): server transfers that are not a
	// top wish wait for an off-peak slot with budget left. Sources send at once, whatever Start
	// says (SCHED-17).
	Start time.Time
	Cache bool  // a cache placement: not wished by this box, fetched to serve others
	Bytes int64 // bytes still to move
	Rank  int   // place among the box's needs (0 = top wish); -1 for cache placements
	// Range, when not empty, limits the fetch to the pieces [Begin, End): a range placement.
	Range PieceRange
	// ServerRanges, when not empty, are the only pieces the server sends this box: its part of
	// the server's one copy into the region, which the region's receivers share (the rest comes
	// from the others). Empty with Server set means any piece.
	ServerRanges []PieceRange
}

// Source is a box that sends (part of) an item.
type Source struct {
	Box  media.BoxID
	Rate int64 // planned bytes/s from this source
	// Ranges are the pieces this source serves; empty for a relay, which serves pieces as they
	// arrive.
	Ranges []PieceRange
	Relay  bool // the source is itself still receiving the item
	// Share says the source is a sharer of the server's copy in another LAN, to send this box
	// only its share (Ranges), which this box brings into its LAN.
	Share bool
	// Dial says the receiver opens the connection (the source accepts incoming ones); false
	// means the source dials the receiver.
	Dial bool
}

// PieceRange is the half-open range of piece indexes [Begin, End).
type PieceRange struct{ Begin, End int }

// Len is the number of pieces in the range.
func (r PieceRange) Len() int { return r.End - r.Begin }

// contains says whether r holds all of o.
func (r PieceRange) contains(o PieceRange) bool { return r.Begin <= o.Begin && o.End <= r.End }

// For returns the fetch planned for box and item, if any.
func (p Plan) For(box media.BoxID, item media.ItemID) (Fetch, bool) {
	for _, f := range p.Boxes[box].Fetches {
		if f.Item == item {
			return f, true
		}
	}
	return Fetch{}, false
}

// Serving returns, per item, the boxes the server is sending it to now; feed it into the next
// snapshot.
func (p Plan) Serving() map[media.ItemID][]media.BoxID {
	out := map[media.ItemID][]media.BoxID{}
	for b, bp := range p.Boxes {
		for _, f := range bp.Fetches {
			if f.Server && f.ServerRate > 0 { // started, not waiting for a slot
				out[f.Item] = append(out[f.Item], b)
			}
		}
	}
	for it := range out {
		sortIDs(out[it])
	}
	return out
}

// splitRanges gives each of n sources a contiguous share of [0, pieces) in proportion to its
// rate, so several sources send one item together without overlap.
func splitRanges(pieces int, rates []int64) []PieceRange {
	var total int64
	for _, r := range rates {
		total += r
	}
	out := make([]PieceRange, len(rates))
	if pieces == 0 || total == 0 {
		return out
	}
	begin := 0
	var acc int64
	for i, r := range rates {
		acc += r
		end := int(int64(pieces) * acc / total)
		if i == len(rates)-1 {
			end = pieces
		}
		out[i] = PieceRange{Begin: begin, End: end}
		begin = end
	}
	return out
}
