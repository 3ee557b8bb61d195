package storage

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"swarmbox/internal/sqlitedb"
	"swarmbox/media"
)

// The range tests use a title of 10 pieces of 16 KiB, the last one short.
const (
	pieceLen  = 16 << 10
	titleLen  = 9*pieceLen + 5000
	numPieces = 10
)

func pr(begin, end int) media.PieceRange { return media.PieceRange{Begin: begin, End: end} }

// spanBytes is what the pieces r of the test title hold.
func spanBytes(r media.PieceRange) int64 {
	return min(int64(r.End)*pieceLen, titleLen) - int64(r.Begin)*pieceLen
}

func title(t *testing.T, id media.ItemID) []byte { return torrentFor(t, id, make([]byte, titleLen)) }

func reserveRange(t *testing.T, s *Store, id media.ItemID, r media.PieceRange, now time.Time) ([]media.ItemID, error) {
	t.Helper()
	_, ev, err := take(s.ReserveRange(context.Background(), wantOf(t, id, "ih-"+id.String(), title(t, id), numPieces), r, now))
	return ev, err
}

func used(t *testing.T, s *Store, area string) int64 {
	t.Helper()
	sp := must(s.Spaces(context.Background()))
	return sp[slices.IndexFunc(sp, func(x Space) bool { return x.Area == area })].Used
}

// allocated is the bytes of disk blocks the file at path holds.
func allocated(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t).Blocks * 512
}

// checkBlocks asserts the container of id has about want bytes of blocks: at least want, and
// less than want plus a piece (filesystem rounding). Where fallocate is unsupported a whole
// item gets no blocks either, and the test says it skipped this check.
func checkBlocks(t *testing.T, s *Store, id media.ItemID, want int64) {
	t.Helper()
	probe := item(0xfe)
	if err := s.SetQuotas(nil); err != nil {
		t.Fatal(err)
	}
	if _, err := reserve(t, s, probe, titleLen, AreaWishlist, time.Now()); err != nil {
		t.Fatal(err)
	}
	defer s.Evict(context.Background(), probe, time.Now())
	if allocated(t, s.ContainerPath(probe)) == 0 {
		t.Skip("fallocate is unsupported here (a whole item has no blocks): block counts not checked")
	}
	if got := allocated(t, s.ContainerPath(id)); got < want || got >= want+pieceLen {
		t.Fatalf("container of %s has %d bytes of blocks, want about %d (the whole item is %d)", id, got, want, titleLen)
	}
}

func TestReserveRangeCountsOnlyItsBytes(t *testing.T) {
	ctx := context.Background()
	for _, r := range []media.PieceRange{pr(0, 1), pr(3, 7), pr(9, 10), pr(0, numPieces)} {
		t.Run(fmt.Sprint(r), func(t *testing.T) {
			s := open(t, t.TempDir())
			// The quota holds the range but not the whole title (unless the range is the title).
			if err := s.SetQuotas(map[string]int64{AreaCache: max(spanBytes(r), 5*pieceLen)}); err != nil {
				t.Fatal(err)
			}
			ev, err := reserveRange(t, s, item(1), r, time.Now())
			if err != nil || ev != nil {
				t.Fatalf("range %v: evicted %v, err %v", r, ev, err)
			}
			it, err := s.GetItem(ctx, item(1))
			if err != nil || it.Area != AreaCache || it.Range != r || it.Size != spanBytes(r) {
				t.Fatalf("range %v: item %+v, %v; want cache, size %d", r, it, err, spanBytes(r))
			}
			if u := used(t, s, AreaCache); u != spanBytes(r) {
				t.Fatalf("range %v: cache use %d, want %d", r, u, spanBytes(r))
			}
			if fi, err := os.Stat(s.ContainerPath(item(1))); err != nil || fi.Size() != titleLen {
				t.Fatalf("range %v: container is not the title's full length %d: %v", r, titleLen, err)
			}
			checkBlocks(t, s, item(1), spanBytes(r))
		})
	}
}

func TestReserveRangeRefusesInvalidRange(t *testing.T) {
	ctx := context.Background()
	for _, r := range []media.PieceRange{pr(-1, 2), pr(3, 3), pr(5, 2), pr(0, numPieces+1), pr(numPieces, numPieces+1), {}} {
		s := open(t, t.TempDir())
		_, err := reserveRange(t, s, item(1), r, time.Now())
		if err == nil || !strings.Contains(err.Error(), "10 pieces") {
			t.Errorf("range %v: err = %v, want a refusal naming the 10 pieces", r, err)
		}
		if _, err := s.GetItem(ctx, item(1)); !errors.Is(err, ErrNotFound) {
			t.Errorf("range %v: a row was recorded: %v", r, err)
		}
		if fileExists(s.ContainerPath(item(1))) || used(t, s, AreaCache) != 0 || len(must(s.Refusals(ctx))) != 0 {
			t.Errorf("range %v: refusing it left a file, cache use or a refusal", r)
		}
	}
}

