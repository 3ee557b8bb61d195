package repository

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/anacrolix/torrent/metainfo"

	"swarmbox/media"
	"swarmbox/sync/protocol"
)

func TestIngestMakesAVerifiablePrivateTorrentOverTheContainer(t *testing.T) {
	ctx := context.Background()
	r, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(t.TempDir(), "film")
	data := make([]byte, 700_001)
	rand.Read(data)
	os.WriteFile(src, data, 0o600)
	it, key, err := r.Ingest(ctx, src, IngestOptions{Title: "Film", Kind: protocol.KindVideo, Category: " Films/Drama", PriceCents: 1})
	if err != nil {
		t.Fatal(err)
	}
	if it.Category != "films/drama" {
		t.Fatalf("category %q, want it normalised to films/drama", it.Category)
	}
	container, err := os.ReadFile(r.Path(it.ID))
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(container)) != it.SealedSize {
		t.Fatalf("container is %d bytes, catalog says %d", len(container), it.SealedSize)
	}
	mi, err := metainfo.Load(bytes.NewReader(it.Torrent))
	if err != nil {
		t.Fatal(err)
	}
	info, err := mi.UnmarshalInfo()
	if err != nil {
		t.Fatal(err)
	}
	if info.Private == nil || !*info.Private || len(mi.Announce) != 0 {
		t.Fatal("torrent must be private and carry no tracker of its own")
	}
	if mi.HashInfoBytes().HexString() != it.InfoHash || info.NumPieces() != it.Pieces {
		t.Fatal("catalog info hash or piece count disagrees with the torrent")
	}
	for i := range info.NumPieces() {
		p := info.Piece(i)
		sum := sha1.Sum(container[p.Offset() : p.Offset()+p.Length()])
		if !bytes.Equal(sum[:], p.V1Hash().Unwrap().Bytes()) {
			t.Fatalf("piece %d hash does not match the container", i)
		}
	}
	rd, err := media.NewReader(bytes.NewReader(container), int64(len(container)), key, it.ID)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := io.ReadAll(io.NewSectionReader(rd, 0, rd.Size()))
	if err != nil || !bytes.Equal(plain, data) {
		t.Fatalf("container does not decrypt to the ingested file (err %v)", err)
	}
}

func TestIngestRefusesBadInputAndLeavesNothing(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	r, _ := Open(dir)
	src := filepath.Join(t.TempDir(), "f")
	os.WriteFile(src, []byte("x"), 0o600)
	for name, tc := range map[string]struct {
		src string
		opt IngestOptions
	}{
		"unknown kind":   {src, IngestOptions{Title: "T", Kind: "hologram"}},
		"no title":       {src, IngestOptions{Kind: protocol.KindFile}},
		"negative price": {src, IngestOptions{Title: "T", Kind: protocol.KindFile, PriceCents: -1}},
		"missing file":   {src + ".nope", IngestOptions{Title: "T", Kind: protocol.KindFile}},
		"a directory":    {dir, IngestOptions{Title: "T", Kind: protocol.KindFile}},
		"bad category":   {src, IngestOptions{Title: "T", Kind: protocol.KindFile, Category: "films//drama"}},
		"deep category":  {src, IngestOptions{Title: "T", Kind: protocol.KindFile, Category: "a/b/c"}},
	} {
		t.Run(name, func(t *testing.T) {
			if _, _, err := r.Ingest(ctx, tc.src, tc.opt); err == nil {
				t.Fatal("accepted")
			}
		})
	}
	left, _ := os.ReadDir(dir)
	if len(left) != 0 {
		t.Fatalf("refused ingests left %d files in the repository", len(left))
	}
}

func TestPieceLength(t *testing.T) {
	for _, tc := range []struct{ size, want int64 }{{0, 256 << 10}, {100 << 20, 256 << 10}, {4 << 30, 4 << 20}, {1 << 40, 16 << 20}} {
		if got := PieceLength(tc.size); got != tc.want {
			t.Errorf("PieceLength(%d) = %d, want %d", tc.size, got, tc.want)
		}
	}
}
