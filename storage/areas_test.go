package storage

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"swarmbox/internal/sqlitedb"
	"swarmbox/internal/torrenttest"
	"swarmbox/media"
	"swarmbox/sync/transfer"
)

// torrentFor returns private metainfo for a single file named <item>.sbx holding data.
func torrentFor(t *testing.T, item media.ItemID, data []byte) []byte {
	return torrenttest.Private(t, t.TempDir(), item.String()+".sbx", data, 16<<10)
}

func item(n byte) media.ItemID { return media.ItemID{n, 0xaa} }

// reserve admits an item of size bytes into area.
func reserve(t *testing.T, s *Store, id media.ItemID, size int, area string, now time.Time) ([]media.ItemID, error) {
	t.Helper()
	_, ev, err := take(s.Reserve(context.Background(), wantOf(t, id, "ih-"+id.String(), torrentFor(t, id, make([]byte, size)), 1), area, now))
	return ev, err
}

// wantOf is what Reserve takes for the torrent tb of id, read as the box reads it.
func wantOf(t *testing.T, id media.ItemID, infoHash string, tb []byte, total int) Want {
	t.Helper()
	m, err := transfer.ParseMeta(tb)
	if err != nil {
		t.Fatal(err)
	}
	return Want{Item: id, InfoHash: infoHash, Torrent: tb, Total: total, PieceLength: m.PieceLength, Length: m.Length}
}

// take commits a reservation as the box does: planned is what the caller stops using first (the
// reservation's Evict), evicted what Commit then evicted.
func take(res *Reservation, err error) (planned, evicted []media.ItemID, _ error) {
	if err != nil {
		return nil, nil, err
	}
	evicted, err = res.Commit(context.Background())
	return res.Evict, evicted, err
}

// headend registers the box with a fresh head-end key and returns a license signer for it.
func headend(t *testing.T, s *Store) func(item media.ItemID, kind media.LicenseKind, expires time.Time) {
	t.Helper()
	ctx := context.Background()
	id, err := s.EnsureIdentity(ctx, "http://h", "acct")
	if err != nil {
		t.Fatal(err)
	}
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	if err := s.SetRegistered(ctx, pub); err != nil {
		t.Fatal(err)
	}
	return func(it media.ItemID, kind media.LicenseKind, expires time.Time) {
		l := media.License{ID: "0123456789abcdef0123456789abcdef", Box: id.Box, Item: it, Kind: kind, Issued: expires.Add(-48 * time.Hour), Expires: expires, WrappedKey: []byte{1}}
		env, err := l.Sign(priv)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.SaveLicense(ctx, it, env, expires); err != nil {
			t.Fatal(err)
		}
	}
}

