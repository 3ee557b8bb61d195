package transfer

import (
	"context"

	"github.com/anacrolix/torrent/metainfo"
	tstorage "github.com/anacrolix/torrent/storage"
)

// PieceRecord is where the box keeps which pieces verified (storage.Store, its pieces table),
// with infoHash in hex.
type PieceRecord interface {
	PieceDone(ctx context.Context, infoHash string, index int) (known, done bool, err error)
	SetPiece(ctx context.Context, infoHash string, index int, done bool) error
}

// Completion adapts r to anacrolix/torrent's piece-completion store, for Config.Completion: a
// piece is recorded complete only after its hash verified, and the record survives a power cut.
// When r is also a PieceBytesRecord (storage.Store), the bytes that brought each piece are
// recorded with it, in the same transaction.
func Completion(r PieceRecord) tstorage.PieceCompletion { return completion{r} }

type completion struct{ r PieceRecord }

// Get and Set have no context in the library's interface; each is one short database statement.
func (c completion) Get(k metainfo.PieceKey) (tstorage.Completion, error) {
	known, done, err := c.r.PieceDone(context.Background(), k.InfoHash.HexString(), k.Index)
	if err != nil {
		return tstorage.Completion{Err: err}, err
	}
	// Not known: the torrent client checks the data itself.
	return tstorage.Completion{Ok: known, Complete: done}, nil
}

func (c completion) Set(k metainfo.PieceKey, complete bool) error {
	return c.r.SetPiece(context.Background(), k.InfoHash.HexString(), k.Index, complete)
}

// bytesRecord is the record's PieceBytesRecord side, or nil when it keeps no bytes.
func (c completion) bytesRecord() PieceBytesRecord {
	br, _ := c.r.(PieceBytesRecord)
	return br
}

// Close is a no-op: the record belongs to its owner.
func (c completion) Close() error { return nil }
