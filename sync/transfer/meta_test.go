package transfer

import (
	"context"
	"crypto/rand"
	"crypto/sha1"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/anacrolix/torrent/metainfo"

	"swarmbox/internal/torrenttest"
)

func TestParseMeta(t *testing.T) {
	const pieceLen = 16 << 10
	data := make([]byte, 9*pieceLen+5000)
	rand.Read(data)
	tb := torrenttest.Private(t, t.TempDir(), "x.sbx", data, pieceLen)
	m, err := ParseMeta(tb)
	if err != nil {
		t.Fatal(err)
	}
	ih, pieces, err := ParseTorrent(tb)
	if err != nil {
		t.Fatal(err)
	}
	want := Meta{InfoHash: ih, Name: "x.sbx", Private: true, Length: 9*pieceLen + 5000, PieceLength: pieceLen, Pieces: 10}
	for p := range slices.Chunk(data, pieceLen) {
		want.PieceHashes = append(want.PieceHashes, sha1.Sum(p))
	}
	if !reflect.DeepEqual(m, want) || pieces != 10 {
		t.Fatalf("ParseMeta = %+v, want %+v (ParseTorrent: %d pieces)", m, want, pieces)
	}

	hashes := func(n int) []byte { return make([]byte, 20*n) }
	for _, tc := range []struct {
		name string
		info metainfo.Info
		err  string // "" = accepted
	}{
		{"exact pieces", metainfo.Info{Name: "a", PieceLength: 10, Length: 30, Pieces: hashes(3)}, ""},
		{"short last piece", metainfo.Info{Name: "a", PieceLength: 10, Length: 31, Pieces: hashes(4)}, ""},
		{"empty", metainfo.Info{Name: "a", PieceLength: 10, Length: 0}, ""},
		{"one piece too many", metainfo.Info{Name: "a", PieceLength: 10, Length: 30, Pieces: hashes(4)}, "4 pieces of 10 bytes do not fit its length of 30"},
		{"one piece too few", metainfo.Info{Name: "a", PieceLength: 10, Length: 31, Pieces: hashes(3)}, "3 pieces of 10 bytes do not fit its length of 31"},
		{"no piece length", metainfo.Info{Name: "a", PieceLength: 0, Length: 30, Pieces: hashes(3)}, "piece length of 0"},
		{"negative length", metainfo.Info{Name: "a", PieceLength: 10, Length: -5}, "length of -5"},
		{"files", metainfo.Info{Name: "d", PieceLength: 10, Files: []metainfo.FileInfo{{Length: 15, Path: []string{"a"}}, {Length: 6, Path: []string{"b"}}}, Pieces: hashes(3)}, ""},
		{"torn hashes", metainfo.Info{Name: "a", PieceLength: 10, Length: 30, Pieces: hashes(4)[:61]}, "61 bytes of piece hashes for 3 pieces"},
		{"negative file", metainfo.Info{Name: "d", PieceLength: 10, Files: []metainfo.FileInfo{{Length: 25, Path: []string{"a"}}, {Length: -5, Path: []string{"b"}}}, Pieces: hashes(2)}, "file length of -5"},
	} {
		m, err := ParseMeta(torrenttest.Encode(t, tc.info))
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("%s: refused: %v", tc.name, err)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%s: err = %v, want one saying %q (meta %+v)", tc.name, err, tc.err, m)
		}
	}
	if _, err := ParseMeta([]byte("not bencode")); err == nil {
		t.Error("garbage parsed")
	}
}

// FuzzParseMeta checks that ParseMeta never panics and that what it accepts is consistent: the
// pieces cover the length, the last one not empty.
func FuzzParseMeta(f *testing.F) {
	f.Add(torrenttest.Encode(f, metainfo.Info{Name: "a", PieceLength: 10, Length: 31, Pieces: make([]byte, 80)}))
	f.Add(torrenttest.Encode(f, metainfo.Info{Name: "a", PieceLength: 10, Length: 30, Pieces: make([]byte, 80)}))
	f.Add(torrenttest.Encode(f, metainfo.Info{Name: "d", PieceLength: 1 << 20, Files: []metainfo.FileInfo{{Length: 5, Path: []string{"a"}}}, Pieces: make([]byte, 20)}))
	f.Add([]byte("d4:infod6:lengthi-1e4:name1:a12:piece lengthi0e6:pieces0:ee"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseMeta(b)
		if err != nil {
			return
		}
		if m.Length < 0 || m.PieceLength <= 0 || m.Pieces < 0 {
			t.Fatalf("accepted %+v", m)
		}
		if m.Pieces > 0 {
			last := m.Length - int64(m.Pieces-1)*m.PieceLength
			if last <= 0 || last > m.PieceLength {
				t.Fatalf("accepted %+v: a last piece of %d bytes", m, last)
			}
		} else if m.Length != 0 {
			t.Fatalf("accepted %+v: no pieces for %d bytes", m, m.Length)
		}
	})
}

// TestVerifyFile: only the torrent's own single file, whole and undamaged, passes; a damaged
// preload must never be recorded as verified.
func TestVerifyFile(t *testing.T) {
	const pieceLen = 16 << 10
	data := make([]byte, 3*pieceLen+100)
	rand.Read(data)
	m, err := ParseMeta(torrenttest.Private(t, t.TempDir(), "x.sbx", data, pieceLen))
	if err != nil {
		t.Fatal(err)
	}
	flip := func(i int) []byte { b := slices.Clone(data); b[i] ^= 1; return b }
	folder := m
	folder.Folder = true
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tc := range []struct {
		name string
		file string
		data []byte // nil: no file
		meta Meta
		ctx  context.Context
		err  string // "" = passes
	}{
		{"whole", "x.sbx", data, m, context.Background(), ""},
		{"missing", "x.sbx", nil, m, context.Background(), "no such file"},
		{"damaged first piece", "x.sbx", flip(0), m, context.Background(), "piece 0 "},
		{"damaged last piece", "x.sbx", flip(len(data) - 1), m, context.Background(), "piece 3 "},
		{"short", "x.sbx", data[:len(data)-1], m, context.Background(), "the torrent says"},
		{"long", "x.sbx", append(slices.Clone(data), 0), m, context.Background(), "the torrent says"},
		{"another name", "y.sbx", data, m, context.Background(), `want the single file "y.sbx"`},
		{"a folder torrent", "x.sbx", data, folder, context.Background(), "single file"},
		{"cancelled", "x.sbx", data, m, cancelled, "context canceled"},
	} {
		path := filepath.Join(t.TempDir(), tc.file)
		if tc.data != nil {
			if err := os.WriteFile(path, tc.data, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		err := VerifyFile(tc.ctx, path, tc.meta)
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("%s: refused: %v", tc.name, err)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%s: err = %v, want one saying %q", tc.name, err, tc.err)
		}
	}
}
