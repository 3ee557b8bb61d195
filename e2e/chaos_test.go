package e2e

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"swarmbox/media"
	"swarmbox/storage"
)

var (
	chaosBoxKills     = flag.Int("chaos.box-kills", 3, "TestChaosShort: how many times to kill -9 a box")
	chaosHeadendKills = flag.Int("chaos.headend-kills", 1, "TestChaosShort: how many times to kill -9 the head-end")
	chaosSize         = flag.Int("chaos.size", 6<<20, "TestChaosShort: bytes per title (two titles)")
	chaosDownlink     = flag.Int("chaos.downlink", 2<<20, "TestChaosShort: the receiving boxes' download cap, bytes per second")
)

// chaosReport is the one JSON line TestChaosShort prints (`make chaos`).
type chaosReport struct {
	BoxKills         int     `json:"box_kills"`
	HeadendKills     int     `json:"headend_kills"`
	ItemsCorrupt     int     `json:"items_corrupt"`
	LicencesLost     int     `json:"licences_lost"`
	PurchasesLost    int     `json:"purchases_lost"`
	ChargedTwice     int     `json:"charged_twice"`
	RefetchedBytes   int64   `json:"verified_pieces_refetched_bytes"`
	ByteCountError   float64 `json:"byte_count_error"`
	Transferred      int64   `json:"-"`
	AcknowledgedBuys int     `json:"-"`
}

var balanceRe = regexp.MustCompile(`balance=(-?\d+) cents`)

// TestChaosShort kills boxes (kill -9) and the head-end at random while titles transfer, the
// households buy and edit their wishlists, then checks that nothing was lost or charged twice,
// that every container is intact, and that the head-end's byte figures match what the boxes
// hold. It prints one JSON line; `make chaos` runs it long (-chaos.box-kills, -chaos.headend-kills).
func TestChaosShort(t *testing.T) {
	c := startCloud(t)
	addr := strings.TrimPrefix(c.url, "http://")
	const price, credit = 399, 2000
	size := *chaosSize
	var ids, containers []string
	for i := range 2 {
		id, ct := ingestRandom(t, c, fmt.Sprintf("chaos-%d", i), size)
		ids, containers = append(ids, id), append(containers, ct)
	}
	src := startBox(t, c, 1)
	src.cmd(t, append([]string{"wish"}, ids...)...)
	for _, id := range ids {
		src.waitComplete(t, id)
	}
	down := fmt.Sprint(*chaosDownlink)
	boxes := []*box{startBox(t, c, 2, "-downlink", down), startBox(t, c, 3, "-downlink", down)}
	for _, b := range boxes {
		b.cmd(t, append([]string{"wish"}, ids...)...)
	}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	var rep chaosReport
	bought := map[string]bool{} // box dir + item: a purchase the household saw succeed
	seen := map[string]bool{}   // box dir + item: a licence seen on the box
	edits := 0                  // buys and wishlist edits: at least 4 per box whatever the kill counts
	midTransfer := 0            // box kills while the box still lacked a title
	for rep.BoxKills < *chaosBoxKills || rep.HeadendKills < *chaosHeadendKills || edits < 4*len(boxes) {
		time.Sleep(time.Duration(200+rng.IntN(1300)) * time.Millisecond)
		b := boxes[rng.IntN(len(boxes))]
		switch r := rng.IntN(100); {
		case r < 55 && rep.BoxKills < *chaosBoxKills:
			for _, id := range ids {
				if _, complete, _, _ := b.item(t, id); !complete {
					midTransfer++
					break
				}
			}
			b.proc.cmd.Process.Kill()
			b.proc.cmd.Wait()
			rep.BoxKills++
			b.start(t)
		case r < 70 && rep.HeadendKills < *chaosHeadendKills:
			c.proc.cmd.Process.Kill()
			c.proc.cmd.Wait()
			rep.HeadendKills++
			time.Sleep(time.Duration(rng.IntN(1500)) * time.Millisecond)
			c.serve(t, "-listen", addr)
		case r < 85:
			edits++
			id := ids[rng.IntN(len(ids))]
			if _, _, code := b.try(t, "buy", id); code == 0 {
				if !bought[b.dir+id] {
					rep.AcknowledgedBuys++
				}
				bought[b.dir+id] = true
				if hasLicence(t, b, id) {
					seen[b.dir+id] = true
				}
			}
		default:
			edits++
			order := append([]string(nil), ids...)
			rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
			b.try(t, append([]string{"wish"}, order...)...)
		}
	}
	for _, b := range boxes {
		for _, id := range ids {
			b.waitComplete(t, id)
		}
	}
	for _, b := range boxes {
		for i, id := range ids {
			if !sameFile(t, filepath.Join(b.dir, "media", id+".sbx"), containers[i]) {
				rep.ItemsCorrupt++
			}
			_, _, fromServer, fromPeers := b.item(t, id)
			var server, peers int64
			waitFor(t, "the head-end to have the box's figures", 60*time.Second, func() bool {
				server, peers = headendFigures(t, c, b, id)
				return server == fromServer && peers == fromPeers
			})
			sealed := fileSize(t, containers[i])
			got := server + peers
			rep.Transferred += got
			rep.RefetchedBytes += max(0, got-sealed)
			rep.ByteCountError = max(rep.ByteCountError, math.Abs(float64(got-sealed))/float64(sealed))
			switch has := hasLicence(t, b, id); {
			case seen[b.dir+id] && !has:
				rep.LicencesLost++
			case bought[b.dir+id] && !has:
				rep.PurchasesLost++
			}
		}
		owned := 0
		for _, id := range ids {
			if hasLicence(t, b, id) {
				owned++
			}
		}
		m := balanceRe.FindStringSubmatch(c.cmd(t, "account", "show", fmt.Sprintf("household-%d", b.n)))
		if m == nil {
			t.Fatalf("no balance for household-%d", b.n)
		}
		balance, _ := strconv.Atoi(m[1])
		if charged := (credit - balance) / price; charged > owned {
			rep.ChargedTwice += charged - owned
		}
	}
	rep.ByteCountError = math.Round(rep.ByteCountError*1e4) / 1e4
	line, _ := json.Marshal(rep)
	fmt.Println(string(line))
	t.Logf("%s (%d box kills during a transfer, %d purchases acknowledged, %d bytes transferred)", line, midTransfer, rep.AcknowledgedBuys, rep.Transferred)
	if rep.ItemsCorrupt+rep.LicencesLost+rep.PurchasesLost+rep.ChargedTwice > 0 {
		t.Errorf("chaos lost or broke something: %s", line)
	}
	if limit := rep.Transferred / 100; rep.RefetchedBytes > limit || rep.ByteCountError > 0.01 {
		t.Errorf("refetched %d bytes (at most %d allowed), byte count error %.4f (at most 0.01)", rep.RefetchedBytes, limit, rep.ByteCountError)
	}
}

// hasLicence says whether box b holds a licence for id, read from its database.
func hasLicence(t *testing.T, b *box, id string) bool {
	t.Helper()
	st, err := storage.Open(context.Background(), b.dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	item, err := media.ParseItemID(id)
	if err != nil {
		t.Fatal(err)
	}
	_, err = st.License(context.Background(), item)
	return err == nil
}
