package storage

import (
	"bytes"
	"context"
	"crypto/sha1"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/anacrolix/torrent/metainfo"

	"swarmbox/media"
)

// AddPreloaded records a container the factory wrote into the preload area: the file must
// already be at PreloadDir()/<item>.sbx and match the torrent. Every piece is verified against
// the torrent's hashes here, and recorded complete, so the box seeds it from its first start
// without a recheck. Running it again for the same item changes nothing.
func (s *Store) AddPreloaded(ctx context.Context, item media.ItemID, torrent []byte, now time.Time) error {
	mi, err := metainfo.Load(bytes.NewReader(torrent))
	if err != nil {
		return fmt.Errorf("preload %s: metainfo: %w", item, err)
	}
	info, err := mi.UnmarshalInfo()
	if err != nil {
		return fmt.Errorf("preload %s: metainfo info: %w", item, err)
	}
	if info.Private == nil || !*info.Private {
		return fmt.Errorf("preload %s: the torrent is not marked private", item)
	}
	if want := item.String() + ".sbx"; info.Name != want || len(info.Files) > 0 {
		return fmt.Errorf("preload %s: the torrent names %q, want the single file %q", item, info.Name, want)
	}
	path := filepath.Join(s.PreloadDir(), item.String()+".sbx")
	if err := verifyPieces(path, &info); err != nil {
		return fmt.Errorf("preload %s: %w", item, err)
	}
	ih := mi.HashInfoBytes()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `INSERT INTO items (id, info_hash, torrent, complete, pieces, total, updated, area, size) VALUES (?, ?, ?, 1, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET area = excluded.area, complete = 1, pieces = excluded.pieces, size = excluded.size, range_begin = 0, range_end = 0`,
		item.String(), ih.HexString(), torrent, info.NumPieces(), info.NumPieces(), now.UnixMilli(), AreaPreload, info.TotalLength()); err != nil {
		return err
	}
	for i := range info.NumPieces() {
		if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO pieces (info_hash, idx, complete) VALUES (?, ?, 1)`, ih.HexString(), i); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// verifyPieces checks the file at path against every piece hash of info.
func verifyPieces(path string, info *metainfo.Info) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("the container is not in the preload folder: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if fi.Size() != info.TotalLength() {
		return fmt.Errorf("%s has %d bytes, the torrent says %d", path, fi.Size(), info.TotalLength())
	}
	buf := make([]byte, info.PieceLength)
	for i := range info.NumPieces() {
		p := info.Piece(i)
		b := buf[:p.Length()]
		if _, err := f.ReadAt(b, p.Offset()); err != nil {
			return fmt.Errorf("read piece %d: %w", i, err)
		}
		want, ok := p.V1Hash().AsTuple()
		if !ok || sha1.Sum(b) != [20]byte(want) {
			return fmt.Errorf("piece %d of %s does not match the torrent: the container is damaged", i, path)
		}
	}
	return nil
}