func TestReserveRangeWithinCacheQuota(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	cases := []struct {
		name        string
		quota       int64
		r           media.PieceRange
		wantEvicted []media.ItemID
		wantErr     error
	}{
		{"fits where the whole title would not", 3 * pieceLen, pr(0, 2), nil, nil},
		{"the older cache placement makes way", 4 * pieceLen, pr(4, 8), []media.ItemID{item(2)}, nil},
		{"too big even after every eviction", 4 * pieceLen, pr(0, 5), nil, ErrNoSpace},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t, t.TempDir())
			if err := s.SetQuotas(map[string]int64{AreaCache: tc.quota}); err != nil {
				t.Fatal(err)
			}
			if _, err := reserve(t, s, item(2), pieceLen, AreaCache, now.Add(-time.Hour)); err != nil {
				t.Fatal(err)
			}
			dropped, ev, err := take(s.ReserveRange(ctx, wantOf(t, item(1), "ih", title(t, item(1)), numPieces), tc.r, now))
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if !slices.Equal(ev, tc.wantEvicted) || !slices.Equal(dropped, tc.wantEvicted) {
				t.Fatalf("evicted %v (planned %v), want %v", ev, dropped, tc.wantEvicted)
			}
			_, gerr := s.GetItem(ctx, item(1))
			refusals := must(s.Refusals(ctx))
			if err != nil {
				if !errors.Is(gerr, ErrNotFound) || fileExists(s.ContainerPath(item(1))) {
					t.Fatalf("a refused range left a row (%v) or a file", gerr)
				}
				if len(refusals) != 1 || refusals[0].Item != item(1) || refusals[0].Area != AreaCache {
					t.Fatalf("refusals %+v, want item 1 in the cache area", refusals)
				}
				return
			}
			if gerr != nil || len(refusals) != 0 {
				t.Fatalf("admitted range: row %v, refusals %+v", gerr, refusals)
			}
			if u := used(t, s, AreaCache); u > tc.quota {
				t.Fatalf("cache use %d over its quota %d", u, tc.quota)
			}
		})
	}
}

func TestReserveRangeKeepsWhatTheBoxHas(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	s := open(t, t.TempDir())
	if _, err := reserve(t, s, item(1), titleLen, AreaWishlist, now); err != nil {
		t.Fatal(err)
	}
	if _, err := reserveRange(t, s, item(2), pr(2, 4), now); err != nil {
		t.Fatal(err)
	}
	before := must(s.Items(ctx))
	for _, id := range []media.ItemID{item(1), item(2)} {
		if ev, err := reserveRange(t, s, id, pr(5, 8), now.Add(time.Hour)); ev != nil || err != nil {
			t.Fatalf("%s again: evicted %v, err %v; want nil, nil", id, ev, err)
		}
	}
	if after := must(s.Items(ctx)); !reflect.DeepEqual(after, before) {
		t.Fatalf("items changed:\n%+v\nwant\n%+v", after, before)
	}
}

func TestReserveWidensRangePlacement(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	r := pr(3, 7)
	missing := titleLen - spanBytes(r)
	cases := []struct {
		name        string
		area        string
		quotas      map[string]int64
		other       bool // a newer cache placement, item 2, is on the box too
		wantEvicted []media.ItemID
		wantErr     error
	}{
		{"wished: moves to the wishlist area", AreaWishlist, map[string]int64{AreaWishlist: titleLen}, false, nil, nil},
		{"placed whole in the cache", AreaCache, nil, false, nil, nil},
		{"the other cache placement makes way, never itself", AreaCache, map[string]int64{AreaCache: titleLen + pieceLen}, true, []media.ItemID{item(2)}, nil},
		{"wishlist quota holds the missing bytes but not the title", AreaWishlist, map[string]int64{AreaWishlist: missing + pieceLen}, false, nil, ErrNoSpace},
		{"only evicting itself would make room", AreaCache, map[string]int64{AreaCache: titleLen - pieceLen}, false, nil, ErrNoSpace},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t, t.TempDir())
			if err := s.SetQuotas(tc.quotas); err != nil {
				t.Fatal(err)
			}
			// The range placement is the oldest cache item: the first the rules would evict.
			if _, err := reserveRange(t, s, item(1), r, now.Add(-time.Hour)); err != nil {
				t.Fatal(err)
			}
			if err := s.UpdateItem(ctx, item(1), 3, false, 1000, 2000, now.Add(-time.Hour)); err != nil {
				t.Fatal(err)
			}
			if tc.other {
				if _, err := reserve(t, s, item(2), 2*pieceLen, AreaCache, now.Add(-time.Minute)); err != nil {
					t.Fatal(err)
				}
			}
			before := must(s.GetItem(ctx, item(1)))
			dropped, ev, err := take(s.Reserve(ctx, wantOf(t, item(1), "ih-"+item(1).String(), title(t, item(1)), numPieces), tc.area, now))
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if !slices.Equal(ev, tc.wantEvicted) || !slices.Equal(dropped, tc.wantEvicted) {
				t.Fatalf("evicted %v (planned %v), want %v", ev, dropped, tc.wantEvicted)
			}
			after, gerr := s.GetItem(ctx, item(1))
			if gerr != nil {
				t.Fatalf("the item being widened is gone: %v", gerr)
			}
			if err != nil {
				if !reflect.DeepEqual(after, before) {
					t.Fatalf("a refused widening changed the range placement:\n%+v\nwant\n%+v", after, before)
				}
				if u := used(t, s, AreaCache); u != spanBytes(r) {
					t.Fatalf("cache use %d after a refused widening, want the range's %d", u, spanBytes(r))
				}
				if rf := must(s.Refusals(ctx)); len(rf) != 1 || rf[0].Item != item(1) || rf[0].Area != tc.area {
					t.Fatalf("refusals %+v, want item 1 in the %s area", rf, tc.area)
				}
				return
			}
			if after.Area != tc.area || after.Size != titleLen || !after.Range.Empty() || after.Range != (media.PieceRange{}) {
				t.Fatalf("widened item %+v: want area %s, size %d, no range", after, tc.area, titleLen)
			}
			if after.Pieces != 3 || after.BytesFromServer != 1000 || after.BytesFromPeers != 2000 || after.InfoHash != before.InfoHash {
				t.Fatalf("widening lost progress: %+v, was %+v", after, before)
			}
			if u := used(t, s, tc.area); u != titleLen {
				t.Fatalf("%s area use %d, want the whole title's %d", tc.area, u, titleLen)
			}
			for _, sp := range must(s.Spaces(ctx)) {
				if sp.Quota > 0 && sp.Used > sp.Quota {
					t.Fatalf("area %s over quota: %+v", sp.Area, sp)
				}
			}
			checkBlocks(t, s, item(1), titleLen)
		})
	}
}

