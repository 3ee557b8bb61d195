package sales

import (
	"bufio"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strings"
)

// Reasons a license is refused; each is a label of the refusal metric and a row in the audit log.
const (
	ReasonAccountInactive = "account_inactive"     // LIC-1: the account is suspended or closed
	ReasonItemRegion      = "item_region"          // LIC-2: the title is not licensed in the box's region
	ReasonNetworkRegion   = "network_region"       // LIC-2: the request came from another region's network
	ReasonUnknownNetwork  = "network_unknown"      // LIC-2: a region map is set and the network is on none of it
	ReasonBalance         = "insufficient_balance" // not a policy: the account cannot pay
)

// Refusal is a license the policy refuses, with the reason code and what to tell the customer.
type Refusal struct {
	Reason string
	Detail string
}

func (r *Refusal) Error() string { return r.Detail }

// RegionNet maps a network to the region its addresses are in.
type RegionNet struct {
	Prefix netip.Prefix
	Region string
}

// Policy decides whether a license may be issued (requirements LIC-1, LIC-2, LIC-3). Expiry (LIC-3) is applied by
// the issuer: every license carries an end, rentals after their window and owned titles after
// the renewal period; a renewal passes through this same policy, so a suspended account cannot
// renew.
type Policy struct {
	// RegionMap, when not empty, says which region each source network is in; a request from a
	// network in another region than the box's, or from a network on no line, is refused.
	RegionMap []RegionNet
}

// Request is what the policy looks at.
type Request struct {
	AccountStatus string
	BoxRegion     string   // from the box's registration (its account's region)
	ItemRegions   []string // where the title may be licensed; empty means everywhere
	Source        netip.Addr
}

// Check returns nil or a *Refusal.
func (p Policy) Check(r Request) error {
	if r.AccountStatus != "active" {
		return &Refusal{ReasonAccountInactive, fmt.Sprintf("the account is %s: licenses and renewals need an active account", r.AccountStatus)}
	}
	if len(r.ItemRegions) > 0 && !slices.Contains(r.ItemRegions, r.BoxRegion) {
		return &Refusal{ReasonItemRegion, fmt.Sprintf("this title is not available in region %s", r.BoxRegion)}
	}
	if len(p.RegionMap) == 0 {
		return nil
	}
	src := r.Source.Unmap()
	best := -1
	region := ""
	for _, n := range p.RegionMap {
		if n.Prefix.Contains(src) && n.Prefix.Bits() > best {
			best, region = n.Prefix.Bits(), n.Region
		}
	}
	switch {
	case best < 0:
		return &Refusal{ReasonUnknownNetwork, fmt.Sprintf("requests from %s are not from any network of the operator's region map", src)}
	case region != r.BoxRegion:
		return &Refusal{ReasonNetworkRegion, fmt.Sprintf("the box is registered in region %s but the request came from a network in %s", r.BoxRegion, region)}
	}
	return nil
}

// ParseRegionMap reads lines of "CIDR REGION"; blank lines and lines starting with # are skipped.
func ParseRegionMap(r io.Reader) ([]RegionNet, error) {
	var out []RegionNet
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 2 {
			return nil, fmt.Errorf("region map line %d: want \"CIDR REGION\", got %q", n, line)
		}
		p, err := netip.ParsePrefix(f[0])
		if err != nil {
			return nil, fmt.Errorf("region map line %d: %w", n, err)
		}
		out = append(out, RegionNet{Prefix: p.Masked(), Region: f[1]})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("region map: %w", err)
	}
	return out, nil
}
