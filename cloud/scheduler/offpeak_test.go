package scheduler

import (
	"testing"
	"time"
)

// TestOffPeakHelpKeepsPeers (SCHED-17): a wish whose peers cannot deliver within the horizon gets
// the server in the off-peak window for the rest, and keeps its peers sending now; a wish only
// the server has waits for the window; a box's re-plan after its sync keeps the same answer. At
// the window, the server sends now.
func TestOffPeakHelpKeepsPeers(t *testing.T) {
	window := t0.Add(6 * time.Hour)
	slots := []Slot{{Start: t0.Add(-time.Hour), End: window, Budget: 1 << 40, Peak: true}, {Start: window, End: window.Add(time.Hour), Budget: 1 << 40}}
	slow := func(b Box, up int64) Box { b.Uplink = up; return b }
	tests := []struct {
		name  string
		slots []Slot
		// wantStart: item → when the server starts (absent: no server); wantSources: item →
		// how many sources (-1: no fetch).
		wantStart   map[int]time.Time
		wantSources map[int]int
	}{
		{"peak: peers now, the server in the window", slots, map[int]time.Time{4: window, 1: window, 3: window}, map[int]int{4: 1, 1: 1, 3: 0}},
		// The server takes the downlink left: the lower wishes wait for the next round.
		{"in the window: the server now", []Slot{{Start: t0.Add(-time.Hour), End: window, Budget: 1 << 40}}, map[int]time.Time{4: t0}, map[int]int{4: 1, 1: -1, 3: -1}},
		{"no calendar: slow peers alone, the server only where none", nil, map[int]time.Time{3: t0}, map[int]int{4: 1, 1: 1, 3: 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := snap(hold(slow(bx(1, "r", "n", ""), 100), 1), hold(slow(bx(3, "r", "n", ""), 16), 4),
				wish(slow(bx(2, "r", "n", ""), 1000), 4, 1, 3))
			s.Slots = tc.slots
			s.Config.Horizon = 2 * time.Second
			s.Config.SharedServerCopy, s.Config.RangePlacements = true, true
			st, err := NewState(s)
			if err != nil {
				t.Fatal(err)
			}
			st.Round()
			check := func(when string, p Plan) {
				t.Helper()
				for it := 1; it <= 4; it++ {
					want, wanted := tc.wantStart[it]
					f, ok := p.For(bid(2), iid(it))
					if n := tc.wantSources[it]; n < 0 && ok {
						t.Errorf("%s: item %d: fetch %+v, want none", when, it, f)
					} else if n >= 0 && (!ok || len(f.Sources) != n) && (n > 0 || wanted) {
						t.Errorf("%s: item %d: fetch %v %+v, want %d sources", when, it, ok, f, n)
					}
					if !wanted {
						if ok && f.Server {
							t.Errorf("%s: item %d: the server sends (start %v), want peers only", when, it, f.Start)
						}
						continue
					}
					if !ok || !f.Server || !f.Start.Equal(want) {
						t.Errorf("%s: item %d: fetch %v %+v, want the server from %v", when, it, ok, f, want)
					}
				}
			}
			check("round", st.Plan())
			for range 3 {
				if _, err := st.Update(s.Boxes[2], t0); err != nil {
					t.Fatal(err)
				}
				check("sync", st.Plan())
			}
		})
	}
}
