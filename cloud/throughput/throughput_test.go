package throughput

import (
	"math"
	"testing"
	"time"
)

var t0 = time.Date(2026, 12, 1, 20, 0, 0, 0, time.UTC)

// sample is one measurement: bytes over seconds, taken at t0+at.
type sample struct {
	bytes   int64
	seconds float64
	at      time.Duration
}

func fold(samples ...sample) Estimate {
	var e Estimate
	for _, s := range samples {
		e = e.Add(s.bytes, s.seconds, t0.Add(s.at))
	}
	return e
}

// TestDecay: a sample's weight halves every HalfLife, newer samples outweigh older ones, and an
// estimate whose newest sample is older than ForgetAfter is unknown (SCHED-5).
func TestDecay(t *testing.T) {
	tests := []struct {
		name       string
		samples    []sample
		now        time.Duration
		wantRate   int64
		wantWeight float64
	}{
		{"never measured", nil, 0, 0, 0},
		{"one sample, fresh", []sample{{100_000, 10, 0}}, 0, 10_000, 10},
		{"one half-life halves the weight, not the rate", []sample{{100_000, 10, 0}}, HalfLife, 10_000, 5},
		{"two half-lives quarter it", []sample{{100_000, 10, 0}}, 2 * HalfLife, 10_000, 2.5},
		{"a slow sample a day old counts half beside a fast one now",
			[]sample{{10_000, 10, 0}, {1_000_000, 10, HalfLife}}, HalfLife, (5_000 + 1_000_000) / 15, 15},
		{"old samples fade: a week-old slow sample barely moves a fresh fast one",
			[]sample{{10_000, 100, 0}, {1_000_000, 100, 7 * HalfLife}}, 7 * HalfLife, 9_923, 100 + 100.0/128},
		{"forgotten past ForgetAfter", []sample{{100_000, 10, 0}}, ForgetAfter + time.Second, 0, 0},
		{"still known at ForgetAfter", []sample{{100_000, 10, 0}}, ForgetAfter, 10_000, 10.0 / 128},
		{"a newer sample keeps the older ones known", []sample{{100_000, 10, 0}, {100_000, 10, ForgetAfter}}, ForgetAfter + time.Hour, 10_000, (10.0/128 + 10) * math.Exp2(-1.0/24)},
		{"no bytes, no sample", []sample{{0, 10, 0}}, 0, 0, 0},
		{"no time, no sample", []sample{{100, 0, 0}}, 0, 0, 0},
		{"a sample from before the last counts as of the last", []sample{{100_000, 10, HalfLife}, {100_000, 10, 0}}, HalfLife, 10_000, 20},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := fold(tc.samples...)
			now := t0.Add(tc.now)
			if got := e.Rate(now); got != tc.wantRate {
				t.Errorf("rate %d B/s, want %d", got, tc.wantRate)
			}
			if got := e.Weight(now); math.Abs(got-tc.wantWeight) > 1e-9*max(1, tc.wantWeight) {
				t.Errorf("weight %g s, want %g", got, tc.wantWeight)
			}
		})
	}
}

// TestMerge: a source's estimate over its receivers weighs each pair's samples by their
// remaining weight; merging does not change the pairs (SCHED-5).
func TestMerge(t *testing.T) {
	fastPair := fold(sample{1_000_000, 10, HalfLife})
	slowPair := fold(sample{10_000, 10, 0})
	tests := []struct {
		name string
		in   []Estimate
		want int64 // at t0+HalfLife
	}{
		{"nothing", nil, 0},
		{"one pair is the source's", []Estimate{slowPair}, 1_000},
		{"an older pair counts by its faded weight", []Estimate{slowPair, fastPair}, (5_000 + 1_000_000) / 15},
		{"order does not matter", []Estimate{fastPair, slowPair}, (5_000 + 1_000_000) / 15},
		{"an unmeasured pair adds nothing", []Estimate{{}, fastPair}, 100_000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var m Estimate
			for _, e := range tc.in {
				m = m.Merge(e)
			}
			if got := m.Rate(t0.Add(HalfLife)); got != tc.want {
				t.Errorf("merged rate %d, want %d", got, tc.want)
			}
		})
	}
	if slowPair.Rate(t0) != 1_000 || fastPair.Rate(t0.Add(HalfLife)) != 100_000 {
		t.Errorf("merging changed a pair: %+v %+v", slowPair, fastPair)
	}
}

// TestSample: the bytes and active seconds a report adds, from the box's running totals.
func TestSample(t *testing.T) {
	tests := []struct {
		name                           string
		prevBytes, prevBPS, bytes, bps int64
		wantBytes                      int64
		wantSeconds                    float64
	}{
		{"first report", 0, 0, 1_000_000, 10_000, 1_000_000, 100},
		{"the difference of the totals", 1_000_000, 10_000, 1_500_000, 5_000, 500_000, 200},
		{"nothing new", 1_000_000, 10_000, 1_000_000, 10_000, 0, 0},
		{"engine restarted: the report alone", 1_000_000, 10_000, 200_000, 20_000, 200_000, 10},
		{"too little data for a rate", 0, 0, 1_000, 0, 0, 0},
		{"rounding hid the active time: the new bytes at the average", 1_000_000, 10_000, 1_000_010, 10_001, 10, 10.0 / 10_001},
		{"previous without a rate: the report alone", 500, 0, 1_000_000, 10_000, 1_000_000, 100},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, s := Sample(tc.prevBytes, tc.prevBPS, tc.bytes, tc.bps)
			if b != tc.wantBytes || math.Abs(s-tc.wantSeconds) > 1e-9 {
				t.Errorf("Sample = %d bytes over %g s, want %d over %g", b, s, tc.wantBytes, tc.wantSeconds)
			}
		})
	}
}
