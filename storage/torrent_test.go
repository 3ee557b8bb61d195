package storage

import (
	"bytes"
	"testing"

	"github.com/anacrolix/torrent/bencode"
	"github.com/anacrolix/torrent/metainfo"

	"swarmbox/sync/transfer"
)

// TestTorrentLength: the upgrade's small reader agrees with transfer.ParseMeta on real torrents
// and refuses what is not one.
func TestTorrentLength(t *testing.T) {
	metaOf := func(info metainfo.Info) []byte {
		ib, err := bencode.Marshal(info)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := (&metainfo.MetaInfo{InfoBytes: ib, Announce: "http://x/announce"}).Write(&buf); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	for _, tc := range []struct {
		name string
		tb   []byte
		want int64 // -1: refused
	}{
		{"single file", torrentFor(t, item(1), make([]byte, 40000)), 40000},
		{"files", metaOf(metainfo.Info{Name: "d", PieceLength: 10, Pieces: make([]byte, 60), Files: []metainfo.FileInfo{{Length: 15, Path: []string{"a"}}, {Length: 6, Path: []string{"b"}}}}), 21},
		{"empty", metaOf(metainfo.Info{Name: "a", PieceLength: 10}), 0},
		{"not bencode", []byte("torrent"), -1},
		{"no info", []byte("d3:fooi1ee"), -1},
		{"no length", []byte("d4:infod4:name1:aee"), 0},
		{"negative file", []byte("d4:infod5:filesld6:lengthi-1eeeee"), -1},
		{"truncated", []byte("d4:infod6:lengthi5e"), -1},
		{"long string", []byte("d4:info99:xe"), -1},
		{"trailing bytes", []byte("d4:infod6:lengthi5eeee"), -1},
		{"integer key", []byte("di1ei2ee"), -1},
	} {
		got, err := torrentLength(tc.tb)
		switch {
		case tc.want < 0 && err == nil:
			t.Errorf("%s: read a length of %d, want refused", tc.name, got)
		case tc.want >= 0 && (err != nil || got != tc.want):
			t.Errorf("%s: %d, %v; want %d", tc.name, got, err, tc.want)
		}
		if m, err := transfer.ParseMeta(tc.tb); err == nil && tc.want >= 0 && m.Length != tc.want {
			t.Errorf("%s: ParseMeta says %d bytes, the reader %d", tc.name, m.Length, tc.want)
		}
	}
}
