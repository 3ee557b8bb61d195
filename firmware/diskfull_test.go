package firmware

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"swarmbox/cloud/headend/headendtest"
	"swarmbox/firmware/boxbus"
	"swarmbox/storage"
)

// boxWithCatalog makes a registered box whose catalog replica lists the head-end's titles,
// with nothing on its disk and the wishlist area's quota given.
func boxWithCatalog(t *testing.T, h *headendtest.Headend, wishlistQuota int64) *API {
	t.Helper()
	return NewAPI(registeredStore(t, h, map[string]int64{storage.AreaWishlist: wishlistQuota}), Options{})
}

// TestWishLargerThanFreeRefused: a title larger than the wishlist area can ever take in is
// refused when it is wished, over D-Bus as org.swarmbox.Error.NoSpace with the sizes in the
// sentence, and the wishlist stays as it was; a title that fits is taken.
func TestWishLargerThanFreeRefused(t *testing.T) {
	h := headendtest.New(t, headendtest.Title{Name: "Big Film", Price: 300, Data: make([]byte, 300_000)},
		headendtest.Title{Name: "Short", Price: 100, Data: make([]byte, 1000)})
	api := boxWithCatalog(t, h, 100_000)
	box, _ := serveOnBus(t, api)
	ctx := context.Background()
	big, small := h.Items[0].ID.String(), h.Items[1].ID.String()
	if err := box.MoveWish(ctx, small, 1); err != nil {
		t.Fatalf("a title that fits: %v", err)
	}
	err := box.MoveWish(ctx, big, 1)
	if !errors.Is(err, boxbus.Refusal(boxbus.ErrNoSpace)) {
		t.Fatalf("wishing a title larger than the area: %v; want %sNoSpace", err, boxbus.ErrorPrefix)
	}
	for _, want := range []string{`"Big Film" needs`, "the wishlist area can take in at most", "quota of 100.0 kB", "remove other titles or raise the quota"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("refusal %q lacks %q", err, want)
		}
	}
	w, err := box.Wishlist(ctx)
	if err != nil || !slices.Equal(w, []string{small}) {
		t.Fatalf("wishlist %v (err %v); want only the title that fits", w, err)
	}
	// The same through SetWishlist, as `swarmboxd wish` calls it: nothing changes.
	if err := box.SetWishlist(ctx, []string{big, small}); !errors.Is(err, boxbus.Refusal(boxbus.ErrNoSpace)) {
		t.Fatalf("SetWishlist with a title too large: %v; want NoSpace", err)
	}
	if w, _ := box.Wishlist(ctx); !slices.Equal(w, []string{small}) {
		t.Fatalf("a refused SetWishlist changed the wishlist to %v", w)
	}
}
