// Package torrenttest builds private torrents for tests of the packages that store and move them.
package torrenttest

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/anacrolix/torrent/bencode"
	"github.com/anacrolix/torrent/metainfo"
)

// Private writes data into dir as name and returns metainfo bytes for that one file with the
// private flag set (BEP 27) and pieces of pieceLen bytes.
func Private(t testing.TB, dir, name string, data []byte, pieceLen int64) []byte {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	private := true
	info := metainfo.Info{PieceLength: pieceLen, Private: &private}
	if err := info.BuildFromFilePath(path); err != nil {
		t.Fatal(err)
	}
	return Encode(t, info)
}

// Encode is the metainfo bytes of info as it is, however inconsistent (for tests of parsers).
func Encode(t testing.TB, info metainfo.Info) []byte {
	t.Helper()
	ib, err := bencode.Marshal(info)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := (&metainfo.MetaInfo{InfoBytes: ib}).Write(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Pieces reads a torrent's piece count and piece length.
func Pieces(t testing.TB, torrent []byte) (n int, length int64) {
	t.Helper()
	mi, err := metainfo.Load(bytes.NewReader(torrent))
	if err != nil {
		t.Fatal(err)
	}
	info, err := mi.UnmarshalInfo()
	if err != nil {
		t.Fatal(err)
	}
	return info.NumPieces(), info.PieceLength
}
