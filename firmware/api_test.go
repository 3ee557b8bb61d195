package firmware

import (
	"context"
	"sync/atomic"
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
	w, err := want(kept.ID, kept.InfoHash, kept.Torrent, int(kept.Pieces))
	if err != nil {
		t.Fatal(err)
	}
	res, err := api.store.ReserveRange(ctx, w, media.PieceRange{Begin: 0, End: 1}, time.Now())
	if err == nil {
		_, err = res.Commit(ctx)
	}
	if err != nil {
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

// TestAPIAnnouncesChanges: every change of the box's state reaches a subscriber: the wishlist
// and the items it took in, a purchase, playback and its end, and a rental running out (on a
// timer, nobody asking).
func TestAPIAnnouncesChanges(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	h := headendtest.New(t, headendtest.Title{Name: "Film", Price: 300, Data: make([]byte, 100_000)},
		headendtest.Title{Name: "Other", Price: 100, Data: make([]byte, 300_000)})
	api := boxWithTitle(t, h)
	var skew atomic.Int64 // the box's clock runs ahead by this many nanoseconds
	api.now = func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	if err := api.watchLicences(ctx); err != nil {
		t.Fatal(err)
	}
	defer api.Close()
	changes := api.Subscribe(ctx)
	id := h.Items[0].ID
	next := func(want ChangeKind) Change {
		t.Helper()
		for {
			select {
			case c := <-changes:
				if c.Kind == want {
					return c
				}
			case <-ctx.Done():
				t.Fatalf("no change of kind %d", want)
			}
		}
	}
	itemState := func(want boxbus.State) {
		t.Helper()
		if c := next(ItemChanged); c.Item.Item != id.String() || c.Item.State != want {
			t.Fatalf("ItemChanged %+v, want %s", c.Item, want)
		}
	}

	if err := api.SetWishlist(ctx, []media.ItemID{id}); err != nil {
		t.Fatal(err)
	}
	if c := next(WishlistChanged); len(c.Wishlist) != 1 || c.Wishlist[0] != id {
		t.Fatalf("WishlistChanged %+v", c.Wishlist)
	}
	itemState(boxbus.ReadyToBuy)
	// A wished title not on the disk yet: its total comes from the catalog.
	second := h.Items[1].ID
	if err := api.SetWishlist(ctx, []media.ItemID{id, second}); err != nil {
		t.Fatal(err)
	}
	if c := next(ItemChanged); c.Item.Item != second.String() || c.Item.State != boxbus.Wished || c.Item.Total != int32(h.Items[1].Pieces) || c.Item.Total == 0 {
		t.Fatalf("ItemChanged %+v, want wished with %d pieces in all", c.Item, h.Items[1].Pieces)
	}
	p, err := api.Buy(ctx, id, true)
	if err != nil {
		t.Fatal(err)
	}
	itemState(boxbus.Bought)
	if _, err := api.Play(ctx, id); err != nil {
		t.Fatal(err)
	}
	if c := next(NowPlayingChanged); c.NowPlaying != id.String() {
		t.Fatalf("NowPlaying %q", c.NowPlaying)
	}
	itemState(boxbus.Playing)
	if err := api.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if c := next(NowPlayingChanged); c.NowPlaying != "" {
		t.Fatalf("NowPlaying after Stop %q", c.NowPlaying)
	}
	itemState(boxbus.Bought)
	// Move the clock to just before the rental ends; the timer set for it announces the end.
	skew.Store(int64(time.Until(time.Unix(p.Expires, 0)) - 200*time.Millisecond))
	if err := api.watchLicences(ctx); err != nil {
		t.Fatal(err)
	}
	itemState(boxbus.Expired)
	if err := api.RemoveWish(ctx, id); err != nil {
		t.Fatal(err)
	}
	next(WishlistChanged)
	itemState(boxbus.Expired) // still on the disk
	if err := api.RemoveWish(ctx, second); err != nil {
		t.Fatal(err)
	}
	if c := next(ItemChanged); c.Item.Item != second.String() || c.Item.State != boxbus.Removed {
		t.Fatalf("ItemChanged %+v, want removed", c.Item)
	}
}
