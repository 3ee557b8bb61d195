package sim

import (
	"fmt"
	"math"
	"testing"
	"time"

	"swarmbox/media"
)

// handWorld builds a world by hand: one 2 GB title wished at the start by every box, boxes
// spread round-robin over regions, each on its own LAN; preloaded lists the boxes that hold the
// title from the factory (they do not wish it).
func handWorld(boxes, regions int, preloaded ...int) *World {
	w := &World{Name: "hand", Seed: 1, Duration: 12 * time.Hour}
	w.titles = []title{{id: media.ItemID{0, 0, 0, 0}, size: 2 * gb, pieces: (2*gb + pieceSize - 1) / pieceSize}}
	for i := range boxes {
		var id media.BoxID
		id[0], id[1], id[2], id[3] = byte(i>>24), byte(i>>16), byte(i>>8), byte(i)
		b := box{id: id, region: int32(i % regions), lan: int32(i), isp: 0, first: -1,
			up: 5 * mbit, down: 25 * mbit, wishQuota: 200 * gb, cacheQuota: 40 * gb}
		b.regionName = fmt.Sprintf("r%02d", b.region)
		held := false
		for _, p := range preloaded {
			held = held || p == i
		}
		if held {
			b.preload = []int32{0}
		} else {
			b.first = 0
			w.wishes = append(w.wishes, wishEv{at: 0, box: int32(i), title: 0})
		}
		w.boxes = append(w.boxes, b)
	}
	return w
}

// TestGlobalLowerBound: on hand-built worlds whose optimum is known, the global bound is that
// optimum (one server copy of the title in all, none if a box holds it), the one-copy-per-region
// figure is what it says, no policy sends less than the bound, and the scheduler, fetching
// across regions, sends less than one copy per region with the bytes it moved across regions
// counted (SCHED-14).
func TestGlobalLowerBound(t *testing.T) {
	for _, tc := range []struct {
		name              string
		boxes, regions    int
		preloaded         []int
		global, perRegion float64
	}{
		{"four boxes, two regions", 4, 2, nil, 1.0 / 4, 2.0 / 4},
		{"eight boxes, four regions", 8, 4, nil, 1.0 / 8, 4.0 / 8},
		{"a box holds it", 4, 2, []int{0}, 0, 1.0 / 3},
		{"one region", 3, 1, nil, 1.0 / 3, 1.0 / 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := handWorld(tc.boxes, tc.regions, tc.preloaded...)
			if got := w.GlobalLowerBoundServerShare(); math.Abs(got-tc.global) > 1e-9 {
				t.Errorf("global lower bound %.4f, want %.4f", got, tc.global)
			}
			if got := w.RegionCopiesServerShare(); math.Abs(got-tc.perRegion) > 1e-9 {
				t.Errorf("one copy per region %.4f, want %.4f", got, tc.perRegion)
			}
			res, err := Run(w, Options{Step: 10 * time.Minute})
			if err != nil {
				t.Fatal(err)
			}
			for name, p := range res.Policies {
				t.Logf("%s: server share %.4f (%.2f × the bound), %d bytes across regions, %d unfinished", name, p.ServerShare,
					p.ServerShareOverGlobalBound, p.CrossRegionPeerBytes, p.Unfinished)
				if p.ServerShare < tc.global*0.999 {
					t.Errorf("%s: server share %.4f below the global lower bound %.4f: the flow model invents bytes", name, p.ServerShare, tc.global)
				}
				if p.Unfinished > 0 {
					t.Errorf("%s: %d wishes never ready in 12 hours", name, p.Unfinished)
				}
			}
			s := res.Policies[PolicyScheduler]
			if tc.regions > 1 && !(s.ServerShare < tc.perRegion && s.CrossRegionPeerBytes > 0) {
				t.Errorf("scheduler: server share %.4f with %d bytes across regions; want below one copy per region (%.4f), fetched across regions",
					s.ServerShare, s.CrossRegionPeerBytes, tc.perRegion)
			}
			if tc.regions == 1 && s.CrossRegionPeerBytes != 0 {
				t.Errorf("one region, yet %d bytes counted across regions", s.CrossRegionPeerBytes)
			}
		})
	}
}
