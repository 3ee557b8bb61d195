package fleet

import (
	"bytes"
	"maps"
	"slices"

	"swarmbox/media"
)

// boundBytes is the live form of the simulator's global lower bound (sim.World.
// GlobalLowerBoundServerShare): whatever the plan, each title boxes received left the server at
// least once, unless some box held it before anyone sent it a byte (a box that holds it whole
// and reported receiving none of it: a factory preload). Every other copy can come from boxes,
// in any region. A title counts as many bytes as the box that received most of it (every one of
// those bytes is distinct, so the server sent each at least once), up to the title's size.
//
// The one copy is shared out among the regions that received the title, in proportion to the
// bytes each received, so that the regions' bounds add up to the global bound: a region's bound
// share says how much of what it received the server had to send under the best plan of all
// regions together, not under the best plan of that region alone.
func boundBytes(in Input, region func(media.BoxID) string) map[string]float64 {
	type cell struct {
		most  int64            // most bytes any one box received
		total int64            // every box's together
		by    map[string]int64 // by the receiving box's region
	}
	got := map[media.ItemID]*cell{}
	type boxItem struct {
		box  media.BoxID
		item media.ItemID
	}
	received := map[boxItem]bool{} // that reported bytes
	for _, t := range in.Transfers {
		n := t.BytesFromServer + t.BytesFromPeers
		if n <= 0 {
			continue
		}
		received[boxItem{t.Box, t.Item}] = true
		c := got[t.Item]
		if c == nil {
			c = &cell{by: map[string]int64{}}
			got[t.Item] = c
		}
		c.most = max(c.most, n)
		c.total += n
		c.by[region(t.Box)] += n
	}
	preloaded := map[media.ItemID]bool{}
	for _, st := range in.States {
		for _, h := range st.Holdings {
			if h.Complete && !received[boxItem{st.ID, h.Item}] {
				preloaded[h.Item] = true
			}
		}
	}
	out := map[string]float64{}
	for _, item := range slices.SortedFunc(maps.Keys(got), func(a, b media.ItemID) int { return bytes.Compare(a[:], b[:]) }) {
		c := got[item]
		if preloaded[item] {
			continue
		}
		once := c.most
		if size := in.Sizes[item]; size > 0 {
			once = min(once, size)
		}
		for r, n := range c.by {
			out[r] += float64(once) * float64(n) / float64(c.total)
		}
	}
	return out
}
