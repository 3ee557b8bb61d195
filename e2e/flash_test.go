package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestFlashCrowdRangesThroughIdleBoxes: two households wish the same new title at once, which a
// head-end run with -flash-demand 2 takes for a flash crowd. Two idle boxes with cache space are
// each placed one piece range of it: each fetches only that range into its cache, counts only
// its bytes against the cache quota, and reports it; both wishers end with the title's bytes.
// When an idle box's household then wishes the title, its range grows into the whole title.
func TestFlashCrowdRangesThroughIdleBoxes(t *testing.T) {
	c := startCloud(t, "-flash-demand", "2", "-flash-parts", "4", "-round-interval", "1s")
	id, container := ingestRandom(t, c, "premiere", 4<<20)
	sealed := fileSize(t, container)
	// The wishers download slowly (the crowd lasts long enough for a round to see it) and have
	// upload to spare for the idle boxes.
	var wishers []*box
	for n := 1; n <= 2; n++ {
		wishers = append(wishers, startBox(t, c, n, "-downlink", "262144", "-uplink", "20000000"))
	}
	var idle []*box
	for n := 3; n <= 4; n++ {
		idle = append(idle, startBox(t, c, n, "-quota-cache", "1073741824"))
	}
	for _, b := range wishers {
		b.cmd(t, "wish", id)
	}
	type rangeItem struct {
		Item   string `json:"item"`
		Pieces int    `json:"pieces"`
		Area   string `json:"area"`
		Size   int64  `json:"size"`
		Range  *struct {
			Begin int `json:"begin"`
			End   int `json:"end"`
		} `json:"range"`
	}
	held := func(b *box) (rangeItem, bool) {
		var s struct {
			Items []rangeItem `json:"items"`
		}
		if err := json.Unmarshal([]byte(b.cmd(t, "status", "-json")), &s); err != nil {
			t.Fatal(err)
		}
		for _, it := range s.Items {
			if it.Item == id {
				return it, true
			}
		}
		return rangeItem{}, false
	}
	waitFor(t, "both idle boxes to hold a whole piece range of the title", 3*time.Minute, func() bool {
		for _, b := range idle {
			it, ok := held(b)
			if !ok || it.Range == nil || it.Pieces < it.Range.End-it.Range.Begin {
				return false
			}
		}
		return true
	})
	for _, b := range idle {
		it, _ := held(b)
		if it.Area != "cache" || it.Size >= sealed || it.Pieces != it.Range.End-it.Range.Begin {
			t.Errorf("box %d holds %+v of a %d-byte title: want only its range, in the cache area", b.n, it, sealed)
		}
		if !b.proc.logHas("fetching", id, "pieces") {
			t.Errorf("box %d did not log its range placement", b.n)
		}
		t.Logf("idle box %d holds pieces %d-%d: %d bytes of the %d-byte title in its cache", b.n, it.Range.Begin, it.Range.End-1, it.Size, sealed)
		// An operator waiting for it is told at once why it will not complete.
		if _, errOut, rc := b.try(t, "wait", "-timeout", "30s", id); rc == 0 || !strings.Contains(errOut, "kept here for neighbours") {
			t.Errorf("box %d: wait for a range placement: rc %d, %q; want a refusal saying it is kept for neighbours", b.n, rc, errOut)
		}
		if out := b.cmd(t, "status"); !strings.Contains(out, fmt.Sprintf("cache (pieces %d-%d only)", it.Range.Begin, it.Range.End-1)) {
			t.Errorf("box %d: status does not show the range:\n%s", b.n, out)
		}
	}
	for _, b := range wishers {
		b.waitComplete(t, id)
		sameContainer(t, b, id, container)
	}
	// The household of an idle box now wishes the title: its range grows into the whole title
	// in the wishlist area, the pieces it kept are not fetched again.
	b := idle[0]
	before, _ := held(b)
	_, _, s0, p0 := b.item(t, id)
	b.cmd(t, "wish", id)
	b.waitComplete(t, id)
	sameContainer(t, b, id, container)
	if it, _ := held(b); it.Range != nil || it.Area != "wishlist" || it.Size != sealed {
		t.Errorf("box %d after wishing its kept title: %+v, want the whole title in the wishlist area", b.n, it)
	}
	_, _, fromServer, fromPeers := b.item(t, id)
	t.Logf("box %d, wishing its kept title, fetched %d more bytes of the %d-byte title (it kept %d)", b.n, fromServer+fromPeers-s0-p0, sealed, before.Size)
	if got, kept := fromServer+fromPeers-s0-p0, before.Size; got > sealed-kept+sealed/16 {
		t.Errorf("box %d fetched %d bytes to complete a %d-byte title of which it kept %d", b.n, got, sealed, kept)
	}
	// The flash-crowd goal: at most two server copies of the title into the region.
	served := servedBytes(t, c, id)
	t.Logf("the server sent %d bytes for a %d-byte title (%.2fx)", served, sealed, float64(served)/float64(sealed))
	if served > 2*sealed {
		t.Errorf("the server sent %d bytes of a %d-byte title into one region: more than two copies", served, sealed)
	}
}
