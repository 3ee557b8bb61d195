package transfer

import (
	"bytes"
	"fmt"

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
	return m, nil
}
