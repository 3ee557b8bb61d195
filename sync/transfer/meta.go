package transfer

import (
	"bytes"
	"context"
	"crypto/sha1"
	"fmt"
	"os"
	"path/filepath"

	"github.com/anacrolix/torrent/metainfo"
)

// Meta is what the box needs of a torrent outside the engine, as plain values: storage sizes an
// item's container and a range placement's bytes from it without parsing torrents itself.
type Meta struct {
	InfoHash    string // hex
	Name        string // the single file's name, or the folder's
	Private     bool
	Length      int64 // bytes of all files together: the container's length
	PieceLength int64 // bytes of every piece but the last
	Pieces      int
	// Folder says Name is a folder of files, not the single file a box container is.
	Folder bool
	// PieceHashes are the SHA-1 of each piece (BitTorrent v1), for VerifyFile.
	PieceHashes [][sha1.Size]byte
}

// ParseMeta reads metainfo bytes. A torrent whose piece count disagrees with its length (more or
// fewer pieces than the length in pieces of PieceLength takes), or with a length or piece length
// that is not positive where it must be, is refused: the piece offsets of a range placement are
// computed from these figures.
func ParseMeta(b []byte) (Meta, error) {
	mi, err := metainfo.Load(bytes.NewReader(b))
	if err != nil {
		return Meta{}, fmt.Errorf("metainfo: %w", err)
	}
	info, err := mi.UnmarshalInfo()
	if err != nil {
		return Meta{}, fmt.Errorf("metainfo info: %w", err)
	}
	m := Meta{
		InfoHash:    mi.HashInfoBytes().HexString(),
		Name:        info.Name,
		Private:     info.Private != nil && *info.Private,
		PieceLength: info.PieceLength,
		Pieces:      info.NumPieces(),
		Folder:      info.IsDir(),
	}
	if len(info.Files) == 0 {
		m.Length = info.Length
	}
	for _, f := range info.Files {
		if f.Length < 0 || m.Length+f.Length < m.Length {
			return Meta{}, fmt.Errorf("metainfo: a file length of %d bytes", f.Length)
		}
		m.Length += f.Length
	}
	if m.Length < 0 {
		return Meta{}, fmt.Errorf("metainfo: a length of %d bytes", m.Length)
	}
	if m.PieceLength <= 0 {
		return Meta{}, fmt.Errorf("metainfo: a piece length of %d bytes", m.PieceLength)
	}
	want := m.Length / m.PieceLength
	if m.Length%m.PieceLength != 0 {
		want++
	}
	if int64(m.Pieces) != want {
		return Meta{}, fmt.Errorf("metainfo: the torrent's %d pieces of %d bytes do not fit its length of %d bytes (%d pieces)", m.Pieces, m.PieceLength, m.Length, want)
	}
	// The box checks pieces by their v1 SHA-1: a torrent without one per piece (v2-only) is refused.
	if len(info.Pieces) != sha1.Size*m.Pieces {
		return Meta{}, fmt.Errorf("metainfo: %d bytes of piece hashes for %d pieces", len(info.Pieces), m.Pieces)
	}
	m.PieceHashes = make([][sha1.Size]byte, m.Pieces)
	for i := range m.PieceHashes {
		m.PieceHashes[i] = [sha1.Size]byte(info.Pieces[i*sha1.Size:])
	}
	return m, nil
}

// VerifyFile checks that the file at path is the single file of m: its name, its length and
// every piece hash. Storage records a factory preload as complete only after it passed.
func VerifyFile(ctx context.Context, path string, m Meta) error {
	if m.Folder || m.Name != filepath.Base(path) {
		return fmt.Errorf("the torrent names %q, want the single file %q", m.Name, filepath.Base(path))
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	if fi.Size() != m.Length {
		return fmt.Errorf("%s has %d bytes, the torrent says %d", path, fi.Size(), m.Length)
	}
	buf := make([]byte, m.PieceLength)
	for i, want := range m.PieceHashes {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("verify %s: %w", path, err)
		}
		off := int64(i) * m.PieceLength
		b := buf[:min(m.PieceLength, m.Length-off)]
		if _, err := f.ReadAt(b, off); err != nil {
			return fmt.Errorf("read piece %d of %s: %w", i, path, err)
		}
		if sha1.Sum(b) != want {
			return fmt.Errorf("piece %d of %s does not match the torrent: the container is damaged", i, path)
		}
	}
	return nil
}
