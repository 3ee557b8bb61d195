package scheduler

import (
	"errors"
	"strings"
	"testing"
	"time"

	"swarmbox/media"
)

// TestDeadlineWishes (SCHED-18): a wish with a deadline takes peers first, the server only where
// the peers cannot finish by the deadline: in the off-peak slot when the server still finishes
// by then, at once otherwise. Items are 1 MB, uplinks 1,000 B/s (a peer needs 1,000 s) or a slow
// 100 B/s.
func TestDeadlineWishes(t *testing.T) {
	offPeak := t0.Add(time.Hour)
	calendar := []Slot{{Start: t0.Add(-time.Hour), End: offPeak, Budget: 1 << 40, Peak: true}, {Start: offPeak, End: offPeak.Add(2 * time.Hour), Budget: 1 << 40}}
	holder := func(up int64) Box { b := hold(bx(1, "r", "n", ""), 1); b.Uplink = up; return b }
	tests := []struct {
		name    string
		holder  *Box // holds item 1 in the receiver's region; nil: only the server has it
		by      time.Duration
		slots   []Slot
		server  bool
		start   time.Time // of the server's part
		sources int
	}{
		{"peers finish in time: no server", &[]Box{holder(1000)}[0], 2 * time.Hour, calendar, false, time.Time{}, 1},
		{"peers late, the window too: the server now", &[]Box{holder(1000)}[0], 10 * time.Minute, calendar, true, t0, 1},
		{"slow peer, the window in time: peers now, the server off-peak", &[]Box{holder(100)}[0], 2 * time.Hour, calendar, true, offPeak, 1},
		{"only the server, the window in time", nil, 2 * time.Hour, calendar, true, offPeak, 0},
		{"only the server, the window too late", nil, 30 * time.Minute, calendar, true, t0, 0},
		{"no calendar, peers in time", &[]Box{holder(1000)}[0], 2 * time.Hour, nil, false, time.Time{}, 1},
		{"no calendar, slow peer", &[]Box{holder(100)}[0], 2 * time.Hour, nil, true, t0, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// The deadline wish is the receiver's second: the top wish (item 3, held on its
			// LAN) never decides here.
			recv := wish(bx(2, "r", "n", "home"), 3, 1)
			recv.Downlink = 10_000 // room for both wishes
			recv.Deadlines = map[media.ItemID]time.Time{iid(1): t0.Add(tc.by)}
			boxes := []Box{recv, hold(bx(9, "r", "n", "home"), 3)}
			if tc.holder != nil {
				boxes = append(boxes, *tc.holder)
			}
			s := snap(boxes...)
			s.Slots = tc.slots
			s.Config.Horizon = time.Hour
			p := mustPlan(t, s)
			f, ok := p.For(bid(2), iid(1))
			if !ok {
				t.Fatalf("no fetch of the deadline wish")
			}
			if f.Server != tc.server || (tc.server && !f.Start.Equal(tc.start)) || len(f.Sources) != tc.sources {
				t.Errorf("fetch: server %v from %v, %d sources; want server %v from %v, %d sources", f.Server, f.Start, len(f.Sources), tc.server, tc.start, tc.sources)
			}
		})
	}
}

// TestDeadlineValidation: a deadline for an item the box does not wish, or a zero one, is
// refused with the field named.
func TestDeadlineValidation(t *testing.T) {
	for _, tc := range []struct {
		name string
		d    map[media.ItemID]time.Time
	}{
		{"boxes[0].deadlines", map[media.ItemID]time.Time{iid(2): t0}},
		{"zero time", map[media.ItemID]time.Time{iid(1): {}}},
	} {
		b := wish(bx(1, "r", "n", ""), 1)
		b.Deadlines = tc.d
		_, err := Compute(snap(b))
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.name) {
			t.Errorf("%v: err %v, want ErrInvalid naming %q", tc.d, err, tc.name)
		}
	}
}
