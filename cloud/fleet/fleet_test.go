package fleet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"swarmbox/cloud/store"
	"swarmbox/media"
	"swarmbox/sync/protocol"
)

var t0 = time.Date(2026, 12, 2, 18, 0, 0, 0, time.UTC)

func box(n byte) media.BoxID   { return media.BoxID{n} }
func item(n byte) media.ItemID { return media.ItemID{n} }

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

// world is a hand-built fleet with a known optimum: two regions, three titles.
//
//   - A (100 bytes): n1 got it whole from the server, n2 (n1's LAN neighbour) and s1 (south)
//     from boxes. It left the server once: the bound is 100, split 200:100 north:south.
//   - B (50 bytes): s1 held it whole from the factory; n1 got it from s1. The bound is 0.
//   - C (80 bytes): n2 got its first 40 bytes from the server, s1 the same 40 from n2. The
//     most any box received is 40: the bound is 40, split 40:40.
//
// Delivered: 430 bytes; the server sent 140, which is the bound: the plan was optimal.
func world() Input {
	return Input{
		Reports: []store.Report{
			{Box: box(1), Region: "north", Network: "isp-a", Neighbors: []media.BoxID{box(2)}, Updated: t0.Add(-10 * time.Second),
				Rates: []store.PeerRate{{Box: box(3), Bytes: 50}}},
			{Box: box(2), Region: "north", Network: "isp-a", Updated: t0.Add(-90 * time.Second),
				Rates: []store.PeerRate{{Box: box(1), Bytes: 100}}},
			{Box: box(3), Region: "south", Network: "isp-a", Updated: t0.Add(-5 * time.Minute),
				Rates: []store.PeerRate{{Box: box(1), Bytes: 60}, {Box: box(2), Bytes: 40}}},
		},
		States: []store.BoxState{
			{ID: box(1), Wishlist: []media.ItemID{item('B')}, Holdings: []protocol.Holding{{Item: item('A'), Complete: true, Pieces: 4}, {Item: item('B'), Complete: true, Pieces: 2}}},
			{ID: box(2), Wishlist: []media.ItemID{item('A'), item('C')}, Holdings: []protocol.Holding{{Item: item('A'), Complete: true, Pieces: 4}, {Item: item('C'), Pieces: 2}}},
			{ID: box(3), Wishlist: []media.ItemID{item('A'), item('C')}, Holdings: []protocol.Holding{{Item: item('A'), Complete: true, Pieces: 4}, {Item: item('B'), Complete: true, Pieces: 2}, {Item: item('C'), Pieces: 2}}},
		},
		Transfers: []store.Transfer{
			{Box: box(1), Item: item('A'), BytesFromServer: 100, Complete: true},
			{Box: box(1), Item: item('B'), BytesFromPeers: 50, Complete: true},
			{Box: box(2), Item: item('A'), BytesFromPeers: 100, Complete: true},
			{Box: box(2), Item: item('C'), BytesFromServer: 40},
			{Box: box(3), Item: item('A'), BytesFromPeers: 100, Complete: true},
			{Box: box(3), Item: item('C'), BytesFromPeers: 40},
		},
		Titles: map[media.ItemID]string{item('A'): "Alpha", item('B'): "Beta", item('C'): "Gamma"},
		Sizes:  map[media.ItemID]int64{item('A'): 100, item('B'): 50, item('C'): 80},
		Plans:  map[string]time.Time{"north": t0.Add(-30 * time.Second)},
	}
}

func TestGlobalBoundOnHandBuiltWorld(t *testing.T) {
	f := Compute(world(), t0, 2*time.Minute, 10)
	for _, c := range []struct {
		region                string
		delivered, server     int64
		bound, share, boundSh float64
		boxes, online         int
	}{
		{"north", 290, 140, 200.0/3 + 20, 140.0 / 290, (200.0/3 + 20) / 290, 2, 2},
		{"south", 140, 0, 100.0/3 + 20, 0, (100.0/3 + 20) / 140, 1, 0},
		{"all regions", 430, 140, 140, 140.0 / 430, 140.0 / 430, 3, 2},
	} {
		r, ok := f.Region(c.region)
		if c.region == "all regions" {
			r, ok = f.Total, true
		}
		if !ok {
			t.Fatalf("no region %q in %+v", c.region, f.Regions)
		}
		if r.Delivered() != c.delivered || r.ServerBytes != c.server || !near(r.BoundBytes, c.bound) ||
			!near(r.ServerShare(), c.share) || !near(r.BoundShare(), c.boundSh) || r.Boxes != c.boxes || r.Online != c.online {
			t.Errorf("%s: delivered %d server %d bound %.3f share %.4f bound share %.4f boxes %d online %d; want %d %d %.3f %.4f %.4f %d %d",
				c.region, r.Delivered(), r.ServerBytes, r.BoundBytes, r.ServerShare(), r.BoundShare(), r.Boxes, r.Online,
				c.delivered, c.server, c.bound, c.share, c.boundSh, c.boxes, c.online)
		}
	}
	if !near(f.Total.OverBound(), 1) {
		t.Errorf("the plan sent each title once: server over bound %.4f, want 1", f.Total.OverBound())
	}
}

