package transfer

import (
	"cmp"
	"math"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/anacrolix/torrent"
	"github.com/anacrolix/torrent/iplist"
	"github.com/anacrolix/torrent/metainfo"
	"golang.org/x/time/rate"

	"swarmbox/media"
)

// Allowlist is an iplist.Ranger that blocks every address except those added: anacrolix/torrent
// asks it about every peer it would dial or accept, and "in a range" means blocked.
type Allowlist struct {
	mu   sync.RWMutex
	ips  map[netip.Addr]string // address -> why it is allowed
	open bool                  // see SetOpen
}

// SetOpen makes the list allow everyone (true) or only what was added (false). A box whose
// head-end does not say which boxes will fetch from it stays open, or it could not serve; it
// still dials only peers the plan or the LAN named, since nothing else is ever given to dial.
func (a *Allowlist) SetOpen(open bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.open = open
}

// NewAllowlist returns an allowlist that allows nobody yet.
func NewAllowlist() *Allowlist { return &Allowlist{ips: map[netip.Addr]string{}} }

// Add allows addr; why is kept for the log ("plan", "lan").
func (a *Allowlist) Add(addr netip.Addr, why string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.ips[addr.Unmap()] = why
}

// Allowed reports whether addr may connect, and why.
func (a *Allowlist) Allowed(addr netip.Addr) (string, bool) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	why, ok := a.ips[addr.Unmap()]
	if !ok && a.open {
		return "open", true
	}
	return why, ok
}

// Lookup implements iplist.Ranger: an address not on the list is "in the blocked range".
func (a *Allowlist) Lookup(ip net.IP) (iplist.Range, bool) {
	addr, ok := netip.AddrFromSlice(ip)
	if !ok {
		return iplist.Range{First: ip, Last: ip, Description: "unparseable address"}, true
	}
	if _, ok := a.Allowed(addr); ok {
		return iplist.Range{}, false
	}
	return iplist.Range{First: ip, Last: ip, Description: "not named by the plan nor found on the LAN"}, true
}

// NumRanges implements iplist.Ranger.
func (a *Allowlist) NumRanges() int {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return len(a.ips)
}

func limiter(bytesPerSecond int64) *rate.Limiter {
	l := rate.NewLimiter(rate.Inf, 0)
	setLimit(l, bytesPerSecond)
	return l
}

// setLimit caps l at bytesPerSecond (0 = no cap) with a burst of a quarter second, at least
// one 16 KiB chunk so that a chunk can always pass.
func setLimit(l *rate.Limiter, bytesPerSecond int64) {
	if bytesPerSecond <= 0 {
		l.SetLimit(rate.Inf)
		l.SetBurst(math.MaxInt32)
		return
	}
	l.SetLimit(rate.Limit(bytesPerSecond))
	l.SetBurst(int(max(bytesPerSecond/4, 16<<10)))
}

// meter adds up what one peer delivered and for how long chunks kept arriving: a gap longer than
// idleGap is idle time (the peer had nothing we wanted, or we were capped) and is not counted,
// so the figure is the peer's throughput while it was actually sending.
type meter struct {
	bytes  int64
	active time.Duration
	last   time.Time
	addr   netip.Addr // where the peer last sent from
}

// rateKey names a measured peer: by the box whose key it proved (SetPeerBoxes), so boxes behind
// one address are measured apart, else by its address (box zero).
type rateKey struct {
	box  media.BoxID
	addr netip.Addr
}

const idleGap = time.Second

func (m *meter) add(n int, at time.Time) {
	if !m.last.IsZero() {
		if gap := at.Sub(m.last); gap > 0 && gap <= idleGap {
			m.active += gap
		}
	}
	m.bytes += int64(n)
	m.last = at
}

// received is the torrent client's callback for every useful chunk; it runs under the client's
// lock, so it touches only the engine's own state.
func (e *Engine) received(ev torrent.ReceivedUsefulDataEvent) {
	server := isWebSeed(ev.Peer.RemoteAddr)
	if t := ev.Peer.Torrent(); t != nil {
		// Tallied per piece and recorded with it when it verifies (record.go).
		e.rec.add(metainfo.PieceKey{InfoHash: t.InfoHash(), Index: int(ev.Message.Index)}, server, int64(len(ev.Message.Piece)))
	}
	ap, err := netip.ParseAddrPort(ev.Peer.RemoteAddr.String())
	if server || err != nil {
		return // the head-end's web seed is not a peer to measure
	}
	k := rateKey{addr: ap.Addr().Unmap()}
	if pc, ok := ev.Peer.TryAsPeerConn(); ok {
		if box, ok := e.auth.provenBox(pc); ok {
			k = rateKey{box: box}
		}
	}
	now := time.Now()
	e.mu.Lock()
	defer e.mu.Unlock()
	m := e.rates[k]
	if m == nil {
		m = &meter{}
		e.rates[k] = m
	}
	m.addr = ap.Addr().Unmap()
	m.add(len(ev.Message.Piece), now)
}

// PeerRate is the throughput measured while receiving from one peer, over every item.
type PeerRate struct {
	// Box is the peer's box when it proved its key (the engine is strict, SetPeerBoxes); zero
	// when it is known only by Addr, so boxes behind one address are told apart when they can be.
	Box            media.BoxID
	Addr           netip.Addr // where it last sent from
	Bytes          int64
	BytesPerSecond int64 // over the time chunks kept arriving from the peer; 0 = too little data
}

// PeerRates returns the measured throughput per peer (box, else address) since the engine
// started, for the head-end (SCHED-5), in address then box order.
func (e *Engine) PeerRates() []PeerRate {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []PeerRate
	for k, m := range e.rates {
		pr := PeerRate{Box: k.box, Addr: m.addr, Bytes: m.bytes}
		if m.active > 0 {
			pr.BytesPerSecond = int64(float64(m.bytes) / m.active.Seconds())
		}
		out = append(out, pr)
	}
	slices.SortFunc(out, func(a, b PeerRate) int {
		return cmp.Or(a.Addr.Compare(b.Addr), slices.Compare(a.Box[:], b.Box[:]))
	})
	return out
}

// isWebSeed says whether a peer's address is a web seed's: the torrent client gives a web seed
// an address whose network is the URL's scheme and whose String is the URL's host:port, which
// parses as a peer's address, so the scheme is what tells them apart.
func isWebSeed(a any) bool {
	na, ok := a.(interface{ Network() string })
	if !ok {
		return false
	}
	n := na.Network()
	return n == "http" || n == "https"
}
