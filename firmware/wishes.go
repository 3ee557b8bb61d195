package firmware

// The wishlist between the box and its head-end. The household's edits are kept on the disk
// until a sync carries them (storage.EditWishlist), with the head-end's wishlist version the box
// last adopted; a restart in between loses nothing. When the customer changed the list in the
// browser meanwhile, the box adopts it and applies its pending edits on top, in order, and the
// next sync reports the result: every edit reaches the head-end once.

import (
	"context"
	"fmt"

	"swarmbox/media"
	"swarmbox/sync/protocol"
)

// wishReport is what a sync reports of the wishlist: the list, the head-end version it was
// made against, and the last pending edit it holds (edits made later stay pending).
func (b *Box) wishReport(ctx context.Context) (list []media.ItemID, version, lastEdit int64, err error) {
	pend, err := b.store.PendingEdits(ctx)
	if err != nil {
		return nil, 0, 0, err
	}
	if len(pend) > 0 {
		lastEdit = pend[len(pend)-1].Seq
	}
	if version, err = b.store.AdoptedWishVersion(ctx); err != nil {
		return nil, 0, 0, err
	}
	list, _, err = b.store.Wishlist(ctx)
	return list, version, lastEdit, err
}

// wishesSynced settles the wishlist after a sync answered: the head-end saved the list
// reported at version (its edits up to lastEdit are carried), or it holds a newer list, which
// the box adopts with its pending edits on top; the loop then syncs again, at once.
func (b *Box) wishesSynced(ctx context.Context, resp protocol.SyncResponse, version, lastEdit int64) error {
	if resp.WishlistVersion <= version {
		if lastEdit > 0 {
			return b.store.AckEdits(ctx, lastEdit)
		}
		return nil
	}
	merged, err := b.api.adoptWishlist(ctx, resp.WishlistVersion, resp.Wishlist)
	if err != nil {
		return fmt.Errorf("adopt the wishlist from the head-end: %w", err)
	}
	b.log.Info("wishlist changed in the browser adopted, the box's pending edits on top", "items", len(resp.Wishlist), "version", resp.WishlistVersion,
		"now", len(merged))
	return nil
}
