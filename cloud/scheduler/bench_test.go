package scheduler_test

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"swarmbox/cloud/scheduler"
	"swarmbox/cloud/sim"
)

// BenchmarkPlan plans one full round of the standard workload on day 3 (wishes arriving, many
// titles already spread), at 10,000 and 100,000 boxes, or at the sizes listed in
// $SWARMBOX_BENCH_BOXES (comma-separated, e.g. 10000,100000,1000000).
func BenchmarkPlan(b *testing.B) {
	sizes := []int{10_000, 100_000}
	if env := os.Getenv("SWARMBOX_BENCH_BOXES"); env != "" {
		sizes = nil
		for _, f := range strings.Split(env, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 1 {
				b.Fatalf("SWARMBOX_BENCH_BOXES: %q is not a box count", f)
			}
			sizes = append(sizes, n)
		}
	}
	for _, n := range sizes {
		w, err := sim.NewWorld(sim.Standard, n, 1)
		if err != nil {
			b.Fatal(err)
		}
		s := w.Snapshot(72 * time.Hour)
		b.Run(fmt.Sprintf("boxes=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := scheduler.Compute(s); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkUpdate re-plans one box after its sync in a round of 100,000 boxes: the cost of a
// sync, which must not grow with the world.
func BenchmarkUpdate(b *testing.B) {
	w, err := sim.NewWorld(sim.Standard, 100_000, 1)
	if err != nil {
		b.Fatal(err)
	}
	s := w.Snapshot(72 * time.Hour)
	st, err := scheduler.NewState(s)
	if err != nil {
		b.Fatal(err)
	}
	st.Round()
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		box := s.Boxes[i%len(s.Boxes)]
		i += 7919
		if _, err := st.Update(box, s.Now); err != nil {
			b.Fatal(err)
		}
	}
}
