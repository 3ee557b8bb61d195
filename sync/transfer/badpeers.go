package transfer

import (
	"net/netip"
	"sync"

	"github.com/anacrolix/torrent"
	"github.com/anacrolix/torrent/metainfo"
)

// badPeers keeps, per torrent and peer address, the pieces that failed verification which
// closed connections had a part in: the library bans such a peer and drops its connection, and
// the head-end is told who it was (SCHED-13).
type badPeers struct {
	mu     sync.Mutex
	closed map[metainfo.Hash]map[netip.Addr]int64
}

func newBadPeers() *badPeers { return &badPeers{closed: map[metainfo.Hash]map[netip.Addr]int64{}} }

// connClosed adds a closed connection's bad pieces. It reads the connection's stats, which take
// the client's lock: call it outside the library's callbacks.
func (b *badPeers) connClosed(pc *torrent.PeerConn) {
	t := pc.Torrent()
	if t == nil {
		return
	}
	st := pc.Stats()
	n := st.PiecesDirtiedBad.Int64()
	ap, err := netip.ParseAddrPort(pc.RemoteAddr.String())
	if n <= 0 || err != nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	m := b.closed[t.InfoHash()]
	if m == nil {
		m = map[netip.Addr]int64{}
		b.closed[t.InfoHash()] = m
	}
	m[ap.Addr().Unmap()] += n
}

// of returns t's bad pieces per peer address: those of closed connections and of the open
// ones. A connection closing while this runs may be counted twice; the counts only serve to
// tell whether a peer sent bad data.
func (b *badPeers) of(t *torrent.Torrent) map[netip.Addr]int64 {
	out := map[netip.Addr]int64{}
	for _, pc := range t.PeerConns() {
		st := pc.Stats()
		if n := st.PiecesDirtiedBad.Int64(); n > 0 {
			if ap, err := netip.ParseAddrPort(pc.RemoteAddr.String()); err == nil {
				out[ap.Addr().Unmap()] += n
			}
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for a, n := range b.closed[t.InfoHash()] {
		out[a] += n
	}
	return out
}
