// Package fleet computes the operator's live figures of the boxes, region by region (OPS-1):
// how much the server sends against the least it must send, where the boxes' bytes come from
// (the server, a box on the same LAN, on the same network, on another network, in another
// region), how many boxes are online, how old each region's plan is, and the most wished
// titles with their swarms. The figures follow from what the boxes reported and the head-end
// stored (Input); Compute reads no clock and no store, so every figure is a function of its
// inputs. Source reads the store and keeps the figures for a moment, for the operator's page
// and for /metrics alike.
package fleet

import (
	"cmp"
	"maps"
	"slices"
	"time"

	"swarmbox/cloud/store"
	"swarmbox/media"
)

// Input is what the figures are computed from: the store's view of every box.
type Input struct {
	Reports   []store.Report   // every registered box: its region, network, LAN neighbours, per-peer bytes, last report
	States    []store.BoxState // every box's wishlist and holdings
	Transfers []store.Transfer // every box's reported bytes per item, from the server and from peers
	Titles    map[media.ItemID]string
	Sizes     map[media.ItemID]int64 // sealed size of each item; 0 or absent = unknown
	Plans     map[string]time.Time   // when each region's plan was last published
}

// Origin is where a box's bytes came from.
type Origin int

// The origins, in the order the page shows them. Unattributed is what boxes reported receiving
// from peers beyond what their per-peer counters name (those restart with a box's transfer
// engine; the per-item totals do not).
const (
	Server Origin = iota
	LAN
	SameNetwork
	OtherNetwork
	OtherRegion
	Unattributed
	numOrigins
)

// Origins lists every Origin in order.
var Origins = []Origin{Server, LAN, SameNetwork, OtherNetwork, OtherRegion, Unattributed}

// String is the origin's label on /metrics.
func (s Origin) String() string {
	return [...]string{"server", "lan", "same_network", "other_network", "other_region", "unattributed"}[s]
}

// Label is the origin's name on the page.
func (s Origin) Label() string {
	return [...]string{"Server", "LAN", "Same network", "Other network", "Other region", "Unattributed"}[s]
}

// Region is one region's figures; Figures.Total is every region's together.
type Region struct {
	Name          string
	Boxes, Online int
	ServerBytes   int64 // what boxes report receiving from the server
	PeerBytes     int64 // what boxes report receiving from other boxes
	Bytes         [numOrigins]int64
	BoundBytes    float64   // the region's part of the least the server must send (bound.go)
	PlanAt        time.Time // when the region's plan was last published; zero: never
	DeadlinesMet  Ratio     // wishes with a deadline that were ready in time (deadlines.go)
	Top           []Title   // the most wished titles, most first
}

// Offline is the number of boxes that have not reported within the online window.
func (r Region) Offline() int { return r.Boxes - r.Online }

// Delivered is every byte boxes report receiving.
func (r Region) Delivered() int64 { return r.ServerBytes + r.PeerBytes }

// ServerShare is the server's share of the delivered bytes (0 with nothing delivered).
func (r Region) ServerShare() float64 { return share(float64(r.ServerBytes), r.Delivered()) }

// BoundShare is the least share the server could have had of the same deliveries.
func (r Region) BoundShare() float64 { return share(r.BoundBytes, r.Delivered()) }

// OverBound is ServerShare over BoundShare; 0 when the bound is 0.
func (r Region) OverBound() float64 {
	if r.BoundBytes <= 0 {
		return 0
	}
	return float64(r.ServerBytes) / r.BoundBytes
}

// PlanAge is how old the region's plan is at now; ok is false when it has none.
func (r Region) PlanAge(now time.Time) (age time.Duration, ok bool) {
	if r.PlanAt.IsZero() {
		return 0, false
	}
	return max(now.Sub(r.PlanAt), 0), true
}

// OriginBytes pairs an origin with its bytes, for the page.
type OriginBytes struct {
	Origin Origin
	Bytes  int64
}

// ByOrigin lists the region's bytes origin by origin.
func (r Region) ByOrigin() []OriginBytes {
	out := make([]OriginBytes, 0, numOrigins)
	for _, s := range Origins {
		out = append(out, OriginBytes{s, r.Bytes[s]})
	}
	return out
}

func share(part float64, whole int64) float64 {
	if whole <= 0 {
		return 0
	}
	return part / float64(whole)
}

// Title is a wished title and its swarm in one region.
type Title struct {
	Item        media.ItemID
	Title       string
	Wishes      int // boxes that wish it
	Holders     int // boxes that hold it whole (and can serve it)
	Downloading int // boxes that hold part of it
}

// Figures are the fleet's figures at one moment.
type Figures struct {
	At           time.Time
	OnlineWithin time.Duration // a box is online when it reported within this
	Regions      []Region      // by name
	Total        Region        // every region together; its bound is the global one
}

// Region returns the named region's figures.
func (f Figures) Region(name string) (Region, bool) {
	i := slices.IndexFunc(f.Regions, func(r Region) bool { return r.Name == name })
	if i < 0 {
		return Region{}, false
	}
	return f.Regions[i], true
}