// TestBoundCases: what counts towards the bound, one change to the world at a time.
func TestBoundCases(t *testing.T) {
	for _, c := range []struct {
		name   string
		change func(*Input)
		bound  float64 // global bound bytes
	}{
		{"as built", func(*Input) {}, 140},
		{"no preload: B leaves the server once", func(in *Input) {
			in.States[2].Holdings = append(in.States[2].Holdings[:1], in.States[2].Holdings[2:]...)
		}, 190},
		{"a re-fetched title counts its size at most", func(in *Input) { in.Transfers[0].BytesFromServer = 130 }, 140},
		{"unknown size: the most one box received", func(in *Input) {
			in.Transfers[0].BytesFromServer = 130
			delete(in.Sizes, item('A'))
		}, 170},
		{"nothing delivered", func(in *Input) { in.Transfers = nil }, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := world()
			c.change(&in)
			f := Compute(in, t0, time.Minute, 10)
			if !near(f.Total.BoundBytes, c.bound) {
				t.Fatalf("bound %.3f bytes, want %.3f", f.Total.BoundBytes, c.bound)
			}
			var sum float64
			for _, r := range f.Regions {
				sum += r.BoundBytes
			}
			if !near(sum, f.Total.BoundBytes) {
				t.Fatalf("regions' bounds add up to %.3f, the global bound is %.3f", sum, f.Total.BoundBytes)
			}
		})
	}
}

func TestBytesByOrigin(t *testing.T) {
	f := Compute(world(), t0, time.Minute, 10)
	for _, c := range []struct {
		region string
		want   map[Origin]int64
	}{
		// n1 got 50 from s1 (another region), n2 100 from its LAN neighbour n1.
		{"north", map[Origin]int64{Server: 140, LAN: 100, OtherRegion: 50}},
		// s1 got 100 from north boxes per its peer counters, 140 per its item totals.
		{"south", map[Origin]int64{OtherRegion: 100, Unattributed: 40}},
	} {
		r, _ := f.Region(c.region)
		for _, o := range Origins {
			if r.Bytes[o] != c.want[o] {
				t.Errorf("%s from %s: %d bytes, want %d", c.region, o, r.Bytes[o], c.want[o])
			}
		}
	}
	// The tiers as the scheduler compares them: located region first, then the network.
	for _, c := range []struct {
		name     string
		receiver store.Report
		peer     store.Report
		want     Origin
	}{
		{"neighbour named by the peer", store.Report{Region: "n"}, store.Report{Region: "n", Neighbors: []media.BoxID{box(1)}}, LAN},
		{"same network", store.Report{Region: "n", Network: "x"}, store.Report{Region: "n", Network: "x"}, SameNetwork},
		{"no network is not the same network", store.Report{Region: "n"}, store.Report{Region: "n"}, OtherNetwork},
		{"other network", store.Report{Region: "n", Network: "x"}, store.Report{Region: "n", Network: "y"}, OtherNetwork},
		{"located elsewhere", store.Report{Region: "n", Network: "x"}, store.Report{Region: "n", Located: "s", Network: "x"}, OtherRegion},
		{"account elsewhere, located here", store.Report{Region: "n"}, store.Report{Region: "s", Located: "n", Neighbors: nil, Network: ""}, OtherNetwork},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.receiver.Box, c.peer.Box = box(1), box(2)
			c.receiver.Rates = []store.PeerRate{{Box: box(2), Bytes: 7}}
			var got []Origin
			peerSources([]store.Report{c.receiver, c.peer}, nil, func(b media.BoxID, o Origin, n int64) {
				if b == box(1) && n == 7 {
					got = append(got, o)
				}
			})
			if len(got) != 1 || got[0] != c.want {
				t.Fatalf("origins %v, want %v", got, c.want)
			}
		})
	}
}

func TestTopTitlesAndSwarms(t *testing.T) {
	f := Compute(world(), t0, time.Minute, 2)
	for _, c := range []struct {
		region string
		want   []Title
	}{
		{"north", []Title{{Title: "Alpha", Wishes: 1, Holders: 2}, {Title: "Beta", Wishes: 1, Holders: 1}}},
		{"south", []Title{{Title: "Alpha", Wishes: 1, Holders: 1}, {Title: "Gamma", Wishes: 1, Downloading: 1}}},
		{"", []Title{{Title: "Alpha", Wishes: 2, Holders: 3}, {Title: "Gamma", Wishes: 2, Downloading: 2}}},
	} {
		r, _ := f.Region(c.region)
		if c.region == "" {
			r = f.Total
		}
		show := func(ts []Title) string {
			var out []string
			for _, ti := range ts {
				out = append(out, fmt.Sprintf("%s wishes %d holders %d downloading %d", ti.Title, ti.Wishes, ti.Holders, ti.Downloading))
			}
			return strings.Join(out, "; ")
		}
		if got, want := show(r.Top), show(c.want); got != want {
			t.Errorf("%q top titles: %s, want %s", c.region, got, want)
		}
	}
}

