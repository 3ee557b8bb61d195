package web

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"swarmbox/cloud/store"
	"swarmbox/media"
	"swarmbox/sync/protocol"
)

// TestParallelBrowserEditsKept: a household edits one box's wishlist from many browser tabs at
// once; every edit answered "saved" is in the list afterwards (none is overwritten by a tab that
// read the list before it), and the box's wishlist version moved once per edit.
func TestParallelBrowserEditsKept(t *testing.T) {
	s := newSite(t)
	ctx := context.Background()
	const tabs = 40
	var titles []media.ItemID
	for i := range tabs {
		id, _ := media.NewItemID()
		it := store.Item{CatalogItem: protocol.CatalogItem{ID: id, Title: fmt.Sprint("Title ", i), Kind: protocol.KindVideo,
			PriceCents: 300, Size: 1 << 20, SealedSize: 1 << 20, InfoHash: fmt.Sprintf("%x11111111", id[:]), Pieces: 4, Added: time.Now()}, Torrent: []byte("x")}
		if err := s.st.AddItem(ctx, it, []byte("k")); err != nil {
			t.Fatal(err)
		}
		titles = append(titles, id)
	}
	same := func(l []media.ItemID) ([]media.ItemID, error) { return l, nil }
	before, err := s.st.EditWishlist(ctx, "household", s.box, same) // reads the version (and bumps it once)
	if err != nil {
		t.Fatal(err)
	}
	b := s.browser(t)
	if code := b.signIn("household", "correct horse household"); code != http.StatusOK {
		t.Fatalf("sign in: %d", code)
	}
	csrf := b.csrf()
	codes := make([]int, tabs)
	var wg sync.WaitGroup
	for i, item := range titles {
		wg.Go(func() {
			resp, err := b.c.PostForm(b.base+"/boxes/wishlist", url.Values{"csrf": {csrf}, "box": {s.box.String()}, "item": {item.String()}, "action": {"add"}})
			if err != nil {
				t.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			codes[i] = resp.StatusCode
		})
	}
	wg.Wait()
	for i, code := range codes {
		if code != http.StatusOK {
			t.Fatalf("tab %d: %d, want the saved page", i, code)
		}
	}
	var list []media.ItemID
	after, err := s.st.EditWishlist(ctx, "household", s.box, func(l []media.ItemID) ([]media.ItemID, error) { list = l; return l, nil })
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range titles {
		if !slices.Contains(list, id) {
			t.Errorf("edit adding %s answered saved but is not in the list (%d of %d kept)", id, len(list), tabs)
		}
	}
	if after-before != tabs+1 {
		t.Fatalf("wishlist version moved %d times for %d edits and one read", after-before, tabs)
	}
}
