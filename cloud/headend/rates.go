package headend

import (
	"time"

	"swarmbox/cloud/scheduler"
	"swarmbox/cloud/store"
	"swarmbox/cloud/throughput"
	"swarmbox/media"
)

// Measured throughputs as the planner takes them (SCHED-5): every receiving box's reports
// add up, in the store, to a decayed estimate per pair (source box → receiving box,
// throughput.HalfLife); a round plans each pair by its own estimate and a pair never measured
// by what its source was measured sending anyone else. Everything is keyed by box id, never by
// address, so boxes behind one address are measured apart.

// pairRates are the measured pairs known at now between the boxes planned (those in planned):
// what each receiver there measured from each source there.
func pairRates(reports []store.Report, planned map[media.BoxID]string, now time.Time) []scheduler.Rate {
	var out []scheduler.Rate
	for _, r := range reports {
		if _, ok := planned[r.Box]; !ok {
			continue
		}
		for _, pr := range r.Rates {
			if _, ok := planned[pr.Box]; ok && pr.Box != r.Box {
				if bps := pr.Measured.Rate(now); bps > 0 {
					out = append(out, scheduler.Rate{From: pr.Box, To: r.Box, BytesPerSecond: bps})
				}
			}
		}
	}
	return out
}

// measuredUplinks is each source box's estimate over every receiver that measured it, in any
// region, at now: the pairs' estimates merged, each sample weighed by its remaining weight.
func measuredUplinks(reports []store.Report, now time.Time) map[media.BoxID]int64 {
	merged := map[media.BoxID]throughput.Estimate{}
	for _, r := range reports {
		for _, pr := range r.Rates {
			if pr.Box != r.Box {
				merged[pr.Box] = merged[pr.Box].Merge(pr.Measured)
			}
		}
	}
	out := make(map[media.BoxID]int64, len(merged))
	for b, e := range merged {
		if bps := e.Rate(now); bps > 0 {
			out[b] = bps
		}
	}
	return out
}
