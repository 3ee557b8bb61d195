package firmware

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"swarmbox/media"
	"swarmbox/storage"
	"swarmbox/sync/protocol"
)

// The household's wishlist through the API: every edit is checked against the catalog replica
// and the room on the disk, applied and kept for the head-end in one transaction (storage's
// pending edits), and announced.

// Wishlist returns the wishlist, most wanted first.
func (a *API) Wishlist(ctx context.Context) ([]media.ItemID, error) {
	w, _, err := a.store.Wishlist(ctx)
	return w, err
}

// SetWishlist replaces the wishlist; the daemon syncs it at once (or, offline, when the
// head-end is back: the edit is kept on the disk). Every id must be in the catalog
// (ErrUnknownItem).
func (a *API) SetWishlist(ctx context.Context, items []media.ItemID) error {
	if err := a.inCatalog(ctx, items...); err != nil {
		return err
	}
	old, err := a.Wishlist(ctx)
	if err != nil {
		return err
	}
	if err := a.checkRoom(ctx, old, items); err != nil {
		return err
	}
	return a.editWishlist(ctx, storage.WishEdit{Op: storage.EditSet, List: items})
}

// inCatalog checks that every id is in the catalog replica.
func (a *API) inCatalog(ctx context.Context, items ...media.ItemID) error {
	cat, err := a.catalog(ctx)
	if err != nil {
		return err
	}
	for _, id := range items {
		if !slices.ContainsFunc(cat.Items, func(c protocol.CatalogItem) bool { return c.ID == id }) {
			return fmt.Errorf("%s: %w: the box's catalog (%d titles) does not list it; is the box synced?", id, ErrUnknownItem, len(cat.Items))
		}
	}
	return nil
}

// editWishlist applies the household's edit, keeps it for the head-end, and announces the list
// and the items it took in or let go.
func (a *API) editWishlist(ctx context.Context, e storage.WishEdit) error {
	if err := a.store.Writable(); err != nil {
		return err // read-only on a full disk (fullstart.go)
	}
	old, err := a.Wishlist(ctx)
	if err != nil {
		return err
	}
	now, err := a.store.EditWishlist(ctx, e)
	if err != nil {
		return err
	}
	a.wishlistChanged(ctx, old, now)
	return nil
}

// adoptWishlist takes the head-end's newer list (the customer changed it in the browser) with
// the household's pending edits on top, and announces the result.
func (a *API) adoptWishlist(ctx context.Context, version int64, list []media.ItemID) ([]media.ItemID, error) {
	old, err := a.Wishlist(ctx)
	if err != nil {
		return nil, err
	}
	now, err := a.store.AdoptWishlist(ctx, version, list)
	if err != nil {
		return nil, err
	}
	a.wishlistChanged(ctx, old, now)
	return now, nil
}

// wishlistChanged announces the list and the items it took in or let go.
func (a *API) wishlistChanged(ctx context.Context, old, now []media.ItemID) {
	a.hub.publish(Change{Kind: WishlistChanged, Wishlist: now})
	for _, id := range old {
		if !slices.Contains(now, id) {
			a.announce(ctx, id)
		}
	}
	for _, id := range now {
		if !slices.Contains(old, id) {
			a.announce(ctx, id)
		}
	}
}

// ErrBadPosition is returned for a wishlist position below 1.
var ErrBadPosition = errors.New("positions start at 1")

// MoveWish puts item at position pos (1 = most wanted) of the wishlist, adding it if it is not
// there; a position past the end puts it last.
func (a *API) MoveWish(ctx context.Context, item media.ItemID, pos int) error {
	if pos < 1 {
		return fmt.Errorf("position %d: %w", pos, ErrBadPosition)
	}
	if err := a.inCatalog(ctx, item); err != nil {
		return err
	}
	old, err := a.Wishlist(ctx)
	if err != nil {
		return err
	}
	if err := a.checkRoom(ctx, old, append(slices.Clone(old), item)); err != nil {
		return err
	}
	return a.editWishlist(ctx, storage.WishEdit{Op: storage.EditMove, Item: item, Pos: pos})
}

// RemoveWish takes item off the wishlist.
func (a *API) RemoveWish(ctx context.Context, item media.ItemID) error {
	return a.editWishlist(ctx, storage.WishEdit{Op: storage.EditRemove, Item: item})
}
