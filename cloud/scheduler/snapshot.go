// Package scheduler plans transfers: from every box's prioritized wishlist and what every box
// holds, it decides which box fetches what from whom and at which rate, when the operator's
// server may send, which items boxes pull into cache space for others, and what they evict.
//
// It is pure and deterministic: a snapshot in, a plan out, no I/O and no clock (the current time
// and the server's slot calendar are part of the snapshot). Compute plans a whole round;
// State keeps a round's bookkeeping so that one box's sync re-plans only that box (Update).
package scheduler

import (
	"cmp"
	"errors"
	"fmt"
	"time"

	"swarmbox/media"
)

// Snapshot is everything the planner knows.
type Snapshot struct {
	Now   time.Time
	Items map[media.ItemID]Item
	Boxes []Box
	// Rates are measured box→box throughputs (from box reports); a pair without one is
	// estimated from the link caps.
	Rates []Rate
	// Slots is the server's calendar of egress budgets. Empty means the server may send at any
	// time without a budget (a pilot's head-end).
	Slots []Slot
	// Serving lists, per item, the boxes the server was sending it to in the previous plan.
	// They keep the server while they still need the item, so a copy is never restarted
	// elsewhere because another box reported progress.
	Serving map[media.ItemID][]media.BoxID
	// Forecast is predicted demand per region: how many more boxes there are expected to wish
	// an item soon (from the operator's forecast). It steers cache placements.
	Forecast map[string]map[media.ItemID]float64
	Config   Config
}

// Config holds the planner's knobs; zero fields get the defaults in DefaultConfig.
type Config struct {
	// Horizon is how soon a transfer should finish: peers that cannot deliver within it do not
	// keep the server away, and a costlier source tier is used only to finish within it.
	Horizon time.Duration
	// MaxSources caps the sources of one fetch.
	MaxSources int
	// MaxFetches caps the concurrent fetches of one box.
	MaxFetches int
	// DefaultUplink and DefaultDownlink (bytes/s) stand in for a box's unknown caps.
	DefaultUplink, DefaultDownlink int64
	// MinRate (bytes/s) is the smallest share worth planning; a source with less spare upload
	// counts as busy.
	MinRate int64
	// CacheFanout is how many wishing boxes one copy in a region is expected to serve; a region
	// whose copies fall short of demand/CacheFanout gets cache placements.
	CacheFanout int
	// MaxPlacements caps the cache placements per region per round.
	MaxPlacements int
	// RangePlacements turns range placements on (see RangeParts). Off by default: whoever
	// carries the plan to the boxes must honour Fetch.Range (fetch only those pieces) and report
	// Holding.Range, or a range placement would become a whole item in cache, and the server's
	// ranges whole server copies.
	RangePlacements bool
	// RangeParts is how many piece ranges an item is cut into for range placements: a flash
	// crowd's item is placed range by range into idle boxes' cache, so each idle uplink serves
	// its range to many receivers after fetching only a fraction of the item (CACHE-1, CACHE-2, SCHED-10).
	RangeParts int
	// RangeDemand is the least number of open wishes for an item in a region, and the least
	// number per supplying copy there, that makes the planner place ranges of it.
	RangeDemand int
	// RangeFanout is how many range holders per open wish a region aims at.
	RangeFanout int
	// MaxRangePlacements caps the new range placements per item and region per round.
	MaxRangePlacements int
	// SharedServerCopy splits the server's one copy of an item into a region among the region's
	// receivers, each taking a range of it from the server and the rest from the others (see
	// ledger.shared), instead of sending it all to the first receiver, whose uplink would then be
	// the only way in for the rest (SCHED-2, SCHED-4, SCHED-10). Whoever carries the plan must honour
	// Fetch.ServerRanges, or each receiver would take a whole copy from the server.
	SharedServerCopy bool
}

// MinPlannedRate (bytes/s) is the default Config.MinRate: the smallest share the planner plans.
// A box whose own link cap is below it would never be planned a transfer, so the box refuses
// such a cap at start.
const MinPlannedRate = 16_000

// DefaultConfig is what zero Config fields become.
var DefaultConfig = Config{
	Horizon:            6 * time.Hour,
	MaxSources:         5,
	MaxFetches:         3,
	DefaultUplink:      625_000,   // 5 Mbit/s
	DefaultDownlink:    3_125_000, // 25 Mbit/s
	MinRate:            MinPlannedRate,
	CacheFanout:        8,
	MaxPlacements:      32,
	RangeParts:         64,
	RangeDemand:        16,
	RangeFanout:        2,
	MaxRangePlacements: 512,
}

