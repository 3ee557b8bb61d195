package headend

import (
	"crypto/sha256"
	"sync"
	"time"

	"swarmbox/sync/protocol"
)

// replayGuard remembers the signatures of box requests for as long as their time is within
// protocol.MaxSkew, so that a captured request cannot be sent again. It is per instance: behind
// a load balancer, route each box to one instance (or accept that a replay could land once on
// each).
type replayGuard struct {
	mu    sync.Mutex
	seen  map[[16]byte]time.Time // signature hash → when it stops being valid anyway
	prune time.Time
}

// fresh records sig and reports whether it was not seen before.
func (g *replayGuard) fresh(sig string, now time.Time) bool {
	k := sha256.Sum256([]byte(sig))
	var key [16]byte
	copy(key[:], k[:])
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.seen == nil {
		g.seen = map[[16]byte]time.Time{}
	}
	if now.After(g.prune) {
		for k, until := range g.seen {
			if now.After(until) {
				delete(g.seen, k)
			}
		}
		g.prune = now.Add(protocol.MaxSkew / 4)
	}
	if until, ok := g.seen[key]; ok && !now.After(until) {
		return false
	}
	// A request dated up to MaxSkew ahead stays valid until 2×MaxSkew from now.
	g.seen[key] = now.Add(2 * protocol.MaxSkew)
	return true
}
