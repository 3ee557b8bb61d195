package storage

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"swarmbox/media"
)

// Preload is what AddPreloaded records of a factory preload, as the caller read it from the
// item's torrent (transfer.ParseMeta).
type Preload struct {
	InfoHash string // hex
	Torrent  []byte
	Pieces   int
	Size     int64 // the container's length
}

// AddPreloaded records a container the factory wrote into the preload area: the file must
// already be at PreloadDir()/<item>.sbx. verify is called with that path and must check every
// piece against the torrent (transfer.VerifyFile): only then is the item recorded, every piece
// complete, so the box seeds it from its first start without a recheck. Storage does not read
// torrents, hence the caller's check; it is called here so that nothing unverified is ever
// recorded as preloaded. Running it again for the same item changes nothing.
func (s *Store) AddPreloaded(ctx context.Context, item media.ItemID, p Preload, verify func(ctx context.Context, path string) error, now time.Time) error {
	if verify == nil {
		return errors.New("preload: no verification of the container")
	}
	path := filepath.Join(s.PreloadDir(), item.String()+".sbx")
	if err := verify(ctx, path); err != nil {
		return fmt.Errorf("preload %s: %w", item, err)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("preload %s: %w", item, err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `INSERT INTO items (id, info_hash, torrent, complete, pieces, total, updated, area, size) VALUES (?, ?, ?, 1, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET area = excluded.area, complete = 1, pieces = excluded.pieces, size = excluded.size, range_begin = 0, range_end = 0`,
		item.String(), p.InfoHash, p.Torrent, p.Pieces, p.Pieces, now.UnixMilli(), AreaPreload, p.Size); err != nil {
		return fmt.Errorf("preload %s: %w", item, err)
	}
	for i := range p.Pieces {
		if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO pieces (info_hash, idx, complete) VALUES (?, ?, 1)`, p.InfoHash, i); err != nil {
			return fmt.Errorf("preload %s: %w", item, err)
		}
	}
	return tx.Commit()
}
