package storage

import (
	"context"
	"database/sql"
	"errors"

	"github.com/anacrolix/torrent/metainfo"
	tstorage "github.com/anacrolix/torrent/storage"
)

// PieceCompletion returns anacrolix/torrent's piece-completion store, kept in the box database so
// that which pieces are verified is committed in the same place as everything else, and survives
// a power cut: a piece is marked complete only after its hash verified.
func (s *Store) PieceCompletion() tstorage.PieceCompletion { return pieceCompletion{s} }

type pieceCompletion struct{ s *Store }

func (p pieceCompletion) Get(k metainfo.PieceKey) (tstorage.Completion, error) {
	var c bool
	err := p.s.db.QueryRow(`SELECT complete FROM pieces WHERE info_hash = ? AND idx = ?`, k.InfoHash.HexString(), k.Index).Scan(&c)
	if errors.Is(err, sql.ErrNoRows) {
		// Unknown: the torrent client will check the data itself.
		return tstorage.Completion{}, nil
	}
	if err != nil {
		return tstorage.Completion{Err: err}, err
	}
	return tstorage.Completion{Ok: true, Complete: c}, nil
}

func (p pieceCompletion) Set(k metainfo.PieceKey, complete bool) error {
	_, err := p.s.db.Exec(`INSERT OR REPLACE INTO pieces (info_hash, idx, complete) VALUES (?, ?, ?)`, k.InfoHash.HexString(), k.Index, complete)
	return err
}

// Close is a no-op: the database belongs to the Store.
func (p pieceCompletion) Close() error { return nil }

// VerifiedPieces counts the pieces of the torrent with infoHash (hex) recorded as verified.
func (s *Store) VerifiedPieces(ctx context.Context, infoHash string) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM pieces WHERE info_hash = ? AND complete`, infoHash).Scan(&n)
	return n, err
}
