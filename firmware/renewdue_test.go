package firmware

import (
	"crypto/rand"
	"testing"
	"time"

	"swarmbox/media"
)

// TestRenewDueSpreads: a thousand boxes that bought at the same instant are due for renewal
// between a half and a third of the period before the end, spread over that window (no tenth of
// it takes more than twice its share), and a box's point is the same every time it is asked.
func TestRenewDueSpreads(t *testing.T) {
	issued := time.Date(2026, 12, 2, 20, 0, 0, 0, time.UTC)
	period := 30 * 24 * time.Hour
	lic := media.License{ID: "0123456789abcdef0123456789abcdef", Issued: issued, Expires: issued.Add(period), Kind: media.Owned}
	from, to := lic.Expires.Add(-period/2), lic.Expires.Add(-period/3)
	var buckets [10]int
	const boxes = 1000
	for range boxes {
		var box media.BoxID
		rand.Read(box[:])
		due := renewDue(box, lic)
		if due.Before(from) || due.After(to) {
			t.Fatalf("due %v, outside [%v, %v]", due, from, to)
		}
		if again := renewDue(box, lic); !again.Equal(due) {
			t.Fatalf("the same box and licence: due %v, then %v", due, again)
		}
		buckets[min(9, int(10*due.Sub(from)/to.Sub(from)))]++
	}
	for i, n := range buckets {
		if n > 2*boxes/10 || n == 0 {
			t.Errorf("tenth %d of the window holds %d of %d renewals: %v", i, n, boxes, buckets)
		}
	}
	if renewRequestID(lic) == renewRequestID(media.License{ID: "fedcba9876543210fedcba9876543210"}) || len(renewRequestID(lic)) != 32 {
		t.Errorf("renewal request ids: %q", renewRequestID(lic))
	}
}