func (c Config) withDefaults() Config {
	d := DefaultConfig
	return Config{
		Horizon: cmp.Or(c.Horizon, d.Horizon), MaxSources: cmp.Or(c.MaxSources, d.MaxSources), MaxFetches: cmp.Or(c.MaxFetches, d.MaxFetches),
		DefaultUplink: cmp.Or(c.DefaultUplink, d.DefaultUplink), DefaultDownlink: cmp.Or(c.DefaultDownlink, d.DefaultDownlink),
		MinRate: cmp.Or(c.MinRate, d.MinRate), CacheFanout: cmp.Or(c.CacheFanout, d.CacheFanout), MaxPlacements: cmp.Or(c.MaxPlacements, d.MaxPlacements),
		RangeParts: cmp.Or(c.RangeParts, d.RangeParts), RangeDemand: cmp.Or(c.RangeDemand, d.RangeDemand), RangeFanout: cmp.Or(c.RangeFanout, d.RangeFanout),
		MaxRangePlacements: cmp.Or(c.MaxRangePlacements, d.MaxRangePlacements), RangePlacements: c.RangePlacements,
		SharedServerCopy: c.SharedServerCopy,
	}
}

// Item is a title as the planner sees it.
type Item struct {
	Size   int64 // bytes that travel (the sealed container)
	Pieces int
}

// Box is one box's state.
type Box struct {
	ID      media.BoxID
	Region  string // where the box is: the region of its address (SCHED-15), else its account's
	Network string // ISP or network label
	LAN     string // LAN id; boxes that found each other by mDNS share one; empty = alone
	NAT     bool   // behind NAT: cannot accept incoming connections
	Offline bool   // not reachable now: neither source nor receiver
	// Uplink and Downlink are link caps in bytes/s; 0 = unknown (Config defaults).
	Uplink, Downlink int64
	// MeasuredUplink is what receivers measured this box sending them, bytes/s per receiver,
	// over every receiver that reported it (decayed; 0 = unknown). A pair without a rate of its
	// own is estimated from it rather than from the caps (SCHED-5).
	MeasuredUplink int64
	// FreeWish and FreeCache are the bytes still free in the wishlist and cache areas.
	FreeWish, FreeCache int64
	// LastServed is when one of this box's own wishes last received bytes (not what it fetches
	// into its cache for others); LastUploaded when it last served.
	LastServed, LastUploaded time.Time
	Wishlist                 []media.ItemID // first = most wanted
	Holdings                 map[media.ItemID]Holding
	// Deadlines are the household's "ready by" times for some of its wishes (SCHED-18): peers
	// first, the server only where they cannot finish in time, in an off-peak slot when one
	// still lets it finish, at once otherwise.
	Deadlines map[media.ItemID]time.Time
}

// Holding is what a box has of an item.
type Holding struct {
	Pieces   int
	Complete bool
	Cache    bool // held in the cache area (placed for others), so it may be evicted
	// Range, when not empty, says the box was placed only the pieces [Begin, End) (a range
	// placement) and Pieces counts those it holds; it serves that range once it holds all of it.
	Range PieceRange
}

// Rate is a measured throughput from one box to another, bytes per second.
type Rate struct {
	From, To       media.BoxID
	BytesPerSecond int64
}

// Slot is one period of the server's calendar with its egress budget in bytes.
type Slot struct {
	Start, End time.Time
	Budget     int64
	Peak       bool // busy hours: only top wishes may use the server
}

// ErrInvalid wraps every validation error of a snapshot.
var ErrInvalid = errors.New("invalid snapshot")

func invalid(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, a...)...)
}