func TestRangePlacementPersistsAndEvicts(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	dir := t.TempDir()
	s := open(t, dir)
	r := pr(2, 5)
	if _, err := reserveRange(t, s, item(1), r, now); err != nil {
		t.Fatal(err)
	}
	if _, err := reserve(t, s, item(2), 100, AreaWishlist, now); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = open(t, dir)
	items := must(s.Items(ctx))
	if len(items) != 2 || items[0].ID != item(1) || items[0].Range != r || items[1].Range != (media.PieceRange{}) {
		t.Fatalf("items after a restart: %+v; want item 1 with range %v, item 2 whole", items, r)
	}
	if it, err := s.GetItem(ctx, item(1)); err != nil || it.Range != r || it.Size != spanBytes(r) {
		t.Fatalf("item after a restart: %+v, %v", it, err)
	}
	if !fileExists(s.ContainerPath(item(1))) {
		t.Fatal("open removed a range placement's container")
	}
	cands := must(s.EvictionCandidates(ctx, now))
	if len(cands) != 2 || cands[0].Item != item(1) || cands[0].Size != spanBytes(r) {
		t.Fatalf("candidates %+v; want item 1 first, freeing its %d range bytes", cands, spanBytes(r))
	}
	if err := s.Evict(ctx, item(1), now); err != nil {
		t.Fatal(err)
	}
	if u := used(t, s, AreaCache); u != 0 || fileExists(s.ContainerPath(item(1))) {
		t.Fatalf("evicted range placement: cache use %d, file left: %v", u, fileExists(s.ContainerPath(item(1))))
	}
}

// TestMigrationAddsRange opens a database written before range placements and reads its items
// as whole.
func TestMigrationAddsRange(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	before := slices.IndexFunc(migrations, func(m string) bool { return strings.Contains(m, "ADD COLUMN range_begin") })
	db, err := sqlitedb.Open(ctx, filepath.Join(dir, "box.db"), migrations[:before])
	if err != nil {
		t.Fatal(err)
	}
	tb := title(t, item(1))
	mustExec(t, db, `INSERT INTO items (id, info_hash, torrent, updated, total, area, size, pieces) VALUES (?, 'ab', ?, 0, 10, 'cache', ?, 4)`, item(1).String(), tb, titleLen)
	db.Close()
	s := open(t, dir)
	it, err := s.GetItem(ctx, item(1))
	if err != nil || it.Range != (media.PieceRange{}) || it.Size != titleLen || it.Area != AreaCache || it.Pieces != 4 {
		t.Fatalf("item after migration: %+v %v", it, err)
	}
	if items := must(s.Items(ctx)); len(items) != 1 || items[0].Range != (media.PieceRange{}) {
		t.Fatalf("items after migration: %+v", items)
	}
	// A whole item from before is not widened again: Reserve leaves it.
	if _, ev, err := take(s.Reserve(ctx, wantOf(t, item(1), "ab", tb, 10), AreaCache, time.Now())); ev != nil || err != nil {
		t.Fatalf("reserve of an old whole item: %v, %v", ev, err)
	}
}
