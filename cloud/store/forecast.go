package store

import (
	"context"
	"fmt"
	"time"

	"swarmbox/cloud/forecast"
	"swarmbox/media"
)

// DemandSignals returns what the demand forecast for a region is made of: every wish on the
// region's boxes (dated by the box's last sync, or its registration before any) and every
// purchase or rental by the region's accounts (dated by the ledger).
func (s *Store) DemandSignals(ctx context.Context, region string) ([]forecast.Signal, error) {
	var out []forecast.Signal
	add := func(kind forecast.Kind, query string) error {
		rows, err := s.db.QueryContext(ctx, query, region)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var item string
			var rank, at int64
			if err := rows.Scan(&item, &rank, &at); err != nil {
				return err
			}
			id, err := media.ParseItemID(item)
			if err != nil {
				return fmt.Errorf("demand signal with a damaged item id %q: %w", item, err)
			}
			out = append(out, forecast.Signal{Item: id, Kind: kind, Rank: int(rank), At: time.UnixMilli(at).UTC()})
		}
		return rows.Err()
	}
	if err := add(forecast.Wish, `SELECT w.item, w.rank, CASE WHEN b.last_sync > b.registered THEN b.last_sync ELSE b.registered END FROM wishes w
		JOIN boxes b ON b.id = w.box JOIN accounts a ON a.id = b.account WHERE a.region = ?`); err != nil {
		return nil, fmt.Errorf("wishes for the forecast: %w", err)
	}
	if err := add(forecast.Purchase, `SELECT l.item, 0, l.at FROM ledger l JOIN accounts a ON a.id = l.account
		WHERE a.region = ? AND l.item IS NOT NULL AND l.amount_cents <= 0`); err != nil {
		return nil, fmt.Errorf("purchases for the forecast: %w", err)
	}
	return out, nil
}
