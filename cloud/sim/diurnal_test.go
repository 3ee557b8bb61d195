package sim

import (
	"strings"
	"testing"
	"time"

	"swarmbox/cloud/regions"
)

// TestDiurnalDemand: the diurnal curve moves most wishes into the evening peak hours, keeping
// each wish's day; an even spread leaves about a quarter there.
func TestDiurnalDemand(t *testing.T) {
	inPeak := func(w *World) float64 {
		n := 0
		for _, e := range w.wishes {
			if h := int((e.at+w.clock)/time.Hour) % 24; h >= PeakHours.From && h < PeakHours.To {
				n++
			}
		}
		return float64(n) / float64(len(w.wishes))
	}
	w, err := NewWorld(Standard, 2000, 3)
	if err != nil {
		t.Fatal(err)
	}
	days := map[int32]time.Duration{}
	for _, e := range w.wishes {
		days[e.box] += e.at / (24 * time.Hour)
	}
	even := inPeak(w)
	w.Diurnal()
	for _, e := range w.wishes {
		days[e.box] -= e.at / (24 * time.Hour)
	}
	for b, d := range days {
		if d != 0 {
			t.Fatalf("box %d: its wishes moved by %d days in all; the curve keeps each wish's day", b, d)
		}
	}
	if diurnal := inPeak(w); even > 0.35 || diurnal < 0.45 {
		t.Errorf("wishes in peak hours: %.2f spread evenly, %.2f diurnal; want about 0.25 and over 0.45", even, diurnal)
	}
	for i := 1; i < len(w.wishes); i++ {
		if w.wishes[i].at < w.wishes[i-1].at {
			t.Fatal("wishes out of order after Diurnal")
		}
	}
}

// TestOffPeakWindowInSimulator (SCHED-16, SCHED-17): with every region's off-peak window the
// scheduler's plans break no invariant, send no larger share of the server's bytes in peak
// hours than without, and stay above the global bound.
func TestOffPeakWindowInSimulator(t *testing.T) {
	p, err := regions.Parse("test", strings.NewReader("all 01:00-06:00 UTC"))
	if err != nil {
		t.Fatal(err)
	}
	window := p["all"]
	run := func(opt Options) (*Result, *PolicyResult) {
		w, err := NewWorld(Standard, 500, 5)
		if err != nil {
			t.Fatal(err)
		}
		w.Diurnal()
		opt.Duration, opt.Step = 48*time.Hour, 20*time.Minute
		res, err := Run(w, opt)
		if err != nil {
			t.Fatal(err)
		}
		return res, res.Policies[PolicyScheduler]
	}
	res, with := run(Options{OffPeak: &window})
	_, without := run(Options{})
	t.Logf("peak-hour share of server bytes: %.4f with the window, %.4f without", with.PeakHourServerShare, without.PeakHourServerShare)
	if v := with.StorageViolations + with.UploadCapViolations + with.OtherViolations; v > 0 {
		t.Errorf("%d violations with the window", v)
	}
	if with.PeakHourServerShare <= 0 || with.PeakHourServerShare > without.PeakHourServerShare {
		t.Errorf("peak-hour share of server bytes: %.4f with the window, %.4f without; want no more with it", with.PeakHourServerShare, without.PeakHourServerShare)
	}
	if with.ServerShare < res.GlobalLowerBoundServerShare*0.999 {
		t.Errorf("server share %.5f below the global bound %.5f", with.ServerShare, res.GlobalLowerBoundServerShare)
	}
}
