package ui

import (
	"testing"
	"time"
)

func TestMeter(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	var m meter
	steps := []struct {
		at    time.Duration
		bytes int64
		want  float64
	}{
		{0, 0, 0},
		{time.Second, 1000, 1000},                    // first rate: as measured
		{1200 * time.Millisecond, 5000, 1000},        // too soon: unchanged
		{2 * time.Second, 3000, 0.6*1000 + 0.4*2000}, // smoothed
		{3 * time.Second, 2000, 0.6 * 1400},          // a counter going back counts as no progress
	}
	for i, s := range steps {
		if got := m.observe("a", s.bytes, t0.Add(s.at)); got != s.want {
			t.Errorf("step %d: rate %v, want %v", i, got, s.want)
		}
	}
	if r := m.observe("b", 500, t0); r != 0 {
		t.Errorf("a new download has rate %v before a second sample", r)
	}
}

func TestETA(t *testing.T) {
	for _, tc := range []struct {
		bytes       int64
		done, total int32
		rate        float64
		want        time.Duration
		known       bool
	}{
		{1000, 1, 4, 100, 30 * time.Second, true}, // 3000 bytes left at 100 B/s
		{1000, 0, 4, 100, 0, false},               // nothing yet: no estimate
		{1000, 4, 4, 100, 0, false},               // done
		{1000, 2, 4, 0, 0, false},                 // stalled
	} {
		got, known := eta(tc.bytes, tc.done, tc.total, tc.rate)
		if got != tc.want || known != tc.known {
			t.Errorf("eta(%d, %d/%d, %v) = %v, %v; want %v, %v", tc.bytes, tc.done, tc.total, tc.rate, got, known, tc.want, tc.known)
		}
	}
}
