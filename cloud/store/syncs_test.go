package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"swarmbox/media"
	"swarmbox/sync/protocol"
)

// testGroupCommit (in the suite, on both engines): many concurrent syncs are committed together,
// each returns after its own writes are stored, and a sync that fails (an unknown box, a replay)
// undoes only its own writes.
func testGroupCommit(t *testing.T, s *Store) {
	ctx := context.Background()
	it := addItem(t, s, "A", 4, 300)
	mustAccount(t, s, "h", "eu", 250)
	const n = 40
	boxes := make([]media.BoxID, n)
	for i := range boxes {
		boxes[i] = addBox(t, s, "h", byte(i+1))
	}
	var wg sync.WaitGroup
	errs := make([]error, n+2)
	for i, b := range boxes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := s.RecordSync(ctx, SyncRecord{Box: b, PeerAddr: fmt.Sprintf("127.0.0.%d:6881", i+1), Now: t0,
				Req:    protocol.SyncRequest{FreeBytes: int64(i), Wishlist: []media.ItemID{it.ID}, Holdings: []protocol.Holding{{Item: it.ID, Pieces: i % 5}}},
				Replay: []byte(fmt.Sprintf("sig-%d", i)), ReplayUntil: t0.Add(time.Minute)})
			if err == nil && (res.AccountStatus != StatusActive || res.BalanceCents != 250 || res.CatalogVersion != 1) {
				err = fmt.Errorf("result %+v", res)
			}
			errs[i] = err
		}()
	}
	wg.Add(2)
	go func() { // an unknown box fails alone
		defer wg.Done()
		_, errs[n] = s.RecordSync(ctx, SyncRecord{Box: media.BoxID{0xee}, Now: t0, Replay: []byte("sig-unknown"), ReplayUntil: t0.Add(time.Minute)})
	}()
	go func() { // so does a replay of box 0's request, whichever of the two comes first
		defer wg.Done()
		_, errs[n+1] = s.RecordSync(ctx, SyncRecord{Box: boxes[0], Now: t0, Replay: []byte("sig-0"), ReplayUntil: t0.Add(time.Minute),
			Req: protocol.SyncRequest{FreeBytes: 1 << 40}})
	}()
	wg.Wait()
	if !errors.Is(errs[n], ErrNotFound) {
		t.Errorf("unknown box: %v, want ErrNotFound", errs[n])
	}
	replayed := 0
	for _, i := range []int{0, n + 1} {
		if errors.Is(errs[i], ErrReplayed) {
			replayed++
		} else if errs[i] != nil {
			t.Errorf("sync %d: %v", i, errs[i])
		}
	}
	if replayed != 1 {
		t.Errorf("of a request and its replay, %d were refused, want 1", replayed)
	}
	for i := 1; i < n; i++ {
		if errs[i] != nil {
			t.Fatalf("sync %d: %v", i, errs[i])
		}
	}
	states, err := s.BoxStates(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(states) != n {
		t.Fatalf("%d boxes, want %d (the unknown one was not created)", len(states), n)
	}
	for _, st := range states {
		i := slices.Index(boxes, st.ID)
		if i > 0 && (st.PeerAddr != fmt.Sprintf("127.0.0.%d:6881", i+1) || !slices.Equal(st.Wishlist, []media.ItemID{it.ID}) ||
			(i%5 != 0 && (len(st.Holdings) != 1 || st.Holdings[0].Pieces != i%5))) {
			t.Errorf("box %d stored %+v", i, st)
		}
	}
	// Expired keys are forgotten; a request can only be replayed while its date is fresh.
	if err := s.PruneReplays(ctx, t0.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RecordSync(ctx, SyncRecord{Box: boxes[1], Now: t0.Add(2 * time.Minute), Replay: []byte("sig-1"), ReplayUntil: t0.Add(time.Minute)}); err != nil {
		t.Fatalf("a key reused after it was pruned: %v", err)
	}
}

// testUnchangedListsSkipped: a box's wishlist and holdings are rewritten only when they changed,
// yet a browser edit, a catalog change or a changed report always reaches the store.
func testUnchangedListsSkipped(t *testing.T, s *Store) {
	ctx := context.Background()
	a := addItem(t, s, "A", 4, 300)
	mustAccount(t, s, "h", "eu", 0)
	box := addBox(t, s, "h", 1)
	b := media.ItemID{0xb}
	sync := func(wish []media.ItemID, hold []protocol.Holding, version int64, nbrs []protocol.Neighbor) SyncResult {
		t.Helper()
		res, err := s.RecordSync(ctx, SyncRecord{Box: box, Now: t0, Req: protocol.SyncRequest{Wishlist: wish, Holdings: hold, WishlistVersion: version, Neighbors: nbrs}})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	state := func() BoxState {
		t.Helper()
		st, err := s.BoxStates(ctx)
		if err != nil || len(st) != 1 {
			t.Fatalf("states %+v %v", st, err)
		}
		return st[0]
	}
	sync([]media.ItemID{a.ID, b}, []protocol.Holding{{Item: b, Pieces: 1}}, 0, nil)
	sync([]media.ItemID{a.ID, b}, []protocol.Holding{{Item: b, Pieces: 1}}, 0, nil) // unchanged
	if st := state(); !slices.Equal(st.Wishlist, []media.ItemID{a.ID}) || len(st.Holdings) != 0 {
		t.Fatalf("before B is in the catalog: %+v", st)
	}
	// B enters the catalog: the same report, unchanged, now stores B.
	bi := a
	bi.ID, bi.InfoHash = b, "b-info-hash"
	if err := s.AddItem(ctx, bi, []byte("k")); err != nil {
		t.Fatal(err)
	}
	bID := b
	sync([]media.ItemID{a.ID, bID}, []protocol.Holding{{Item: bID, Pieces: 1}}, 0, nil)
	if st := state(); !slices.Equal(st.Wishlist, []media.ItemID{a.ID, bID}) || len(st.Holdings) != 1 || st.Holdings[0].Pieces != 1 {
		t.Fatalf("after B joined the catalog: %+v", st)
	}
	// The customer reorders in the browser; the box adopts, then reports the old order again
	// at the new version (its own edit): that is stored, though the box sent that list before.
	if _, err := s.SetWishlist(ctx, "h", box, []media.ItemID{bID, a.ID}); err != nil {
		t.Fatal(err)
	}
	if res := sync([]media.ItemID{a.ID, bID}, nil, 0, nil); !res.Adopt {
		t.Fatalf("browser edit not sent back: %+v", res)
	}
	sync([]media.ItemID{a.ID, bID}, nil, 1, nil)
	if st := state(); !slices.Equal(st.Wishlist, []media.ItemID{a.ID, bID}) || len(st.Holdings) != 0 {
		t.Fatalf("after the box's own edit: %+v", st)
	}
	// Neighbours: changed lists are stored, unchanged ones kept.
	n := []protocol.Neighbor{{Box: media.BoxID{2}}}
	sync(nil, nil, 1, n)
	sync(nil, nil, 1, n)
	if r, err := s.Report(ctx, box); err != nil || !slices.Equal(r.Neighbors, []media.BoxID{{2}}) {
		t.Fatalf("neighbours %+v %v", r.Neighbors, err)
	}
	sync(nil, nil, 1, nil)
	if r, err := s.Report(ctx, box); err != nil || len(r.Neighbors) != 0 {
		t.Fatalf("neighbours after they left %+v %v", r.Neighbors, err)
	}
}

// testPlansNeedTheLease: only the lease holder publishes a region's plan; each publication
// gets a new version.
func testPlansNeedTheLease(t *testing.T, s *Store) {
	ctx := context.Background()
	if v, err := s.PlanVersion(ctx, "eu"); err != nil || v != 0 {
		t.Fatalf("version before any plan: %d %v", v, err)
	}
	if _, _, err := s.Plan(ctx, "eu"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("plan before any: %v", err)
	}
	if _, err := s.SavePlan(ctx, "eu", "plan/eu", "a", []byte("x"), t0); !errors.Is(err, ErrNotHolder) {
		t.Fatalf("publishing without the lease: %v", err)
	}
	if ok, err := s.TryLease(ctx, "plan/eu", "a", t0, time.Minute); err != nil || !ok {
		t.Fatal(ok, err)
	}
	for i, want := range []int64{1, 2} {
		v, err := s.SavePlan(ctx, "eu", "plan/eu", "a", []byte{byte('p' + i)}, t0)
		if err != nil || v != want {
			t.Fatalf("publish %d: %d %v", i, v, err)
		}
	}
	if _, err := s.SavePlan(ctx, "eu", "plan/eu", "b", []byte("x"), t0); !errors.Is(err, ErrNotHolder) {
		t.Fatalf("publishing by another instance: %v", err)
	}
	if _, err := s.SavePlan(ctx, "eu", "plan/eu", "a", []byte("x"), t0.Add(2*time.Minute)); !errors.Is(err, ErrNotHolder) {
		t.Fatalf("publishing after the lease ran out: %v", err)
	}
	if v, body, err := s.Plan(ctx, "eu"); err != nil || v != 2 || string(body) != "q" {
		t.Fatalf("plan %d %q %v", v, body, err)
	}
	mustAccount(t, s, "x", "us", 0)
	mustAccount(t, s, "y", "eu", 0)
	mustAccount(t, s, "z", "eu", 0)
	if r, err := s.Regions(ctx); err != nil || !slices.Equal(r, []string{"eu", "us"}) {
		t.Fatalf("regions %v %v", r, err)
	}
}

func TestConflictIsRetried(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{&pgconn.PgError{Code: "40P01"}, true},                            // deadlock_detected
		{fmt.Errorf("wrapped: %w", &pgconn.PgError{Code: "40001"}), true}, // serialization_failure
		{&pgconn.PgError{Code: "23505"}, false},                           // unique_violation: a real error
		{ErrReplayed, false},
		{nil, false},
	} {
		if got := conflict(c.err); got != c.want {
			t.Errorf("conflict(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}

// testSignInFailures: counts within the window, the first failure's time, forgetting old ones
// and clearing.
func testSignInFailures(t *testing.T, s *Store) {
	ctx := context.Background()
	for i := range 3 {
		if err := s.AddSignInFailure(ctx, "acct:h", t0.Add(time.Duration(i)*time.Minute), t0.Add(-time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	if n, first, err := s.SignInFailures(ctx, "acct:h", t0.Add(-time.Minute)); err != nil || n != 3 || !first.Equal(t0) {
		t.Fatalf("failures %d since %v, %v", n, first, err)
	}
	if n, last, err := s.SignInFailuresSince(ctx, "acct:h", t0.Add(-time.Minute)); err != nil || n != 3 || !last.Equal(t0.Add(2*time.Minute)) {
		t.Fatalf("failures %d, last at %v, %v", n, last, err)
	}
	if n, _, _ := s.SignInFailures(ctx, "acct:h", t0); n != 2 {
		t.Fatalf("failures after the first: %d", n)
	}
	if n, _, _ := s.SignInFailures(ctx, "198.18.0.1", t0.Add(-time.Hour)); n != 0 {
		t.Fatalf("another key: %d", n)
	}
	// A failure much later forgets the old ones.
	if err := s.AddSignInFailure(ctx, "acct:h", t0.Add(time.Hour), t0.Add(30*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if n, _, _ := s.SignInFailures(ctx, "acct:h", t0.Add(-time.Hour)); n != 1 {
		t.Fatalf("after forgetting: %d", n)
	}
	if err := s.ClearSignInFailures(ctx, "acct:h"); err != nil {
		t.Fatal(err)
	}
	if n, _, _ := s.SignInFailures(ctx, "acct:h", t0.Add(-time.Hour)); n != 0 {
		t.Fatalf("after clearing: %d", n)
	}
}

// testFailedJobUndoneAlone: a job that fails after writing, among others committed together,
// leaves nothing behind, and every other job's write is kept.
func testFailedJobUndoneAlone(t *testing.T, s *Store) {
	ctx := context.Background()
	boom := errors.New("boom")
	var wg sync.WaitGroup
	errs := make([]error, 30)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.grouped(ctx, fmt.Sprint(i), func(ctx context.Context, tx *tx) error {
				if _, err := tx.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES (?, 'x')`, fmt.Sprintf("job-%d", i)); err != nil {
					return err
				}
				if i == 7 {
					return boom
				}
				return nil
			})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		var n int
		if qerr := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM meta WHERE key = ?`, fmt.Sprintf("job-%d", i)).Scan(&n); qerr != nil {
			t.Fatal(qerr)
		}
		if i == 7 {
			if !errors.Is(err, boom) || n != 0 {
				t.Errorf("failing job: %v, %d rows left, want boom and none", err, n)
			}
		} else if err != nil || n != 1 {
			t.Errorf("job %d: %v, %d rows, want its row", i, err, n)
		}
	}
}
