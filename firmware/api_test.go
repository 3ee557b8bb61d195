package firmware

import (
	"context"
	"testing"
	"time"

	"swarmbox/cloud/headend/headendtest"
	"swarmbox/firmware/boxbus"
	"swarmbox/media"
)

// TestKeptForNeighbours: a title the scheduler placed (a range of) in the box's lent cache, which
// the household has not wished, is "kept for neighbours", not "downloading"; wished, it is
// downloading; the title complete on disk stays ready to buy.
func TestKeptForNeighbours(t *testing.T) {
	ctx := context.Background()
	h := headendtest.New(t, headendtest.Title{Name: "Film", Price: 300, Data: make([]byte, 200_000)},
		headendtest.Title{Name: "Premiere", Price: 300, Data: make([]byte, 900_000)})
	api := boxWithTitle(t, h)
	kept := h.Items[1]
	if _, err := api.store.ReserveRange(ctx, kept.ID, kept.InfoHash, kept.Torrent, int(kept.Pieces), media.PieceRange{Begin: 0, End: 1}, time.Now(), nil); err != nil {
		t.Fatal(err)
	}
	state := func(id media.ItemID) boxbus.State {
		t.Helper()
		it, err := api.Item(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return it.State
	}
	if s := state(kept.ID); s != boxbus.Kept {
		t.Errorf("a range placement not wished: %q, want %q", s, boxbus.Kept)
	}
	if s := state(h.Items[0].ID); s != boxbus.ReadyToBuy {
		t.Errorf("the complete title: %q, want %q", s, boxbus.ReadyToBuy)
	}
	if err := api.SetWishlist(ctx, []media.ItemID{kept.ID}); err != nil {
		t.Fatal(err)
	}
	if s := state(kept.ID); s != boxbus.Downloading {
		t.Errorf("the same title, wished: %q, want %q", s, boxbus.Downloading)
	}
}
