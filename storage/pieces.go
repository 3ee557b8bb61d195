package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// PieceDone says whether piece index of the torrent with infoHash (hex) is recorded (known) and,
// if so, whether it verified. The engine keeps its piece completion here (transfer.Completion),
// so that it is committed with everything else and survives a power cut.
func (s *Store) PieceDone(ctx context.Context, infoHash string, index int) (known, done bool, err error) {
	err = s.db.QueryRowContext(ctx, `SELECT complete FROM pieces WHERE info_hash = ? AND idx = ?`, infoHash, index).Scan(&done)
	if errors.Is(err, sql.ErrNoRows) {
		return false, false, nil
	}
	if err != nil {
		return false, false, fmt.Errorf("piece %d of %s: %w", index, infoHash, err)
	}
	return true, done, nil
}

// SetPiece records whether piece index of the torrent with infoHash (hex) verified.
func (s *Store) SetPiece(ctx context.Context, infoHash string, index int, done bool) error {
	if _, err := s.db.ExecContext(ctx, `INSERT OR REPLACE INTO pieces (info_hash, idx, complete) VALUES (?, ?, ?)`, infoHash, index, done); err != nil {
		return fmt.Errorf("record piece %d of %s: %w", index, infoHash, err)
	}
	return nil
}

// VerifiedPieces counts the pieces of the torrent with infoHash (hex) recorded as verified.
func (s *Store) VerifiedPieces(ctx context.Context, infoHash string) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM pieces WHERE info_hash = ? AND complete`, infoHash).Scan(&n)
	return n, err
}