// Validate checks a snapshot and names the first bad field.
func (s Snapshot) Validate() error {
	for id, it := range s.Items {
		if it.Size < 0 {
			return invalid("items[%s].size: negative (%d)", id, it.Size)
		}
		if it.Pieces < 0 {
			return invalid("items[%s].pieces: negative (%d)", id, it.Pieces)
		}
		if it.Size > 0 && it.Pieces == 0 {
			return invalid("items[%s].pieces: zero for %d bytes", id, it.Size)
		}
	}
	seen := make(map[media.BoxID]bool, len(s.Boxes))
	for i, b := range s.Boxes {
		if seen[b.ID] {
			return invalid("boxes[%d].id: duplicate box %s", i, b.ID)
		}
		seen[b.ID] = true
		if err := validateBox(i, b, func(id media.ItemID) (int, bool) { it, ok := s.Items[id]; return it.Pieces, ok }, len(s.Items)); err != nil {
			return err
		}
	}
	for i, r := range s.Rates {
		if !seen[r.From] {
			return invalid("rates[%d].from: unknown box %s", i, r.From)
		}
		if !seen[r.To] {
			return invalid("rates[%d].to: unknown box %s", i, r.To)
		}
		if r.BytesPerSecond < 0 {
			return invalid("rates[%d].bytes_per_second: negative (%d)", i, r.BytesPerSecond)
		}
	}
	for i, sl := range s.Slots {
		if !sl.End.After(sl.Start) {
			return invalid("slots[%d].end: not after start", i)
		}
		if sl.Budget < 0 {
			return invalid("slots[%d].budget: negative (%d)", i, sl.Budget)
		}
		if i > 0 && sl.Start.Before(s.Slots[i-1].End) {
			return invalid("slots[%d].start: overlaps slots[%d]", i, i-1)
		}
	}
	for it, boxes := range s.Serving {
		if _, ok := s.Items[it]; !ok {
			return invalid("serving[%s]: unknown item", it)
		}
		for j, b := range boxes {
			if !seen[b] {
				return invalid("serving[%s][%d]: unknown box %s", it, j, b)
			}
		}
	}
	for region, f := range s.Forecast {
		for it, v := range f {
			if _, ok := s.Items[it]; !ok {
				return invalid("forecast[%s][%s]: unknown item", region, it)
			}
			if v < 0 || v != v {
				return invalid("forecast[%s][%s]: %v is not a count", region, it, v)
			}
		}
	}
	c := s.Config
	if c.Horizon < 0 || c.MaxSources < 0 || c.MaxFetches < 0 || c.DefaultUplink < 0 || c.DefaultDownlink < 0 || c.MinRate < 0 || c.CacheFanout < 0 || c.MaxPlacements < 0 ||
		c.RangeParts < 0 || c.RangeDemand < 0 || c.RangeFanout < 0 || c.MaxRangePlacements < 0 {
		return invalid("config: negative value")
	}
	return nil
}

// validateBox checks one box against the catalog (pieces of an item id, and whether it exists).
func validateBox(i int, b Box, pieces func(media.ItemID) (int, bool), items int) error {
	for _, f := range []struct {
		name string
		v    int64
	}{{"uplink", b.Uplink}, {"downlink", b.Downlink}, {"measured_uplink", b.MeasuredUplink}, {"free_wish", b.FreeWish}, {"free_cache", b.FreeCache}} {
		if f.v < 0 {
			return invalid("boxes[%d].%s: negative (%d)", i, f.name, f.v)
		}
	}
	if len(b.Wishlist) > items {
		return invalid("boxes[%d].wishlist: %d wishes for %d items", i, len(b.Wishlist), items)
	}
	wished := make(map[media.ItemID]bool, len(b.Wishlist))
	for j, w := range b.Wishlist {
		if _, ok := pieces(w); !ok {
			return invalid("boxes[%d].wishlist[%d]: unknown item %s", i, j, w)
		}
		if wished[w] {
			return invalid("boxes[%d].wishlist[%d]: duplicate item %s", i, j, w)
		}
		wished[w] = true
	}
	for it, by := range b.Deadlines {
		if !wished[it] {
			return invalid("boxes[%d].deadlines[%s]: not on the wishlist", i, it)
		}
		if by.IsZero() {
			return invalid("boxes[%d].deadlines[%s]: zero time", i, it)
		}
	}
	for it, h := range b.Holdings {
		n, ok := pieces(it)
		if !ok {
			return invalid("boxes[%d].holdings[%s]: unknown item", i, it)
		}
		if h.Pieces < 0 || h.Pieces > n {
			return invalid("boxes[%d].holdings[%s].pieces: %d outside 0..%d", i, it, h.Pieces, n)
		}
		if r := h.Range; r != (PieceRange{}) {
			if r.Begin < 0 || r.End > n || r.Begin >= r.End {
				return invalid("boxes[%d].holdings[%s].range: [%d,%d) not inside 0..%d", i, it, r.Begin, r.End, n)
			}
			if h.Pieces > r.End-r.Begin {
				return invalid("boxes[%d].holdings[%s].pieces: %d more than the range's %d", i, it, h.Pieces, r.End-r.Begin)
			}
		}
	}
	return nil
}
