package headend

import (
	"context"
	"net"
	"net/netip"
	"sync"
	"time"

	"swarmbox/media"
)

// Prober finds out whether a box can be reached: whether a connection from outside the box's
// network to its BitTorrent address (the address its sync came from, the port it listens on)
// gets through. The head-end learns it rather than taking the box's word, because a box does
// not know what its home router does (NET-2).
type Prober interface {
	Reachable(ctx context.Context, addr netip.AddrPort) bool
}

// DialProber dials a box's address over TCP. From, when set, is the address it dials from: a
// second address of the head-end's, other than the one boxes sync with, so that a router that
// lets in only the address a box talked to (port-restricted, symmetric) is seen for what it is.
type DialProber struct {
	From    netip.Addr
	Timeout time.Duration // per probe (default 2 s)
}

// Reachable reports whether a TCP connection to addr opens within the timeout. It sends
// nothing: the box's BitTorrent port accepting is the claim checked.
func (p DialProber) Reachable(ctx context.Context, addr netip.AddrPort) bool {
	d := net.Dialer{Timeout: p.Timeout}
	if d.Timeout <= 0 {
		d.Timeout = 2 * time.Second
	}
	if p.From.IsValid() {
		d.LocalAddr = &net.TCPAddr{IP: p.From.AsSlice()}
	}
	c, err := d.DialContext(ctx, "tcp", addr.String())
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// How long a learned answer stands before it is checked again in the background: a home
// router's port forwards change rarely, but "unreachable" may have been a box whose BitTorrent
// port was not open yet. A new address is probed at once.
const (
	reprobeReachable   = 15 * time.Minute
	reprobeUnreachable = time.Minute
)

// reach remembers what probes found, per box, for the address they probed.
type reach struct {
	mu    sync.Mutex
	boxes map[media.BoxID]reachEntry
}

type reachEntry struct {
	addr    netip.AddrPort
	ok      bool
	at      time.Time
	probing bool
}

// reachable says whether box, syncing with BitTorrent address addr (host:port, "" when it does
// not seed yet), can be reached. A new address is probed before the sync is planned, so the
// plan never pairs two boxes on a guess; a known one is answered from memory and checked again
// in the background once it is old. Without a prober it is the box's word.
func (s *Server) reachable(ctx context.Context, box media.BoxID, addr string, claimsNAT bool) bool {
	p := s.cfg.Prober
	ap, err := netip.ParseAddrPort(addr)
	if p == nil || err != nil {
		return !claimsNAT
	}
	now := s.cfg.Now()
	r := &s.reach
	r.mu.Lock()
	if r.boxes == nil {
		r.boxes = map[media.BoxID]reachEntry{}
	}
	e, known := r.boxes[box]
	known = known && e.addr == ap
	standsFor := reprobeUnreachable
	if e.ok {
		standsFor = reprobeReachable
	}
	stale := known && !e.probing && now.Sub(e.at) > standsFor
	if stale {
		e.probing = true
		r.boxes[box] = e
	}
	r.mu.Unlock()
	if stale {
		go s.probe(context.WithoutCancel(ctx), box, ap)
	}
	if !known {
		e = s.probe(ctx, box, ap)
	}
	// The box's own -behind-nat stays an override: a box may know it must not be dialled.
	return e.ok && !claimsNAT
}

// probe checks ap and records the answer for box.
func (s *Server) probe(ctx context.Context, box media.BoxID, ap netip.AddrPort) reachEntry {
	ok := s.cfg.Prober.Reachable(ctx, ap)
	e := reachEntry{addr: ap, ok: ok, at: s.cfg.Now()}
	r := &s.reach
	r.mu.Lock()
	before, had := r.boxes[box]
	r.boxes[box] = e
	r.mu.Unlock()
	if !had || before.addr != ap || before.ok != ok {
		s.cfg.Log.Info("box reachability learned", "box", box, "addr", ap, "reachable", ok)
	}
	return e
}