func TestPlanAgeAndDeadlines(t *testing.T) {
	f := Compute(world(), t0, time.Minute, 10)
	north, _ := f.Region("north")
	south, _ := f.Region("south")
	if age, ok := north.PlanAge(t0); !ok || age != 30*time.Second {
		t.Errorf("north plan age %v %v, want 30s", age, ok)
	}
	if _, ok := south.PlanAge(t0); ok {
		t.Error("south was never planned, yet has a plan age")
	}
	if north.DeadlinesMet.String() != "—" {
		t.Errorf("deadlines are not stored yet: %q, want —", north.DeadlinesMet)
	}
	for _, c := range []struct {
		r    Ratio
		want string
	}{{Ratio{}, "—"}, {Ratio{Known: true}, "none due"}, {Ratio{Met: 3, Total: 4, Known: true}, "3/4 (75%)"}} {
		if c.r.String() != c.want {
			t.Errorf("%+v: %q, want %q", c.r, c.r.String(), c.want)
		}
	}
}

// fakeReader counts its reads and fails on demand.
type fakeReader struct {
	in    Input
	reads int
	err   error
}

func (f *fakeReader) Reports(context.Context) ([]store.Report, error) {
	f.reads++
	return f.in.Reports, f.err
}
func (f *fakeReader) BoxStates(context.Context) ([]store.BoxState, error)     { return f.in.States, nil }
func (f *fakeReader) Transfers(context.Context) ([]store.Transfer, error)     { return f.in.Transfers, nil }
func (f *fakeReader) PlanTimes(context.Context) (map[string]time.Time, error) { return f.in.Plans, nil }
func (f *fakeReader) Catalog(context.Context) (protocol.Catalog, error) {
	var c protocol.Catalog
	for id, title := range f.in.Titles {
		c.Items = append(c.Items, protocol.CatalogItem{ID: id, Title: title, SealedSize: f.in.Sizes[id]})
	}
	return c, nil
}

func TestSourceReusesFiguresForMaxAge(t *testing.T) {
	now := t0
	r := &fakeReader{in: world()}
	s := &Source{Store: r, MaxAge: 2 * time.Second, Now: func() time.Time { return now }}
	for _, step := range []struct {
		after time.Duration
		reads int
	}{{0, 1}, {time.Second, 1}, {2 * time.Second, 2}, {-time.Hour, 3}} {
		now = now.Add(step.after)
		if _, err := s.Figures(context.Background()); err != nil || r.reads != step.reads {
			t.Fatalf("after %v: %d reads, err %v; want %d", step.after, r.reads, err, step.reads)
		}
	}
	r.err = errors.New("disk on fire")
	now = now.Add(time.Minute)
	if _, err := s.Figures(context.Background()); err == nil || !strings.Contains(err.Error(), "disk on fire") {
		t.Fatalf("a failed read: %v", err)
	}
}

func TestCollector(t *testing.T) {
	r := &fakeReader{in: world()}
	now := t0
	reg := prometheus.NewRegistry()
	reg.MustRegister(Collector{Source: &Source{Store: r, Now: func() time.Time { return now }}, Log: slog.New(slog.DiscardHandler)})
	got := gathered(t, reg)
	for k, v := range map[string]float64{
		`swarmbox_fleet_figures_ok`:                                            1,
		`swarmbox_region_boxes{region="north",state="online"}`:                 2,
		`swarmbox_region_boxes{region="south",state="offline"}`:                1,
		`swarmbox_region_plan_age_seconds{region="north"}`:                     30,
		`swarmbox_region_received_bytes{region="north",source="lan"}`:          100,
		`swarmbox_region_received_bytes{region="south",source="unattributed"}`: 40,
		`swarmbox_region_server_share{region="all regions"}`:                   -1, // not a region
		`swarmbox_region_server_share_bound{region="south"}`:                   (100.0/3 + 20) / 140,
		`swarmbox_region_plan_age_seconds{region="south"}`:                     -1, // never planned
	} {
		if have, ok := got[k]; v == -1 && ok || v != -1 && (!ok || !near(have, v)) {
			t.Errorf("%s: %v (present %v), want %v (-1: absent)", k, have, ok, v)
		}
	}
	r.err = errors.New("store gone")
	now = now.Add(time.Minute)
	got = gathered(t, reg)
	if got["swarmbox_fleet_figures_ok"] != 0 || len(got) != 1 {
		t.Fatalf("a store that cannot be read: %v, want only swarmbox_fleet_figures_ok 0", got)
	}
}

// gathered is every series of reg, as NAME{LABEL="VALUE",…} → value.
func gathered(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			k := mf.GetName()
			if len(labels) > 0 {
				k += "{" + strings.Join(labels, ",") + "}"
			}
			out[k] = m.GetGauge().GetValue()
		}
	}
	return out
}

// TestSourceConcurrent: pages and scrapes ask at once (run with -race).
func TestSourceConcurrent(t *testing.T) {
	s := &Source{Store: &fakeReader{in: world()}, MaxAge: time.Nanosecond}
	done := make(chan error)
	for range 8 {
		go func() {
			var err error
			for range 20 {
				if _, err = s.Figures(context.Background()); err != nil {
					break
				}
			}
			done <- err
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}
