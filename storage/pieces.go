package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
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

// RecordPiece records piece index of the torrent with infoHash (hex) verified, and adds the
// bytes that brought it (from the server, from peers) to its item's transfer figures, in one
// transaction: after a kill -9 or a power cut the figures are exactly those of the pieces
// recorded, so the head-end's accounting stays right. A failure (a full disk) records neither.
func (s *Store) RecordPiece(ctx context.Context, infoHash string, index int, fromServer, fromPeers int64) error {
	if fromServer < 0 || fromPeers < 0 {
		return fmt.Errorf("record piece %d of %s: negative byte counts (%d, %d)", index, infoHash, fromServer, fromPeers)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("record piece %d of %s: %w", index, infoHash, err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO pieces (info_hash, idx, complete) VALUES (?, ?, 1)`, infoHash, index); err != nil {
		return fmt.Errorf("record piece %d of %s: %w", index, infoHash, err)
	}
	if fromServer+fromPeers > 0 {
		if _, err := tx.ExecContext(ctx, `UPDATE items SET bytes_from_server = bytes_from_server + ?, bytes_from_peers = bytes_from_peers + ?
			WHERE info_hash = ?`, fromServer, fromPeers, infoHash); err != nil {
			return fmt.Errorf("record piece %d of %s: %w", index, infoHash, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("record piece %d of %s: %w", index, infoHash, err)
	}
	return nil
}

// EvictCandidate evicts c, one of EvictionCandidates, to make room on a full disk (its rows and
// piece completion in one transaction, then its file), recorded in evictions with c's reason.
// The caller stops serving it first.
func (s *Store) EvictCandidate(ctx context.Context, c Candidate, now time.Time) error {
	if c.Area == AreaPreload {
		return fmt.Errorf("%s is a factory preload, read-only to the box: %w", c.Item, ErrNotEvictable)
	}
	if playing, err := s.isPlaying(ctx, c.Item, now); err != nil {
		return err
	} else if playing {
		return fmt.Errorf("%s is being played: %w", c.Item, ErrNotEvictable)
	}
	return s.evict(ctx, c.Item, c.Reason, now)
}
