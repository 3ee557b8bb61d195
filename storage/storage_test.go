package storage

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"slices"
	"testing"
	"time"

	"swarmbox/media"
)

func open(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestIdentityIsMadeOnceAndKept(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := open(t, dir)
	if _, err := s.Identity(ctx); !errors.Is(err, ErrNoIdentity) {
		t.Fatalf("fresh box: err = %v, want ErrNoIdentity", err)
	}
	if _, err := s.EnsureIdentity(ctx, "", ""); err == nil {
		t.Fatal("first start without head-end and account accepted")
	}
	id, err := s.EnsureIdentity(ctx, "http://h", "acct")
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = open(t, dir)
	again, err := s.EnsureIdentity(ctx, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if again.Box != id.Box || !again.SignKey.Equal(id.SignKey) || !again.KEMKey.Equal(id.KEMKey) || again.HeadendURL != "http://h" {
		t.Fatal("identity changed across restarts")
	}
	if _, err := s.EnsureIdentity(ctx, "", "someone-else"); err == nil {
		t.Fatal("box moved to another account silently")
	}
	hk, _, _ := ed25519.GenerateKey(rand.Reader)
	if err := s.SetRegistered(ctx, hk); err != nil {
		t.Fatal(err)
	}
	other, _, _ := ed25519.GenerateKey(rand.Reader)
	if err := s.SetRegistered(ctx, other); err == nil {
		t.Fatal("a different head-end key replaced the pinned one")
	}
}

func TestWishlistVersionAndOrder(t *testing.T) {
	ctx := context.Background()
	s := open(t, t.TempDir())
	a, b := media.ItemID{1}, media.ItemID{2}
	_, v0, err := s.Wishlist(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetWishlist(ctx, []media.ItemID{b, a, b}); err != nil {
		t.Fatal(err)
	}
	got, v1, err := s.Wishlist(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, []media.ItemID{b, a}) || v1 <= v0 {
		t.Fatalf("wishlist %v version %d->%d; want [b a] and a bigger version", got, v0, v1)
	}
}

func TestPieceRecordSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := open(t, dir)
	if known, done, err := s.PieceDone(ctx, "09", 7); err != nil || known || done {
		t.Fatalf("unknown piece: known %v done %v, %v; want not known", known, done, err)
	}
	if err := s.SetPiece(ctx, "09", 7, true); err != nil {
		t.Fatal(err)
	}
	if err := s.SetPiece(ctx, "09", 8, false); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = open(t, dir)
	for _, tc := range []struct {
		index       int
		known, done bool
	}{{7, true, true}, {8, true, false}, {9, false, false}} {
		if known, done, err := s.PieceDone(ctx, "09", tc.index); err != nil || known != tc.known || done != tc.done {
			t.Errorf("piece %d after restart: known %v done %v, %v; want %v %v", tc.index, known, done, err, tc.known, tc.done)
		}
	}
	if n := must(s.VerifiedPieces(ctx, "09")); n != 1 {
		t.Errorf("%d verified pieces, want 1", n)
	}
}

func TestItemsAndLicenses(t *testing.T) {
	ctx := context.Background()
	s := open(t, t.TempDir())
	it := media.ItemID{3}
	now := time.Now()
	if err := s.AddItem(ctx, it, "ab", []byte("torrent"), 9, 1000, now); err != nil {
		t.Fatal(err)
	}
	if err := s.UpdateItem(ctx, it, 5, false, 100, 0, now); err != nil {
		t.Fatal(err)
	}
	if err := s.AddItem(ctx, it, "ab", []byte("torrent"), 9, 1000, now); err != nil { // again: keeps progress
		t.Fatal(err)
	}
	if err := s.UpdateItem(ctx, it, 9, true, 0, 50, now); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetItem(ctx, it)
	if err != nil {
		t.Fatal(err)
	}
	if got.Pieces != 9 || got.Total != 9 || !got.Complete || got.BytesFromServer != 100 || got.BytesFromPeers != 50 || got.Size != 1000 {
		t.Fatalf("item %+v: want 9 pieces, complete, 100 from server, 50 from peers, 1000 bytes", got)
	}
	if _, err := s.License(ctx, it); !errors.Is(err, ErrNotFound) {
		t.Fatalf("license before buying: %v", err)
	}
	if err := s.SaveLicense(ctx, it, []byte("env"), now); err != nil {
		t.Fatal(err)
	}
	if env, err := s.License(ctx, it); err != nil || string(env) != "env" {
		t.Fatalf("license: %q, %v", env, err)
	}
}