func TestEvictionRules(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 25, 2, 0, 0, 0, time.UTC)
	s := open(t, t.TempDir())
	license := headend(t, s)
	var (
		wished       = item(1) // on the wishlist: never evicted by the box
		owned        = item(2) // bought to own: never
		rentalLive   = item(3) // rental still running: never
		rentalOld    = item(4) // expired rental: first
		cacheOld     = item(5) // cache, older: second
		cacheNew     = item(6) // cache, newer: third
		cachePlaying = item(7) // cache but being played: never
		unwished     = item(8) // wishlist area, dropped from the wishlist, no license: last
	)
	for i, it := range []media.ItemID{wished, owned, rentalLive, rentalOld, cacheOld, cacheNew, cachePlaying, unwished} {
		area := AreaWishlist
		if it == cacheOld || it == cacheNew || it == cachePlaying {
			area = AreaCache
		}
		if _, err := reserve(t, s, it, 1000, area, now.Add(time.Duration(i)*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SetWishlist(ctx, []media.ItemID{wished}); err != nil {
		t.Fatal(err)
	}
	license(owned, media.Owned, now.Add(-time.Hour)) // expired owned licenses are renewed, not evicted
	license(rentalLive, media.Rental, now.Add(time.Hour))
	license(rentalOld, media.Rental, now.Add(-time.Hour))
	if err := s.Playing(ctx, cachePlaying, now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	cands, err := s.EvictionCandidates(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	var got []media.ItemID
	for _, c := range cands {
		got = append(got, c.Item)
	}
	want := []media.ItemID{rentalOld, cacheOld, cacheNew, unwished}
	if !slices.Equal(got, want) {
		t.Fatalf("eviction order %v, want %v", got, want)
	}
	// Once the play lease runs out the item may go.
	cands, _ = s.EvictionCandidates(ctx, now.Add(2*time.Minute))
	if !slices.ContainsFunc(cands, func(c Candidate) bool { return c.Item == cachePlaying }) {
		t.Fatal("an item whose play lease ended is still protected")
	}
}

func TestReserveEvictsWithinQuota(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	cases := []struct {
		name        string
		area        string
		size        int
		wantEvicted []media.ItemID
		wantErr     error
	}{
		{"fits without eviction", AreaWishlist, 1000, nil, nil},
		{"wishlist full: only unwished leftovers go, never cache for a quota", AreaWishlist, 3000, []media.ItemID{item(3)}, nil},
		{"cache full: oldest cache first", AreaCache, 2000, []media.ItemID{item(4)}, nil},
		{"too big even after every eviction: evicts nothing", AreaWishlist, 9000, nil, ErrNoSpace},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t, t.TempDir())
			if err := s.SetQuotas(map[string]int64{AreaWishlist: 6000, AreaCache: 4000}); err != nil {
				t.Fatal(err)
			}
			for i, it := range []struct {
				id   media.ItemID
				area string
			}{{item(2), AreaWishlist}, {item(3), AreaWishlist}, {item(4), AreaCache}, {item(5), AreaCache}} {
				if _, err := reserve(t, s, it.id, 2000, it.area, now.Add(time.Duration(i)*time.Second)); err != nil {
					t.Fatal(err)
				}
			}
			s.SetWishlist(ctx, []media.ItemID{item(2), item(9)})
			// What the box reports it can take in (Rooms) agrees with what Reserve then admits.
			rooms, err := s.Rooms(ctx, now)
			if err != nil {
				t.Fatal(err)
			}
			room := rooms[slices.IndexFunc(rooms, func(sp Space) bool { return sp.Area == tc.area })].Room
			if fits := int64(tc.size) <= room; fits != (tc.wantErr == nil) {
				t.Fatalf("Rooms reports %d bytes of room in the %s area for a %d-byte item; want it to fit: %v", room, tc.area, tc.size, tc.wantErr == nil)
			}
			dropped, ev, err := take(s.Reserve(ctx, wantOf(t, item(9), "ih", torrentFor(t, item(9), make([]byte, tc.size)), 1), tc.area, now))
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if !slices.Equal(ev, tc.wantEvicted) || !slices.Equal(dropped, tc.wantEvicted) {
				t.Fatalf("evicted %v (planned %v), want %v", ev, dropped, tc.wantEvicted)
			}
			for _, id := range ev {
				if _, err := s.GetItem(ctx, id); !errors.Is(err, ErrNotFound) {
					t.Errorf("evicted %s still recorded: %v", id, err)
				}
				if fileExists(s.ContainerPath(id)) {
					t.Errorf("evicted %s still has its file", id)
				}
			}
			_, gerr := s.GetItem(ctx, item(9))
			if (err == nil) != (gerr == nil) {
				t.Fatalf("after Reserve err=%v the item's row: %v", err, gerr)
			}
			if err == nil {
				if fi, err := os.Stat(s.ContainerPath(item(9))); err != nil || fi.Size() != int64(tc.size) {
					t.Fatalf("container not allocated to %d bytes: %v", tc.size, err)
				}
			} else if fileExists(s.ContainerPath(item(9))) {
				t.Fatal("a refused item left a file behind")
			}
			for _, sp := range must(s.Spaces(ctx)) {
				if sp.Quota > 0 && sp.Used > sp.Quota {
					t.Fatalf("area %s over quota: %+v", sp.Area, sp)
				}
			}
		})
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestFullDiskEvictsCacheFirstAndReports(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	s := open(t, t.TempDir())
	// The disk holds capacity bytes: what the items take is no longer free, and an eviction
	// gives it back.
	capacity := int64(5000)
	s.diskFree = func() int64 {
		var n int64
		for _, u := range must(s.usedByArea(ctx, s.db)) {
			n += u
		}
		return capacity - n
	}
	if _, err := reserve(t, s, item(1), 3000, AreaCache, now); err != nil {
		t.Fatal(err)
	}
	if sp := must(s.Spaces(ctx)); sp[1].Free != 2000 || sp[1].Full {
		t.Fatalf("spaces %+v", sp)
	}
	// 4000 bytes do not fit on a disk with 2000 free: the cache item goes first.
	planned, ev, err := take(s.Reserve(ctx, wantOf(t, item(2), "ih", torrentFor(t, item(2), make([]byte, 4000)), 1), AreaWishlist, now))
	if err != nil || !slices.Equal(ev, []media.ItemID{item(1)}) || !slices.Equal(planned, ev) {
		t.Fatalf("evicted %v (planned %v), err %v; want the cache item", ev, planned, err)
	}
	capacity = 4000
	sp := must(s.Spaces(ctx))
	if !sp[1].Full || !sp[2].Full {
		t.Fatalf("a full disk is not reported: %+v", sp)
	}
	s.SetWishlist(ctx, []media.ItemID{item(2), item(3)})
	_, err = reserve(t, s, item(3), 10, AreaWishlist, now)
	if !errors.Is(err, ErrNoSpace) {
		t.Fatalf("full disk: err = %v, want ErrNoSpace", err)
	}
	if r := must(s.Refusals(ctx)); len(r) != 1 || r[0].Item != item(3) {
		t.Fatalf("refusals %+v, want item 3", r)
	}
	capacity = 1 << 20
	if _, err := reserve(t, s, item(3), 10, AreaWishlist, now); err != nil {
		t.Fatal(err)
	}
	if r := must(s.Refusals(ctx)); len(r) != 0 {
		t.Fatalf("refusal kept after the item was admitted: %+v", r)
	}
	if _, err := s.GetItem(ctx, item(2)); err != nil {
		t.Fatalf("a wished item was lost on a full disk: %v", err)
	}
}

func TestSchedulerEvictionHonouredButNotWhilePlaying(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	s := open(t, t.TempDir())
	if _, err := reserve(t, s, item(1), 100, AreaWishlist, now); err != nil {
		t.Fatal(err)
	}
	s.Playing(ctx, item(1), now.Add(time.Minute))
	if err := s.Evict(ctx, item(1), now); !errors.Is(err, ErrNotEvictable) {
		t.Fatalf("evicting an item being played: %v", err)
	}
	s.Playing(ctx, item(1), time.Time{})
	if err := s.Evict(ctx, item(1), now); err != nil {
		t.Fatal(err)
	}
	evs := must(s.Evictions(ctx))
	if len(evs) != 1 || evs[0].Reason != ReasonScheduler || fileExists(s.ContainerPath(item(1))) {
		t.Fatalf("evictions %+v", evs)
	}
	if err := s.Evict(ctx, item(1), now); !errors.Is(err, ErrNotFound) {
		t.Fatalf("evicting twice: %v", err)
	}
}

// preloadOf is what the factory gives AddPreloaded for the torrent tb: its figures, and
// transfer's check of the container against it.
func preloadOf(t *testing.T, tb []byte) (Preload, func(context.Context, string) error) {
	t.Helper()
	m, err := transfer.ParseMeta(tb)
	if err != nil {
		t.Fatal(err)
	}
	return Preload{InfoHash: m.InfoHash, Torrent: tb, Pieces: m.Pieces, Size: m.Length},
		func(ctx context.Context, path string) error { return transfer.VerifyFile(ctx, path, m) }
}

func TestPreloadedItems(t *testing.T) {
	ctx := context.Background()
	s := open(t, t.TempDir())
	data := make([]byte, 50000)
	rand.Read(data)
	tb := torrentFor(t, item(1), data)
	p, verify := preloadOf(t, tb)
	if err := s.AddPreloaded(ctx, item(1), p, verify, time.Now()); err == nil {
		t.Fatal("preload without its file accepted")
	}
	path := filepath.Join(s.PreloadDir(), item(1).String()+".sbx")
	bad := slices.Clone(data)
	bad[40000] ^= 1
	os.WriteFile(path, bad, 0o600)
	if err := s.AddPreloaded(ctx, item(1), p, verify, time.Now()); err == nil {
		t.Fatal("a damaged preload was accepted")
	}
	if err := s.AddPreloaded(ctx, item(1), p, nil, time.Now()); err == nil {
		t.Fatal("a preload nobody verified was accepted")
	}
	if _, err := s.GetItem(ctx, item(1)); !errors.Is(err, ErrNotFound) {
		t.Fatal("a refused preload left a row")
	}
	if n := must(s.VerifiedPieces(ctx, p.InfoHash)); n != 0 {
		t.Fatalf("a refused preload left %d verified pieces", n)
	}
	os.WriteFile(path, data, 0o600)
	for range 2 { // twice: idempotent
		if err := s.AddPreloaded(ctx, item(1), p, verify, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	it, err := s.GetItem(ctx, item(1))
	if err != nil || !it.Complete || it.Area != AreaPreload || it.Pieces != it.Total || it.Size != 50000 {
		t.Fatalf("preloaded item %+v, %v", it, err)
	}
	if n := must(s.VerifiedPieces(ctx, p.InfoHash)); n != p.Pieces {
		t.Fatalf("%d pieces recorded verified, want %d", n, p.Pieces)
	}
	if s.ContainerPath(item(1)) != path {
		t.Fatalf("container path %s, want %s", s.ContainerPath(item(1)), path)
	}
	if err := s.Evict(ctx, item(1), time.Now()); !errors.Is(err, ErrNotEvictable) {
		t.Fatalf("evicting a preload: %v", err)
	}
	if sp := must(s.Spaces(ctx)); sp[0].Used != 50000 || sp[0].Free != 0 {
		t.Fatalf("preload area %+v", sp[0])
	}
	if err := s.AddPreloaded(ctx, item(2), p, verify, time.Now()); err == nil {
		t.Fatal("a torrent for another item was accepted")
	}
}

func TestOrphanedFileRemovedOnOpen(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	if _, err := reserve(t, s, item(1), 100, AreaWishlist, time.Now()); err != nil {
		t.Fatal(err)
	}
	orphan := filepath.Join(s.MediaDir(), item(2).String()+".sbx")
	os.WriteFile(orphan, []byte("half-evicted"), 0o600)
	s.Close()
	s = open(t, dir)
	if fileExists(orphan) || !fileExists(s.ContainerPath(item(1))) {
		t.Fatal("open did not remove the orphan, or removed a live container")
	}
}

func TestSetQuotasRefusesBadInput(t *testing.T) {
	s := open(t, t.TempDir())
	for _, q := range []map[string]int64{{"attic": 1}, {AreaCache: -1}} {
		if err := s.SetQuotas(q); err == nil {
			t.Errorf("quotas %v accepted", q)
		}
	}
}

// TestMigrationFromVersion2 opens a database written by the previous schema (with a catalog)
// and checks the catalog replica and the items survive the upgrade.
func TestMigrationFromVersion2(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := sqlitedb.Open(ctx, filepath.Join(dir, "box.db"), migrations[:2])
	if err != nil {
		t.Fatal(err)
	}
	id := item(1)
	tb := torrentFor(t, id, make([]byte, 777))
	cat := `{"version":4,"items":[{"id":"` + id.String() + `","title":"Old"}]}`
	mustExec(t, db, `INSERT INTO catalog (version, json) VALUES (4, ?)`, cat)
	mustExec(t, db, `INSERT INTO items (id, info_hash, torrent, updated, total) VALUES (?, 'ab', ?, 0, 1)`, id.String(), tb)
	db.Close()
	s := open(t, dir)
	v, js, err := s.Catalog(ctx)
	if err != nil || v != 4 || !bytes.Contains(js, []byte(`"title":"Old"`)) {
		t.Fatalf("catalog after migration: %d %s %v", v, js, err)
	}
	it, err := s.GetItem(ctx, id)
	if err != nil || it.Area != AreaWishlist || it.Size != 777 {
		t.Fatalf("item after migration: %+v %v", it, err)
	}
}

func mustExec(t *testing.T, db *sql.DB, q string, args ...any) {
	t.Helper()
	if _, err := db.Exec(q, args...); err != nil {
		t.Fatal(err)
	}
}

// TestReservationEvictsOnlyOnCommit: Reserve changes nothing, so the caller can stop the engine's
// use of what it lists before Commit deletes it; and Commit never deletes anything else, nor a
// title whose playback started in between.
func TestReservationEvictsOnlyOnCommit(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	s := open(t, t.TempDir())
	if err := s.SetQuotas(map[string]int64{AreaCache: 4000}); err != nil {
		t.Fatal(err)
	}
	for i, id := range []media.ItemID{item(1), item(2)} {
		if _, err := reserve(t, s, id, 2000, AreaCache, now.Add(time.Duration(i)*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	res, err := s.Reserve(ctx, wantOf(t, item(9), "ih", torrentFor(t, item(9), make([]byte, 2000)), 1), AreaCache, now)
	if err != nil || !slices.Equal(res.Evict, []media.ItemID{item(1)}) {
		t.Fatalf("reservation %+v, %v; want item 1 to make way", res, err)
	}
	for _, id := range []media.ItemID{item(1), item(2)} {
		if _, err := s.GetItem(ctx, id); err != nil || !fileExists(s.ContainerPath(id)) {
			t.Fatalf("Reserve touched %s before Commit: %v", id, err)
		}
	}
	// Item 1 starts playing between the two steps: making room would now take item 2, which the
	// engine was not told to let go of.
	if err := s.Playing(ctx, item(1), now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	ev, err := res.Commit(ctx)
	if !errors.Is(err, ErrRoomChanged) || ev != nil {
		t.Fatalf("Commit after the lease: evicted %v, err %v; want ErrRoomChanged and nothing evicted", ev, err)
	}
	for _, id := range []media.ItemID{item(1), item(2)} {
		if _, err := s.GetItem(ctx, id); err != nil || !fileExists(s.ContainerPath(id)) {
			t.Fatalf("%s was deleted: %v", id, err)
		}
	}
	if _, err := s.GetItem(ctx, item(9)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("item 9 admitted without room: %v", err)
	}
	if _, err := res.Commit(ctx); err == nil {
		t.Fatal("a reservation committed twice")
	}
	// Planned again, the playing title is not chosen.
	planned, ev, err := take(s.Reserve(ctx, wantOf(t, item(9), "ih", torrentFor(t, item(9), make([]byte, 2000)), 1), AreaCache, now))
	if err != nil || !slices.Equal(planned, []media.ItemID{item(2)}) || !slices.Equal(ev, planned) {
		t.Fatalf("evicted %v (planned %v), err %v; want item 2, not the playing item 1", ev, planned, err)
	}
}
