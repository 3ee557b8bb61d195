// Package repository is the head-end's media server: it turns files into sealed containers with
// a private torrent over each, keeps the containers on disk, and serves them as an HTTP web seed
// (BEP 19) with Range requests.
package repository

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha1"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/anacrolix/torrent/bencode"
	"github.com/anacrolix/torrent/metainfo"

	"swarmbox/cloud/store"
	"swarmbox/media"
	"swarmbox/sync/protocol"
)

// Ext is the file extension of a sealed container.
const Ext = ".sbx"

// Repository keeps sealed containers in one folder, named by item id.
type Repository struct {
	dir string
}

// Open uses dir (created if needed) as the repository.
func Open(dir string) (*Repository, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("repository folder: %w", err)
	}
	return &Repository{dir: dir}, nil
}

// Path is where the container of item lives.
func (r *Repository) Path(item media.ItemID) string {
	return filepath.Join(r.dir, item.String()+Ext)
}

// IngestOptions describe a new title.
type IngestOptions struct {
	Title      string
	Kind       string // protocol.KindVideo, KindAudio or KindFile
	Category   string // see protocol.ParseCategory; empty = uncategorised
	PriceCents int64
	// Progress, if set, is called with plaintext bytes done so far.
	Progress func(done int64)
}

// PieceLength picks the torrent piece length for a container: the smallest power of two from
// 256 KiB up that keeps the piece count near 2000, so metainfo stays small for large films while
// small items still have enough pieces to spread over several peers.
func PieceLength(size int64) int64 {
	pl := int64(256 << 10)
	for size/pl > 2000 && pl < 16<<20 {
		pl *= 2
	}
	return pl
}

// Ingest seals the file at src under a new random content key and builds a private torrent over
// the container, hashing pieces in the same pass. It returns the catalog item (not yet stored)
// and the content key, which the caller hands to the key vault. The container is written under a
// temporary name, synced and renamed, so a crash leaves no half container under a real name.
func (r *Repository) Ingest(ctx context.Context, src string, opt IngestOptions) (store.Item, media.ContentKey, error) {
	var key media.ContentKey
	switch opt.Kind {
	case protocol.KindVideo, protocol.KindAudio, protocol.KindFile:
	default:
		return store.Item{}, key, fmt.Errorf("kind %q: use video, audio or file", opt.Kind)
	}
	if opt.Title == "" {
		return store.Item{}, key, errors.New("a title is required")
	}
	if opt.PriceCents < 0 {
		return store.Item{}, key, errors.New("price cannot be negative")
	}
	category, err := protocol.ParseCategory(opt.Category)
	if err != nil {
		return store.Item{}, key, err
	}
	f, err := os.Open(src)
	if err != nil {
		return store.Item{}, key, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return store.Item{}, key, err
	}
	if !st.Mode().IsRegular() {
		return store.Item{}, key, fmt.Errorf("%s is not a regular file", src)
	}
	id, err := media.NewItemID()
	if err != nil {
		return store.Item{}, key, err
	}
	if key, err = media.NewContentKey(); err != nil {
		return store.Item{}, key, err
	}
	sealed := media.SealedSize(st.Size(), media.DefaultChunkSize)
	pl := PieceLength(sealed)

	dst := r.Path(id)
	tmp, err := os.CreateTemp(r.dir, ".ingest-*")
	if err != nil {
		return store.Item{}, key, err
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	ph := &pieceHasher{pieceLen: pl, h: sha1.New()}
	bw := bufio.NewWriterSize(io.MultiWriter(tmp, ph), 1<<20)
	if _, err := media.Seal(ctx, bw, bufio.NewReaderSize(f, 1<<20), st.Size(), id, key, media.SealOptions{Progress: opt.Progress}); err != nil {
		tmp.Close()
		return store.Item{}, key, fmt.Errorf("seal %s: %w", src, err)
	}
	if err := bw.Flush(); err != nil {
		tmp.Close()
		return store.Item{}, key, err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return store.Item{}, key, err
	}
	if err := tmp.Close(); err != nil {
		return store.Item{}, key, err
	}
	private := true
	info := metainfo.Info{
		PieceLength: pl,
		Pieces:      ph.finish(),
		Name:        id.String() + Ext,
		Length:      sealed,
		Private:     &private, // BEP 27: no DHT, no PEX, only our tracker
	}
	infoBytes, err := bencode.Marshal(info)
	if err != nil {
		return store.Item{}, key, err
	}
	mi := metainfo.MetaInfo{InfoBytes: infoBytes, CreatedBy: "swarmbox", CreationDate: time.Now().Unix()}
	var tb bytes.Buffer
	if err := mi.Write(&tb); err != nil {
		return store.Item{}, key, err
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return store.Item{}, key, err
	}
	return store.Item{
		CatalogItem: protocol.CatalogItem{
			ID: id, Title: opt.Title, Kind: opt.Kind, PriceCents: opt.PriceCents,
			Size: st.Size(), SealedSize: sealed, InfoHash: mi.HashInfoBytes().HexString(),
			Pieces: info.NumPieces(), Added: time.Now().UTC(), Category: category,
		},
		Torrent: tb.Bytes(),
	}, key, nil
}

// Remove deletes an item's container (used when recording the item fails after sealing).
func (r *Repository) Remove(item media.ItemID) error {
	return os.Remove(r.Path(item))
}

// pieceHasher computes BitTorrent v1 piece hashes of the bytes written to it.
type pieceHasher struct {
	pieceLen int64
	h        hash.Hash
	inPiece  int64
	sums     []byte
}

func (p *pieceHasher) Write(b []byte) (int, error) {
	n := len(b)
	for len(b) > 0 {
		take := min(int64(len(b)), p.pieceLen-p.inPiece)
		p.h.Write(b[:take])
		p.inPiece += take
		b = b[take:]
		if p.inPiece == p.pieceLen {
			p.sums = p.h.Sum(p.sums)
			p.h.Reset()
			p.inPiece = 0
		}
	}
	return n, nil
}

func (p *pieceHasher) finish() []byte {
	if p.inPiece > 0 {
		p.sums = p.h.Sum(p.sums)
		p.h.Reset()
		p.inPiece = 0
	}
	return p.sums
}
