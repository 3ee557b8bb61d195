package fleet

import "fmt"

// Ratio is a count of successes out of a total; Known is false where nothing is measured yet.
type Ratio struct {
	Met, Total int
	Known      bool
}

// String is the ratio as the page shows it: "—" when not known, else "met/total (pct)".
func (r Ratio) String() string {
	if !r.Known {
		return "—"
	}
	if r.Total == 0 {
		return "none due"
	}
	return fmt.Sprintf("%d/%d (%.0f%%)", r.Met, r.Total, 100*float64(r.Met)/float64(r.Total))
}

// deadlinesMet is the share of wishes with a deadline in region ("" for every region) that were
// ready by it. Deadline wishes (issue 16, part 2) are not stored by the head-end yet, so it is
// not known: the page shows "—". This function is the one place to fill in when they are.
func deadlinesMet(in Input, region string) Ratio {
	_, _ = in, region
	return Ratio{}
}
