package transfer

import (
	"fmt"
	"net/netip"
	"slices"

	"github.com/anacrolix/torrent"
	pp "github.com/anacrolix/torrent/peer_protocol"

	"swarmbox/sync/protocol"
)

// standing is how a peer's haves are shown to the client, as a comparable string: "none",
// "any", or the piece ranges.
func standing(ok bool, ranges []protocol.PieceRange) string {
	switch {
	case !ok:
		return "none"
	case ranges == nil:
		return "any"
	}
	return fmt.Sprint(ranges)
}

// inRanges says whether piece i lies in one of the ranges.
func inRanges(i int, ranges []protocol.PieceRange) bool {
	return slices.ContainsFunc(ranges, func(r protocol.PieceRange) bool { return r.Begin <= i && i < r.End })
}

// filterHaves is the torrent client's callback for every message read. The client requests
// from any connected peer that has what it lacks, and a connection carries both directions: a
// box the plan sends to us to fetch would also become our source, pulling bytes across a WAN
// link the plan meant to spare. So the pieces a peer announces (have, bitfield, have-all) are
// hidden from the client unless the plan names the peer as a source of the item or it is a LAN
// neighbour, and shown only for the pieces the plan names it for; the peer is still served.
// Fetch closes connections whose standing changed, so the peer's next handshake is judged
// afresh.
func (e *Engine) filterHaves(pc *torrent.PeerConn, m *pp.Message) {
	if m.Keepalive || (m.Type != pp.Have && m.Type != pp.Bitfield && m.Type != pp.HaveAll) {
		return
	}
	t := pc.Torrent()
	ap, err := netip.ParseAddrPort(pc.RemoteAddr.String())
	if t == nil || err != nil {
		return
	}
	e.mu.Lock()
	ok, ranges := e.mayFetchFrom(t.InfoHash(), ap.Addr().Unmap())
	e.judged[pc] = standing(ok, ranges)
	e.mu.Unlock()
	if ok && ranges == nil {
		return
	}
	switch m.Type {
	case pp.Have:
		if !inRanges(int(m.Index), ranges) {
			m.Keepalive = true // the client skips keepalives
		}
	case pp.Bitfield:
		for i := range m.Bitfield {
			m.Bitfield[i] = m.Bitfield[i] && inRanges(i, ranges)
		}
	case pp.HaveAll:
		if !ok || t.Info() == nil { // without a piece count, nothing until the next handshake
			m.Type = pp.HaveNone
			return
		}
		// A bitfield as the wire carries it: whole bytes (the client panics on any other
		// length), the spare bits at the end clear.
		n := t.NumPieces()
		m.Type, m.Bitfield = pp.Bitfield, make([]bool, (n+7)/8*8)
		for i := range m.Bitfield {
			m.Bitfield[i] = i < n && inRanges(i, ranges)
		}
	}
}
