package headend

import (
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"swarmbox/media"
)

// SeedGrantWindow is how often a box's web seed URLs change: a grant is valid until the end
// of the window after the one it was made in, so between one and two windows. Every sync
// that plans the server hands out the current window's URL, so a box that keeps syncing never
// holds an expired one, while a URL copied off the box stops working within two windows.
const SeedGrantWindow = 10 * time.Minute

// Errors of checkSeedGrant; the web seed answers them with 401.
var (
	errGrantMalformed = errors.New("web seed URL is not valid")
	errGrantExpired   = errors.New("web seed URL has expired: the box gets a fresh one at its next sync")
	errGrantElsewhere = errors.New("web seed URL was granted to another address: only the box it was planned for may use it, from where it syncs")
)

// noteSyncAddr remembers the address box's sync came from, which its web seed grants are bound
// to (see seedToken).
func (s *Server) noteSyncAddr(box media.BoxID, remote string) {
	if ip, ok := remoteIP(remote); ok {
		s.syncFrom.Store(box, ip)
	}
}

// remoteIP is the IP address of an http.Request.RemoteAddr, IPv4-mapped addresses unmapped.
func remoteIP(remote string) (netip.Addr, bool) {
	ap, err := netip.ParseAddrPort(remote)
	if err != nil {
		return netip.Addr{}, false
	}
	return ap.Addr().Unmap(), true
}

// seedToken is the path segment that grants box item's container from the web seed: the
// grant's expiry (Unix seconds) and a MAC over box, item, expiry and the address box's sync
// came from. A box fetches its web seed from the address it syncs from, so the grant works for
// it and for nobody else; and it expires, so a URL that leaked stops working. It is stateless:
// any head-end instance with the same key vault checks it.
func (s *Server) seedToken(box media.BoxID, item media.ItemID, now time.Time) string {
	ip, _ := s.syncFrom.Load(box)
	addr, _ := ip.(netip.Addr) // unknown: a grant no address matches
	exp := now.Truncate(SeedGrantWindow).Add(2 * SeedGrantWindow).Unix()
	return strconv.FormatInt(exp, 10) + "." + s.cfg.Vault.Token("seed", box.String(), item.String(), strconv.FormatInt(exp, 10), addr.String())
}

// checkSeedGrant checks a web seed token (see seedToken) for a request from remote at now.
func (s *Server) checkSeedGrant(token string, box media.BoxID, item media.ItemID, remote string, now time.Time) error {
	expS, mac, ok := strings.Cut(token, ".")
	if !ok {
		return errGrantMalformed
	}
	exp, err := strconv.ParseInt(expS, 10, 64)
	if err != nil || exp <= 0 || strconv.FormatInt(exp, 10) != expS {
		return errGrantMalformed
	}
	ip, ok := remoteIP(remote)
	if !ok {
		return errGrantElsewhere
	}
	if s.cfg.Vault.CheckToken(mac, "seed", box.String(), item.String(), expS, ip.String()) {
		if !now.Before(time.Unix(exp, 0)) {
			return errGrantExpired
		}
		return nil
	}
	// A MAC made for another address cannot be told from a forged one without the address;
	// the box's own last sync address says which it is, for a clear answer.
	if last, ok := s.syncFrom.Load(box); ok && last.(netip.Addr) != ip &&
		s.cfg.Vault.CheckToken(mac, "seed", box.String(), item.String(), expS, last.(netip.Addr).String()) {
		return errGrantElsewhere
	}
	return errGrantMalformed
}

// pinServedRange makes http.ServeContent serve exactly the byte range [begin, end) the share
// check approved: it rewrites Range in its canonical form and drops If-Range. The container
// carries no validators (no ETag, no modification time), so ServeContent would treat any
// If-Range as not matching and send the whole container with 200 (issue 13, item 4).
func pinServedRange(r *http.Request, begin, end int64) {
	r.Header.Del("If-Range")
	r.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", begin, end-1))
}
