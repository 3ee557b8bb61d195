package sim

import (
	"encoding/json"
	"path/filepath"
	"testing"
	"time"
)

// TestSmallFlash: 2,000 boxes, a new release wished by 30% of them. The planner's plans break
// no invariant in any round, the server sends the release into the region about once, and the
// scheduler's server share is below the tracker's and the CDN's. No timings are checked.
func TestSmallFlash(t *testing.T) {
	res := simulate(t, Flash, 2000, 1, Options{Duration: 3 * time.Hour, Step: 5 * time.Minute})
	for _, name := range Policies {
		p := res.Policies[name]
		if p.StorageViolations+p.UploadCapViolations+p.OtherViolations > 0 {
			t.Errorf("%s: %d storage, %d upload-cap, %d other violations", name, p.StorageViolations, p.UploadCapViolations, p.OtherViolations)
		}
	}
	s, tr, cdn := res.Policies[PolicyScheduler], res.Policies[PolicyTracker], res.Policies[PolicyCDN]
	if !(s.ServerShare < tr.ServerShare && s.ServerShare < cdn.ServerShare) {
		t.Errorf("server share: scheduler %.4f, tracker %.4f, cdn %.4f; want the scheduler lowest", s.ServerShare, tr.ServerShare, cdn.ServerShare)
	}
	if s.ServerCopiesPerRegionMax > 2 {
		t.Errorf("scheduler sent %.2f copies of one title into one region, want at most 2", s.ServerCopiesPerRegionMax)
	}
	if s.ServerShare < res.GlobalLowerBoundServerShare*0.999 {
		t.Errorf("scheduler server share %.5f below the global lower bound %.5f: the flow model invents bytes", s.ServerShare, res.GlobalLowerBoundServerShare)
	}
	if len(s.Series) == 0 {
		t.Error("no time series for the plot")
	}
	if err := Plot(res, "flash", filepath.Join(t.TempDir(), "p.png")); err != nil {
		t.Error(err)
	}
}

// TestDeterministicPerSeed: the same seed gives the same results (timings aside); another seed
// another world.
func TestDeterministicPerSeed(t *testing.T) {
	run := func(seed uint64) string {
		res := simulate(t, Standard, 300, seed, Options{Duration: 24 * time.Hour, Step: 30 * time.Minute})
		for _, p := range res.Policies {
			p.PlanSecondsPerRound, p.PeakRSSBytes = 0, 0
		}
		b, _ := json.Marshal(res)
		return string(b)
	}
	a, b, c := run(7), run(7), run(8)
	if a != b {
		t.Errorf("seed 7 twice:\n%s\n%s", a, b)
	}
	if a == c {
		t.Error("seeds 7 and 8 gave the same results")
	}
}

func TestBadWorkload(t *testing.T) {
	if _, err := NewWorld("tsunami", 10, 1); err == nil {
		t.Error("unknown workload accepted")
	}
	if _, err := NewWorld(Standard, 0, 1); err == nil {
		t.Error("zero boxes accepted")
	}
}

// TestShortRunCountsOnlyWishesMade: a run that ends before all wishes are made counts only
// those made, so no time-to-ready is negative.
func TestShortRunCountsOnlyWishesMade(t *testing.T) {
	res := simulate(t, Flash, 300, 3, Options{Duration: 20 * time.Minute, Step: 10 * time.Minute})
	for name, p := range res.Policies {
		if p.P50ReadySeconds < 0 || p.P95ReadySeconds < 0 || p.P95ReadyOverDownlink < 0 {
			t.Errorf("%s: negative ready times %+v", name, p)
		}
	}
}

func simulate(t *testing.T, workload string, boxes int, seed uint64, opt Options) *Result {
	t.Helper()
	w, err := NewWorld(workload, boxes, seed)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(w, opt)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestFlashRangesUseIdleUplinks: in a flash crowd the server's one copy goes out range by range
// and idle boxes' cache receives ranges that they serve on, so the p95 time-to-ready (over the
// downlink bound) is far below the planner's without range placements, with the server still
// sending about one copy. Both runs are the same world; no wall time is checked.
func TestFlashRangesUseIdleUplinks(t *testing.T) {
	opt := Options{Duration: 3 * time.Hour, Step: 2 * time.Minute}
	with := simulate(t, Flash, 2000, 1, opt).Policies[PolicyScheduler]
	opt.NoRangePlacements = true
	without := simulate(t, Flash, 2000, 1, opt).Policies[PolicyScheduler]
	t.Logf("p95/bound with ranges %.2f, without %.2f", with.P95ReadyOverDownlink, without.P95ReadyOverDownlink)
	if !(with.P95ReadyOverDownlink < without.P95ReadyOverDownlink/2) {
		t.Errorf("p95/bound with range placements %.2f, without %.2f: want less than half", with.P95ReadyOverDownlink, without.P95ReadyOverDownlink)
	}
	if with.ServerCopiesPerRegionMax > 2 || with.OtherViolations+with.StorageViolations+with.UploadCapViolations > 0 {
		t.Errorf("with ranges: %.2f server copies, %d violations", with.ServerCopiesPerRegionMax, with.OtherViolations+with.StorageViolations+with.UploadCapViolations)
	}
}

// TestSharedServerCopyAddsNoServerBytes: sharing the server's copy of an item among a region's
// receivers splits the server's bytes, it does not add to them: the same world with shared
// copies sends at most 5% more from the server (ranges move when sharers come and go), and no
// plan breaks an invariant.
func TestSharedServerCopyAddsNoServerBytes(t *testing.T) {
	opt := Options{Duration: 24 * time.Hour}
	without := simulate(t, Standard, 2000, 1, opt).Policies[PolicyScheduler]
	opt.SharedServerCopy = true
	with := simulate(t, Standard, 2000, 1, opt).Policies[PolicyScheduler]
	t.Logf("server share with shared copies %.4f, without %.4f; p95 ready %.0f s, %.0f s", with.ServerShare, without.ServerShare, with.P95ReadySeconds, without.P95ReadySeconds)
	if with.ServerShare > 1.05*without.ServerShare {
		t.Errorf("server share with shared copies %.4f, without %.4f: want at most 5%% more", with.ServerShare, without.ServerShare)
	}
	if v := with.OtherViolations + with.StorageViolations + with.UploadCapViolations; v > 0 {
		t.Errorf("with shared copies: %d violations", v)
	}
}
