// Package throughput holds the head-end's measured box→box throughputs: estimates whose
// samples fade with age (exponential decay), kept per pair of boxes (source → receiver) and
// merged per source box. Time is always an argument, never read from the clock, so every
// figure follows from its inputs (SCHED-5).
package throughput

import (
	"math"
	"time"
)

// HalfLife is how long a sample takes to count half as much. A day, because what changes a
// box's throughput changes over days (a new line or ISP plan, a household that streams every
// evening, a neighbour's new NAT), not over minutes: one evening's measurements still steer
// the next evening's plan, while a week-old sample counts for less than 1% beside a fresh one
// of the same length.
const HalfLife = 24 * time.Hour

// ForgetAfter is the age of its newest sample past which an estimate is unknown again (the
// planner then goes back to the link caps): seven half-lives, when that sample's weight has
// fallen below 1/128 of what it was.
const ForgetAfter = 7 * HalfLife

// Estimate is a decayed average throughput: Bytes over Seconds of transfer, both faded to At
// (when the newest sample came). The zero Estimate is "never measured".
type Estimate struct {
	Bytes   float64   // bytes received, each sample's faded by its age at At
	Seconds float64   // seconds the transfers were active, faded alike
	At      time.Time // when the newest sample came
}

// factor is how much a sample taken at from still counts at to: 2^-(age/HalfLife), never more
// than 1 (a clock that went back does not make old samples count more).
func factor(from, to time.Time) float64 {
	age := to.Sub(from)
	if age <= 0 {
		return 1
	}
	return math.Exp2(-age.Seconds() / HalfLife.Seconds())
}

// DecayedTo is e as it counts at now: Bytes and Seconds faded by their age since At. The
// rate is the same; the weight against newer samples is less.
func (e Estimate) DecayedTo(now time.Time) Estimate {
	if e.At.IsZero() || !now.After(e.At) {
		return e
	}
	f := factor(e.At, now)
	return Estimate{Bytes: e.Bytes * f, Seconds: e.Seconds * f, At: now}
}

// Add folds in a sample of bytes received over seconds of transfer at time at. A sample
// without bytes or time is no measurement and leaves e as it is; one dated before e.At (a
// clock that went back) counts as of e.At.
func (e Estimate) Add(bytes int64, seconds float64, at time.Time) Estimate {
	if bytes <= 0 || !(seconds > 0) || math.IsInf(seconds, 0) {
		return e
	}
	if at.Before(e.At) {
		at = e.At
	}
	d := e.DecayedTo(at)
	return Estimate{Bytes: d.Bytes + float64(bytes), Seconds: d.Seconds + seconds, At: at}
}

// Merge sums two estimates, each faded to the later one's time: the estimate of a source box
// over every receiver that measured it.
func (e Estimate) Merge(o Estimate) Estimate {
	if o.Seconds <= 0 {
		return e
	}
	if e.Seconds <= 0 {
		return o
	}
	at := e.At
	if o.At.After(at) {
		at = o.At
	}
	a, b := e.DecayedTo(at), o.DecayedTo(at)
	return Estimate{Bytes: a.Bytes + b.Bytes, Seconds: a.Seconds + b.Seconds, At: at}
}

// Weight is how many seconds of transfer the estimate still stands for at now.
func (e Estimate) Weight(now time.Time) float64 {
	if e.Known(now) {
		return e.DecayedTo(now).Seconds
	}
	return 0
}

// Known says whether e holds a measurement at now: some sample no older than ForgetAfter.
func (e Estimate) Known(now time.Time) bool {
	return e.Seconds > 0 && e.Bytes > 0 && now.Sub(e.At) <= ForgetAfter
}

// Rate is the estimate in bytes per second at now; 0 when unknown (never measured, or every
// sample older than ForgetAfter).
func (e Estimate) Rate(now time.Time) int64 {
	if !e.Known(now) {
		return 0
	}
	return int64(e.Bytes / e.Seconds)
}

// Sample is what a box's report adds to what the head-end knew: the box reports, per peer, the
// bytes received since its transfer engine started and the average rate over the time they
// were active, so the bytes and active seconds since the previous report are the difference
// of the two reports' totals. A smaller total than before means the engine restarted and the
// report is a sample of its own; a report without a rate (too little data) adds nothing.
func Sample(prevBytes, prevBPS, bytes, bps int64) (newBytes int64, seconds float64) {
	if bytes <= 0 || bps <= 0 {
		return 0, 0
	}
	total := float64(bytes) / float64(bps)
	if prevBytes <= 0 || prevBPS <= 0 || bytes < prevBytes {
		return bytes, total
	}
	newBytes, seconds = bytes-prevBytes, total-float64(prevBytes)/float64(prevBPS)
	if newBytes == 0 {
		return 0, 0
	}
	if seconds <= 0 {
		// The totals' rounding hid the new active time: count the new bytes at the average.
		seconds = float64(newBytes) / float64(bps)
	}
	return newBytes, seconds
}
