package headend

import (
	"net/netip"

	"swarmbox/cloud/netmap"
)

// Locator says where an address is (SCHED-15): a *netmap.File, which follows the operator's
// edits of the prefix file, or a fixed *netmap.Map.
type Locator interface {
	Lookup(netip.Addr) (netmap.Location, bool)
}

// locate is where the box whose sync came from client is: the network and region of the
// longest prefix of the operator's map that holds the address. Where no prefix holds it the
// region is the account's (Location.Region "") and the network the label the box reported,
// which only tests set (swarmboxd -network): a box never overrides what the operator's map
// says of its address.
func (s *Server) locate(client string, reported string) netmap.Location {
	if ip, ok := remoteIP(client); ok && s.cfg.Locations != nil {
		if loc, found := s.cfg.Locations.Lookup(ip); found {
			return loc
		}
	}
	return netmap.Location{Network: reported}
}
