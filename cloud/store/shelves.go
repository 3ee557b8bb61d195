package store

import (
	"context"
	"fmt"

	"swarmbox/media"
	"swarmbox/sync/protocol"
)

// Catalog categories (protocol.ParseCategory): one column, empty for uncategorised, which is what
// every title ingested before it has (migrations/0005_item_categories.sql).

// SetItemCategory moves a title to another category ("" or "uncategorised" for none) and bumps
// the catalog version, so boxes fetch the change with their next sync.
func (s *Store) SetItemCategory(ctx context.Context, item media.ItemID, category string) error {
	cat, err := protocol.ParseCategory(category)
	if err != nil {
		return err
	}
	return s.tx(ctx, func(tx *tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE items SET category = ? WHERE id = ?`, cat, item.String())
		if err != nil {
			return fmt.Errorf("set category: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return fmt.Errorf("item %s: %w", item, ErrNotFound)
		}
		_, err = tx.ExecContext(ctx, `UPDATE meta SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT) WHERE key = 'catalog_version'`)
		return err
	})
}
