package transfer

import (
	"net/netip"
	"slices"
	"time"

	"github.com/anacrolix/torrent"

	"swarmbox/media"
)

// redialEvery is how often the peers of an incomplete item are offered to the client again.
const redialEvery = 2 * time.Second

// redial offers the named peers of every incomplete item to the torrent client again: the client
// forgets a peer whose connection closed (it restarted, or had not verified its data yet when we
// connected), and would otherwise wait for the next plan to dial it again.
func (e *Engine) redial() {
	tick := time.NewTicker(redialEvery)
	defer tick.Stop()
	idle := map[*torrent.PeerConn]connIdle{}
	for {
		select {
		case <-e.stop:
			return
		case <-tick.C:
		}
		e.mu.Lock()
		var items []media.ItemID
		var ts []*torrent.Torrent
		var ps [][]torrent.PeerInfo
		for item, peers := range e.dial {
			if t := e.torrents[item]; t != nil && len(peers) > 0 {
				items, ts, ps = append(items, item), append(ts, t), append(ps, peers)
			}
		}
		var serving []*torrent.Torrent
		var receivers [][]torrent.PeerInfo
		for item, peers := range e.serveTo {
			if t := e.torrents[item]; t != nil {
				serving, receivers = append(serving, t), append(receivers, peers)
			}
		}
		e.mu.Unlock()
		for i, t := range serving {
			if len(t.PeerConns()) == 0 {
				t.AddPeers(receivers[i])
			}
		}
		for i, t := range ts {
			select {
			case <-t.GotInfo():
			default:
				continue
			}
			if !e.wantsMore(items[i], t) {
				continue
			}
			if conns := t.PeerConns(); len(conns) > 0 {
				closeStuck(conns, idle, time.Now())
				continue
			}
			t.AddPeers(ps[i])
		}
		for pc := range idle { // forget connections the client has closed
			if pc.Torrent() == nil || !slices.Contains(pc.Torrent().PeerConns(), pc) {
				delete(idle, pc)
			}
		}
	}
}

// DialReceivers sets the receivers this box connects to itself to serve them, per item it
// holds: boxes that cannot reach it because it is behind NAT (protocol.DialOrder). They are
// dialled now and again whenever an item has no connection left, until the next call drops
// them; receivers of an item the box does not serve are ignored. Each is allowed to connect.
func (e *Engine) DialReceivers(orders map[media.ItemID][]netip.AddrPort) {
	e.mu.Lock()
	e.serveTo = map[media.ItemID][]torrent.PeerInfo{}
	var ts []*torrent.Torrent
	var ps [][]torrent.PeerInfo
	for item, addrs := range orders {
		t := e.torrents[item]
		if t == nil || len(addrs) == 0 {
			continue
		}
		var peers []torrent.PeerInfo
		for _, ap := range addrs {
			peers = append(peers, torrent.PeerInfo{Addr: ipPortAddr(ap), Source: torrent.PeerSourceDirect})
		}
		e.serveTo[item] = peers
		ts, ps = append(ts, t), append(ps, peers)
	}
	e.mu.Unlock()
	for _, addrs := range orders {
		for _, ap := range addrs {
			e.Allow(ap.Addr(), "plan")
		}
	}
	for i, t := range ts {
		t.AddPeers(ps[i])
	}
}

// stuckAfter is how long an item's connections may all carry no data either way, while a peer
// shows pieces and the item still wants some, before they are closed and dialled afresh.
const stuckAfter = 10 * time.Second

// connIdle is what closeStuck last saw of a connection.
type connIdle struct {
	read, written int64
	since         time.Time // when the counts last moved
}

// closeStuck closes an item's connections when none of them moved data either way for
// stuckAfter although a peer shows pieces. The torrent client now and then leaves such a
// connection uninterested for good (seen under load: the peer's pieces registered, the item's
// pieces wanted, no request ever sent); fresh connections are judged and requested from anew,
// and redial makes them at its next tick. Data moving on any of them, to us or from us, leaves
// them all be: a box serving a neighbour is not cut off.
func closeStuck(conns []*torrent.PeerConn, idle map[*torrent.PeerConn]connIdle, now time.Time) {
	stuck, shows := true, false
	for _, pc := range conns {
		st := pc.Stats()
		read, written := st.BytesReadData.Int64(), st.BytesWrittenData.Int64()
		shows = shows || st.RemotePieceCount > 0
		last, seen := idle[pc]
		if !seen || last.read != read || last.written != written {
			idle[pc] = connIdle{read: read, written: written, since: now}
			stuck = false
			continue
		}
		stuck = stuck && now.Sub(last.since) >= stuckAfter
	}
	if !stuck || !shows {
		return
	}
	for _, pc := range conns {
		pc.Close()
		delete(idle, pc)
	}
}