// Compute works out the figures at now: a box is online when its last report is at most
// onlineWithin old; each region lists its top most wished titles.
func Compute(in Input, now time.Time, onlineWithin time.Duration, top int) Figures {
	f := Figures{At: now, OnlineWithin: onlineWithin}
	regions := map[string]*Region{}
	reg := func(name string) *Region {
		r := regions[name]
		if r == nil {
			r = &Region{Name: name}
			regions[name] = r
		}
		return r
	}
	home := map[media.BoxID]string{} // the region each box is counted in: its account's, the planning unit
	for _, rep := range in.Reports {
		home[rep.Box] = rep.Region
		r := reg(rep.Region)
		r.Boxes++
		if !rep.Updated.IsZero() && now.Sub(rep.Updated) <= onlineWithin {
			r.Online++
		}
	}
	peerSources(in.Reports, in.Transfers, func(box media.BoxID, s Origin, n int64) {
		reg(home[box]).Bytes[s] += n
	})
	for _, t := range in.Transfers {
		r := reg(home[t.Box])
		r.ServerBytes += t.BytesFromServer
		r.PeerBytes += t.BytesFromPeers
	}
	homeOf := func(b media.BoxID) string { return home[b] }
	for name, b := range boundBytes(in, homeOf) {
		reg(name).BoundBytes += b
	}
	swarms(in, homeOf, top, func(name string, ts []Title) { reg(name).Top = ts })
	for _, name := range slices.Sorted(maps.Keys(regions)) {
		r := regions[name]
		r.Bytes[Server] = r.ServerBytes
		r.PlanAt = in.Plans[name]
		r.DeadlinesMet = deadlinesMet(in, name)
		f.Regions = append(f.Regions, *r)
		addTo(&f.Total, r)
	}
	f.Total.Name = "all regions"
	f.Total.DeadlinesMet = deadlinesMet(in, "")
	f.Total.Top = nil
	swarms(in, func(media.BoxID) string { return "" }, top, func(_ string, ts []Title) { f.Total.Top = ts })
	return f
}

// addTo adds r's counts into the total; the total's plan time is its oldest region's.
func addTo(t *Region, r *Region) {
	t.Boxes += r.Boxes
	t.Online += r.Online
	t.ServerBytes += r.ServerBytes
	t.PeerBytes += r.PeerBytes
	for s := range t.Bytes {
		t.Bytes[s] += r.Bytes[s]
	}
	t.BoundBytes += r.BoundBytes
	if !r.PlanAt.IsZero() && (t.PlanAt.IsZero() || r.PlanAt.Before(t.PlanAt)) {
		t.PlanAt = r.PlanAt
	}
}

// peerSources splits the bytes each box received from peers by where the peer is, as seen from
// the receiver: on its LAN (either named the other a neighbour), in another region (where the
// head-end located it, else its account's region, as the scheduler's tiers compare them), on the
// same network, or on another. What a box's per-item totals count beyond its per-peer counters
// is Unattributed.
func peerSources(reports []store.Report, transfers []store.Transfer, add func(box media.BoxID, s Origin, n int64)) {
	byID := make(map[media.BoxID]*store.Report, len(reports))
	for i := range reports {
		byID[reports[i].Box] = &reports[i]
	}
	neighbours := func(a, b *store.Report) bool {
		return slices.Contains(a.Neighbors, b.Box) || slices.Contains(b.Neighbors, a.Box)
	}
	where := func(r *store.Report) string { return cmp.Or(r.Located, r.Region) }
	named := map[media.BoxID]int64{}
	for i := range reports {
		r := &reports[i]
		for _, pr := range r.Rates {
			if pr.Bytes <= 0 {
				continue
			}
			s := OtherNetwork
			if p := byID[pr.Box]; p != nil {
				switch {
				case neighbours(r, p):
					s = LAN
				case where(r) != where(p):
					s = OtherRegion
				case r.Network != "" && r.Network == p.Network:
					s = SameNetwork
				}
			}
			add(r.Box, s, pr.Bytes)
			named[r.Box] += pr.Bytes
		}
	}
	total := map[media.BoxID]int64{}
	for _, t := range transfers {
		total[t.Box] += t.BytesFromPeers
	}
	for box := range total { // sums: the order does not matter
		if rest := total[box] - named[box]; rest > 0 {
			add(box, Unattributed, rest)
		}
	}
}

// swarms finds each region's most wished titles and their swarms there, and hands each region's
// list (at most top, most wishes first, then most holders, then by title) to put.
func swarms(in Input, region func(media.BoxID) string, top int, put func(region string, ts []Title)) {
	type key struct {
		region string
		item   media.ItemID
	}
	ts := map[key]*Title{}
	get := func(region string, item media.ItemID) *Title {
		k := key{region, item}
		t := ts[k]
		if t == nil {
			t = &Title{Item: item, Title: in.Titles[item]}
			ts[k] = t
		}
		return t
	}
	wished := map[key]bool{}
	for _, st := range in.States {
		r := region(st.ID)
		for _, it := range st.Wishlist {
			get(r, it).Wishes++
			wished[key{r, it}] = true
		}
		for _, h := range st.Holdings {
			t := get(r, h.Item)
			if h.Complete {
				t.Holders++
			} else if h.Pieces > 0 {
				t.Downloading++
			}
		}
	}
	byRegion := map[string][]Title{}
	for k, t := range ts {
		if wished[k] {
			byRegion[k.region] = append(byRegion[k.region], *t)
		}
	}
	for _, r := range slices.Sorted(maps.Keys(byRegion)) {
		list := byRegion[r]
		slices.SortFunc(list, func(a, b Title) int {
			return cmp.Or(cmp.Compare(b.Wishes, a.Wishes), cmp.Compare(b.Holders, a.Holders),
				cmp.Compare(a.Title, b.Title), cmp.Compare(a.Item.String(), b.Item.String()))
		})
		put(r, list[:min(len(list), max(top, 0))])
	}
}
