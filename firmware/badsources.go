package firmware

import (
	"cmp"
	"net/netip"
	"slices"

	"swarmbox/media"
	"swarmbox/sync/protocol"
)

// maxBadSources is the most bad sources one transfer report names (the head-end's bound).
const maxBadSources = 16

// noteBad keeps the most pieces failing verification each peer address had a part in, per item
// (connections close once a peer is banned; the counts stay).
func (b *Box) noteBad(item media.ItemID, bad map[netip.Addr]int64) {
	if len(bad) == 0 {
		return
	}
	if b.badFrom == nil {
		b.badFrom = map[media.ItemID]map[netip.Addr]int64{}
	}
	m := b.badFrom[item]
	if m == nil {
		m = map[netip.Addr]int64{}
		b.badFrom[item] = m
	}
	for a, n := range bad {
		if n > m[a] {
			b.log.Warn("a peer sent pieces that failed verification: banned, and reported to the head-end",
				"item", item, "peer", a, "bad_pieces", n)
			m[a] = n
		}
	}
}

// badSources names by box the peers the plan named that sent pieces of item failing
// verification, for the head-end to stop naming them (SCHED-13); peers the box cannot name by
// the plan are left out, and at most maxBadSources are named, the worst first.
func (b *Box) badSources(item media.ItemID) []protocol.BadSource {
	bad := b.badFrom[item]
	if len(bad) == 0 {
		return nil
	}
	byIP := map[netip.Addr]media.BoxID{}
	for addr, box := range b.peerBox {
		if ap, err := netip.ParseAddrPort(addr); err == nil {
			byIP[ap.Addr().Unmap()] = box
		}
	}
	var out []protocol.BadSource
	for a, n := range bad {
		if box, ok := byIP[a]; ok {
			out = append(out, protocol.BadSource{Box: box, Pieces: n})
		}
	}
	slices.SortFunc(out, func(x, y protocol.BadSource) int {
		if x.Pieces != y.Pieces {
			return cmp.Compare(y.Pieces, x.Pieces)
		}
		return slices.Compare(x.Box[:], y.Box[:])
	})
	return out[:min(len(out), maxBadSources)]
}
