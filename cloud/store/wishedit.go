package store

import (
	"context"
	"fmt"

	"swarmbox/media"
)

// EditWishlist applies edit to a box's wishlist on behalf of its account's customer, reading and
// writing the list in one transaction, and bumps the box's wishlist version so the box adopts
// the list on its next sync. Edits made at once in several browsers are each applied to the list
// as the one before left it, so none is lost (requirement WISH-2); SetWishlist, by contrast,
// replaces the list with one its caller read earlier. The first statement updates the box's
// row, which holds it (PostgreSQL's row lock; SQLite's transactions run one at a time) until the
// edit commits. A box of another account is ErrNotFound, like a box that does not exist; an
// error from edit rolls back and is returned as it is.
func (s *Store) EditWishlist(ctx context.Context, account string, box media.BoxID, edit func([]media.ItemID) ([]media.ItemID, error)) (version int64, err error) {
	err = s.tx(ctx, func(tx *tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE boxes SET wish_version = wish_version + 1, wish_hash = 0 WHERE id = ? AND account = ?`, box.String(), account)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return fmt.Errorf("box %s of account %q: %w", box, account, ErrNotFound)
		}
		list, err := wishlist(ctx, tx, box.String())
		if err != nil {
			return err
		}
		if list, err = edit(list); err != nil {
			return err
		}
		if err := replaceWishes(ctx, tx, box.String(), list); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT wish_version FROM boxes WHERE id = ?`, box.String()).Scan(&version)
	})
	return version, err
}
