package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"swarmbox/cloud/forecast"
	"swarmbox/internal/sqlitedb"
	"swarmbox/internal/testenv"
	"swarmbox/media"
	"swarmbox/sync/protocol"
)

// The same suite runs on both engines: every case gets a fresh database.
var suite = []struct {
	name string
	run  func(t *testing.T, s *Store)
}{
	{"CatalogAndKeys", testCatalogAndKeys},
	{"SyncClampsAndDropsUnknown", testSyncClamps},
	{"BrowserWishlistReachesBox", testWishlistVersion},
	{"OtherAccountsBoxIsNotFound", testOtherAccountsBox},
	{"StatusTransitions", testStatusTransitions},
	{"TopUpAndLedgerReconcile", testTopUp},
	{"SaleRecordsAllOrNothing", testSale},
	{"RewrapKeysAllOrNothing", testRewrap},
	{"Sessions", testSessions},
	{"ItemRegions", testItemRegions},
	{"Leases", testLeases},
	{"DemandSignals", testDemandSignals},
	{"ReportsRoundTrip", testReportsRoundTrip},
	{"DecayedPeerRates", testDecayedPeerRates},
	{"GroupCommit", testGroupCommit},
	{"UnchangedListsSkipped", testUnchangedListsSkipped},
	{"PlansNeedTheLease", testPlansNeedTheLease},
	{"SignInFailures", testSignInFailures},
	{"FailedJobUndoneAlone", testFailedJobUndoneAlone},
	{"Categories", testCategories},
	{"Pairing", testPairing},
	{"PairingGuessesLimited", testPairingGuessesLimited},
	{"PairingClosedAccountRefused", testPairingClosedAccountRefused},
}

func TestSQLite(t *testing.T) {
	for _, c := range suite {
		t.Run(c.name, func(t *testing.T) {
			s, err := Open(context.Background(), filepath.Join(t.TempDir(), "headend.db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			c.run(t, s)
		})
	}
	t.Run("UpgradeKeepsRows", func(t *testing.T) {
		testUpgrades(t, func(t *testing.T) upgradeDB {
			path := filepath.Join(t.TempDir(), "headend.db")
			return upgradeDB{dsn: path, openOld: func(old []migration) (*sql.DB, error) {
				// today's SQLite path before the migration files: sqlitedb.Migrate, one
				// transaction per step, the version in PRAGMA user_version
				return sqlitedb.Open(context.Background(), path, migrationSQL(old))
			}}
		})
	})
	t.Run("FailedUpgradeChangesNothing", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "headend.db")
		d, err := sqlitedb.Connect(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		testFailedUpgrade(t, d, false)
	})
}

func TestPostgres(t *testing.T) {
	pg := testenv.Postgres(t)
	for _, c := range suite {
		t.Run(c.name, func(t *testing.T) {
			s, err := Open(context.Background(), pg.Database(t))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			if s.Engine() != "postgres" {
				t.Fatalf("engine %s", s.Engine())
			}
			c.run(t, s)
		})
	}
	t.Run("UpgradeKeepsRows", func(t *testing.T) {
		testUpgrades(t, func(t *testing.T) upgradeDB {
			dsn := pg.Database(t)
			return upgradeDB{dsn: dsn, openOld: func(old []migration) (*sql.DB, error) {
				d, err := sql.Open("pgx", dsn)
				if err != nil {
					return nil, err
				}
				return d, migrate(context.Background(), d, true, old)
			}}
		})
	})
	t.Run("FailedUpgradeChangesNothing", func(t *testing.T) {
		d, err := sql.Open("pgx", pg.Database(t))
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		testFailedUpgrade(t, d, true)
	})
}

func TestPostgresMigrationsAreIdempotent(t *testing.T) {
	pg := testenv.Postgres(t)
	dsn := pg.Database(t)
	for i := range 2 {
		s, err := Open(context.Background(), dsn)
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
		s.Close()
	}
}

func TestOpenPostgresBadURL(t *testing.T) {
	_, err := Open(context.Background(), "postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=2")
	if err == nil {
		t.Fatal("opened a database that does not exist")
	}
}

func TestRebind(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"SELECT ?", "SELECT $1"},
		{"a = ? AND b = '?' AND c = ?", "a = $1 AND b = '?' AND c = $2"},
		{"no params", "no params"},
	} {
		if got := rebind(c.in); got != c.want {
			t.Errorf("rebind(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func addItem(t *testing.T, s *Store, title string, pieces int, price int64) Item {
	t.Helper()
	id, err := media.NewItemID()
	if err != nil {
		t.Fatal(err)
	}
	it := Item{CatalogItem: protocol.CatalogItem{ID: id, Title: title, Kind: protocol.KindVideo, PriceCents: price, Size: 1000,
		SealedSize: 1100, InfoHash: fmt.Sprintf("%x", id[:]) + "00000000", Pieces: pieces, Added: t0}, Torrent: []byte("d4:infod")}
	if err := s.AddItem(context.Background(), it, []byte("wrapped-"+title)); err != nil {
		t.Fatal(err)
	}
	return it
}

func addBox(t *testing.T, s *Store, account string, seed byte) media.BoxID {
	t.Helper()
	key := bytes.Repeat([]byte{seed}, 32)
	id := media.BoxIDFromKey(key)
	if _, err := s.RegisterBox(context.Background(), Box{ID: id, Account: account, SignKey: key, KEMKey: key, Registered: t0}); err != nil {
		t.Fatal(err)
	}
	return id
}

func mustAccount(t *testing.T, s *Store, id, region string, credit int64) {
	t.Helper()
	if err := s.CreateAccount(context.Background(), id, region, credit, t0); err != nil {
		t.Fatal(err)
	}
}

func reconciles(t *testing.T, s *Store) {
	t.Helper()
	bad, err := s.Reconcile(context.Background())
	if err != nil || len(bad) > 0 {
		t.Fatalf("ledger does not reconcile: %v %v", bad, err)
	}
}

func testCatalogAndKeys(t *testing.T, s *Store) {
	ctx := context.Background()
	a := addItem(t, s, "A", 4, 300)
	b := addItem(t, s, "B", 2, 100)
	c, err := s.Catalog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if c.Version != 2 || len(c.Items) != 2 {
		t.Fatalf("catalog %+v", c)
	}
	if v, err := s.CatalogVersion(ctx); err != nil || v != 2 {
		t.Fatalf("catalog version %d %v", v, err)
	}
	got, err := s.ItemByInfoHash(ctx, b.InfoHash)
	if err != nil || got.ID != b.ID || !bytes.Equal(got.Torrent, b.Torrent) || !got.Added.Equal(t0) {
		t.Fatalf("by info hash: %+v %v", got, err)
	}
	w, err := s.WrappedKey(ctx, a.ID)
	if err != nil || string(w) != "wrapped-A" {
		t.Fatalf("key %q %v", w, err)
	}
	if _, err := s.Item(ctx, media.ItemID{1}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing item: %v", err)
	}
	if err := s.AddItem(ctx, a, nil); err == nil {
		t.Fatal("the same item was added twice")
	}
}

func testSyncClamps(t *testing.T, s *Store) {
	ctx := context.Background()
	it := addItem(t, s, "A", 4, 300)
	mustAccount(t, s, "h", "eu", 0)
	box := addBox(t, s, "h", 1)
	unknown := media.ItemID{9}
	req := protocol.SyncRequest{Wishlist: []media.ItemID{unknown, it.ID, it.ID},
		Holdings:  []protocol.Holding{{Item: it.ID, Pieces: 99, Complete: true}, {Item: unknown, Pieces: 1}},
		Transfers: []protocol.TransferReport{{Item: it.ID, BytesFromPeers: 10, Complete: true}}}
	if _, err := s.RecordSync(ctx, SyncRecord{Box: box, PeerAddr: "127.0.0.2:6881", Req: req, Now: t0}); err != nil {
		t.Fatal(err)
	}
	req.Transfers[0].BytesFromPeers = 20
	if _, err := s.RecordSync(ctx, SyncRecord{Box: box, PeerAddr: "127.0.0.2:6881", Req: req, Now: t0.Add(time.Second)}); err != nil {
		t.Fatal(err)
	}
	st, err := s.BoxStates(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(st) != 1 || !slices.Equal(st[0].Wishlist, []media.ItemID{it.ID}) || len(st[0].Holdings) != 1 || st[0].Holdings[0].Pieces != 4 || !st[0].Holdings[0].Complete {
		t.Fatalf("states %+v", st)
	}
	tr, err := s.Transfers(ctx)
	if err != nil || len(tr) != 1 || tr[0].BytesFromPeers != 20 || !tr[0].Complete {
		t.Fatalf("transfers %+v %v", tr, err)
	}
	if err := s.AddServed(ctx, box, it.ID, 5); err != nil {
		t.Fatal(err)
	}
	if err := s.AddServed(ctx, box, it.ID, 7); err != nil {
		t.Fatal(err)
	}
	if n, err := s.ServedBytes(ctx, it.ID); err != nil || n != 12 {
		t.Fatalf("served %d %v", n, err)
	}
	if _, err := s.RecordSync(ctx, SyncRecord{Box: media.BoxID{7}, Req: req, Now: t0}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("sync of an unknown box: %v", err)
	}
	// Range placements: a range of the item's pieces is kept (BoxStates and BoxState), one
	// beyond them is stored as none.
	for i, tc := range []struct {
		r    media.PieceRange
		want *media.PieceRange
	}{{media.PieceRange{Begin: 1, End: 3}, &media.PieceRange{Begin: 1, End: 3}}, {media.PieceRange{Begin: 2, End: 9}, nil}} {
		req := protocol.SyncRequest{Holdings: []protocol.Holding{{Item: it.ID, Pieces: 1, Area: protocol.AreaCache, Range: &tc.r}}}
		if _, err := s.RecordSync(ctx, SyncRecord{Box: box, PeerAddr: "127.0.0.2:6881", Req: req, Now: t0.Add(time.Duration(2+i) * time.Second)}); err != nil {
			t.Fatal(err)
		}
		st, err := s.BoxStates(ctx)
		if err != nil || len(st) != 1 || len(st[0].Holdings) != 1 {
			t.Fatalf("range %v: states %+v %v", tc.r, st, err)
		}
		one, err := s.BoxState(ctx, box)
		if err != nil || len(one.Holdings) != 1 {
			t.Fatalf("range %v: state %+v %v", tc.r, one, err)
		}
		for _, got := range []*media.PieceRange{st[0].Holdings[0].Range, one.Holdings[0].Range} {
			if (got == nil) != (tc.want == nil) || (got != nil && *got != *tc.want) {
				t.Errorf("range %v stored as %v, want %v", tc.r, got, tc.want)
			}
		}
	}
}

func testWishlistVersion(t *testing.T, s *Store) {
	ctx := context.Background()
	a, b := addItem(t, s, "A", 1, 1), addItem(t, s, "B", 1, 1)
	mustAccount(t, s, "h", "eu", 0)
	box := addBox(t, s, "h", 1)
	// The box's own list is kept while nobody edits in the browser.
	res, err := s.RecordSync(ctx, SyncRecord{Box: box, Req: protocol.SyncRequest{Wishlist: []media.ItemID{a.ID}}, Now: t0})
	if err != nil || res.Adopt || res.WishlistVersion != 0 {
		t.Fatalf("first sync %+v %v", res, err)
	}
	v, err := s.SetWishlist(ctx, "h", box, []media.ItemID{b.ID, a.ID})
	if err != nil || v != 1 {
		t.Fatalf("set wishlist %d %v", v, err)
	}
	// A box still at version 0 reports its old list: it is ignored and the new one sent back.
	res, err = s.RecordSync(ctx, SyncRecord{Box: box, Req: protocol.SyncRequest{Wishlist: []media.ItemID{a.ID}}, Now: t0})
	if err != nil || !res.Adopt || res.WishlistVersion != 1 || !slices.Equal(res.Wishlist, []media.ItemID{b.ID, a.ID}) {
		t.Fatalf("sync after browser edit %+v %v", res, err)
	}
	// Once adopted, the box's edits count again.
	res, err = s.RecordSync(ctx, SyncRecord{Box: box, Req: protocol.SyncRequest{WishlistVersion: 1, Wishlist: []media.ItemID{a.ID}}, Now: t0})
	if err != nil || res.Adopt {
		t.Fatalf("sync at the current version %+v %v", res, err)
	}
	boxes, err := s.AccountBoxes(ctx, "h")
	if err != nil || len(boxes) != 1 || !slices.Equal(boxes[0].Wishlist, []media.ItemID{a.ID}) {
		t.Fatalf("boxes %+v %v", boxes, err)
	}
}

func testOtherAccountsBox(t *testing.T, s *Store) {
	ctx := context.Background()
	mustAccount(t, s, "h", "eu", 0)
	mustAccount(t, s, "other", "eu", 0)
	box := addBox(t, s, "other", 1)
	if _, err := s.SetWishlist(ctx, "h", box, nil); !errors.Is(err, ErrNotFound) {
		t.Fatalf("changed another account's box: %v", err)
	}
	if bs, err := s.AccountBoxes(ctx, "h"); err != nil || len(bs) != 0 {
		t.Fatalf("h sees %+v %v", bs, err)
	}
}

func testStatusTransitions(t *testing.T, s *Store) {
	ctx := context.Background()
	mustAccount(t, s, "h", "eu", 500)
	steps := []struct {
		to      string
		wantErr error
	}{
		{StatusSuspended, nil}, {StatusSuspended, ErrBadTransition}, {StatusActive, nil},
		{StatusClosed, nil}, {StatusActive, ErrBadTransition}, {StatusSuspended, ErrBadTransition}, {"frozen", ErrBadTransition},
	}
	for _, st := range steps {
		_, err := s.SetStatus(ctx, "h", st.to, t0)
		if !errors.Is(err, st.wantErr) {
			t.Fatalf("→ %s: %v, want %v", st.to, err, st.wantErr)
		}
	}
	a, _ := s.Account(ctx, "h")
	if a.Status != StatusClosed || a.BalanceCents != 0 {
		t.Fatalf("closed account %+v", a)
	}
	l, _ := s.Ledger(ctx, "h")
	if len(l) != 2 || l[1].Kind != LedgerPayout || l[1].AmountCents != -500 {
		t.Fatalf("ledger %+v", l)
	}
	if _, err := s.TopUp(ctx, "h", 100, t0); !errors.Is(err, ErrAccountInactive) {
		t.Fatalf("top-up of a closed account: %v", err)
	}
	if _, err := s.SetStatus(ctx, "nobody", StatusActive, t0); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown account: %v", err)
	}
	reconciles(t, s)
}

func testTopUp(t *testing.T, s *Store) {
	ctx := context.Background()
	mustAccount(t, s, "h", "eu", 0)
	for _, bad := range []int64{0, -5} {
		if _, err := s.TopUp(ctx, "h", bad, t0); !errors.Is(err, ErrBadAmount) {
			t.Fatalf("top-up %d: %v", bad, err)
		}
	}
	a, err := s.TopUp(ctx, "h", 250, t0)
	if err != nil || a.BalanceCents != 250 {
		t.Fatalf("%+v %v", a, err)
	}
	if err := s.CreateAccount(ctx, "h", "eu", 0, t0); err == nil {
		t.Fatal("account created twice")
	}
	if err := s.CreateAccount(ctx, "x", "", 0, t0); err == nil {
		t.Fatal("account without region")
	}
	reconciles(t, s)
}

// sale records a license for box in one Sale transaction, as cloud/sales does once it decided.
func sale(s *Store, box media.BoxID, item Item, kind media.LicenseKind, reqID string, charged int64) error {
	ctx := context.Background()
	return s.Sale(ctx, func(tx *SaleTx) error {
		acct, err := tx.BoxAccount(ctx, box)
		if err != nil {
			return err
		}
		ledger := LedgerPurchase
		if kind == media.Rental {
			ledger = LedgerRental
		}
		return tx.Record(ctx, Sale{Box: box, Account: acct.ID, Item: item.ID, Kind: kind, RequestID: reqID, Charged: charged, Ledger: ledger,
			License: IssuedLicense{ID: "lic-" + reqID, Expires: t0.Add(time.Hour), Envelope: []byte("env-" + reqID)},
			Reason:  "purchase", Source: "127.0.0.1", Now: t0})
	})
}

// testSale: a sale's transaction reads the box's account and licenses and records a license,
// its charge, ledger row and audit row together; an error undoes all of it, and the balance
// never goes below zero.
func testSale(t *testing.T, s *Store) {
	ctx := context.Background()
	it := addItem(t, s, "A", 1, 300)
	mustAccount(t, s, "h", "eu", 500)
	box := addBox(t, s, "h", 1)
	if err := sale(s, box, it, media.Rental, "r1", 100); err != nil {
		t.Fatal(err)
	}
	if err := sale(s, box, it, media.Owned, "o1", 300); err != nil {
		t.Fatal(err)
	}
	if err := sale(s, box, it, media.Rental, "r2", 200); err == nil {
		t.Fatal("a sale overdrew the account")
	}
	undo := errors.New("changed my mind")
	if err := s.Sale(ctx, func(tx *SaleTx) error {
		if err := tx.Record(ctx, Sale{Box: box, Account: "h", Item: it.ID, Kind: media.Rental, RequestID: "r3", Charged: 50, Ledger: LedgerRental,
			License: IssuedLicense{ID: "lic-r3", Expires: t0, Envelope: []byte("e")}, Reason: "purchase", Now: t0}); err != nil {
			return err
		}
		return undo
	}); !errors.Is(err, undo) {
		t.Fatalf("err %v", err)
	}
	if err := s.Sale(ctx, func(tx *SaleTx) error {
		acct, err := tx.BoxAccount(ctx, box)
		if err != nil || acct.ID != "h" || acct.Region != "eu" || acct.BalanceCents != 100 || acct.Status != StatusActive {
			t.Fatalf("account %+v %v", acct, err)
		}
		if _, err := tx.BoxAccount(ctx, media.BoxID{9}); !errors.Is(err, ErrNotFound) {
			t.Fatalf("unknown box: %v", err)
		}
		lic, ok, err := tx.LicenseByRequest(ctx, box, "r1")
		if err != nil || !ok || lic.ID != "lic-r1" || string(lic.Envelope) != "env-r1" || !lic.Expires.Equal(t0.Add(time.Hour)) {
			t.Fatalf("license by request: %+v %v %v", lic, ok, err)
		}
		for _, req := range []string{"r2", "r3", "nope"} {
			if _, ok, err := tx.LicenseByRequest(ctx, box, req); ok || err != nil {
				t.Fatalf("request %s: %v %v", req, ok, err)
			}
		}
		if ok, err := tx.HasLicense(ctx, box, it.ID, media.Owned); !ok || err != nil {
			t.Fatalf("owned: %v %v", ok, err)
		}
		if ok, err := tx.HasLicense(ctx, box, media.ItemID{7}, media.Owned); ok || err != nil {
			t.Fatalf("owned other: %v %v", ok, err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	lics, err := s.Licenses(ctx, "h")
	if err != nil || len(lics) != 2 {
		t.Fatalf("licenses %+v %v", lics, err)
	}
	log, err := s.AuditLog(ctx, 10)
	if err != nil || len(log) != 2 || log[0].Outcome != AuditIssued || log[0].Source != "127.0.0.1" {
		t.Fatalf("audit %+v %v", log, err)
	}
	reconciles(t, s)
}

func testRewrap(t *testing.T, s *Store) {
	ctx := context.Background()
	a := addItem(t, s, "A", 1, 1)
	b := addItem(t, s, "B", 1, 1)
	old, err := s.WrappedKeys(ctx)
	if err != nil || len(old) != 2 {
		t.Fatalf("%v %v", old, err)
	}
	stale := map[media.ItemID][]byte{a.ID: old[a.ID], b.ID: []byte("not what is stored")}
	if err := s.RewrapKeys(ctx, stale, map[media.ItemID][]byte{a.ID: []byte("new-A"), b.ID: []byte("new-B")}); err == nil {
		t.Fatal("rewrap over a changed key succeeded")
	}
	if w, _ := s.WrappedKey(ctx, a.ID); string(w) != "wrapped-A" {
		t.Fatalf("a failed rotation changed a key: %q", w)
	}
	if err := s.RewrapKeys(ctx, old, map[media.ItemID][]byte{a.ID: []byte("new-A"), b.ID: []byte("new-B")}); err != nil {
		t.Fatal(err)
	}
	if w, _ := s.WrappedKey(ctx, b.ID); string(w) != "new-B" {
		t.Fatalf("key %q", w)
	}
}

func testSessions(t *testing.T, s *Store) {
	ctx := context.Background()
	mustAccount(t, s, "h", "eu", 0)
	if err := s.SetPassword(ctx, "h", "hash1"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetPassword(ctx, "h", "hash2"); err != nil {
		t.Fatal(err)
	}
	if h, err := s.PasswordHash(ctx, "h"); err != nil || h != "hash2" {
		t.Fatalf("%q %v", h, err)
	}
	if _, err := s.PasswordHash(ctx, "nobody"); !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
	if err := s.SetPassword(ctx, "nobody", "x"); !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
	if err := s.CreateSession(ctx, "tok", Session{Account: "h", CSRF: "c", Expires: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if sess, err := s.Session(ctx, "tok", t0); err != nil || sess.Account != "h" || sess.CSRF != "c" {
		t.Fatalf("%+v %v", sess, err)
	}
	if _, err := s.Session(ctx, "tok", t0.Add(2*time.Hour)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("expired session: %v", err)
	}
	if err := s.DeleteSession(ctx, "tok", t0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Session(ctx, "tok", t0); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted session: %v", err)
	}
}

func testItemRegions(t *testing.T, s *Store) {
	ctx := context.Background()
	it := addItem(t, s, "A", 1, 1)
	if r, err := s.ItemRegions(ctx, it.ID); err != nil || len(r) != 0 {
		t.Fatalf("%v %v", r, err)
	}
	if err := s.SetItemRegions(ctx, it.ID, []string{"eu", "uk"}); err != nil {
		t.Fatal(err)
	}
	if r, err := s.ItemRegions(ctx, it.ID); err != nil || !slices.Equal(r, []string{"eu", "uk"}) {
		t.Fatalf("%v %v", r, err)
	}
	if err := s.SetItemRegions(ctx, it.ID, []string{"a,b"}); err == nil {
		t.Fatal("comma in a region name")
	}
	if err := s.SetItemRegions(ctx, media.ItemID{5}, nil); !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
}

func FuzzRebind(f *testing.F) {
	f.Add("SELECT ? FROM t WHERE a = '?' AND b = ?")
	f.Fuzz(func(t *testing.T, q string) {
		out := rebind(q)
		// Outside quotes every ? became $n; inside them nothing changed.
		want, quoted := 0, false
		for _, c := range q {
			if c == '\'' {
				quoted = !quoted
			} else if c == '?' && !quoted {
				want++
			}
		}
		if want > 0 && !strings.Contains(out, fmt.Sprintf("$%d", want)) {
			t.Fatalf("%q → %q: no $%d", q, out, want)
		}
		if want == 0 && out != q {
			t.Fatalf("%q changed to %q", q, out)
		}
	})
}

func testLeases(t *testing.T, s *Store) {
	ctx := context.Background()
	try := func(holder string, at time.Duration, want bool) {
		t.Helper()
		got, err := s.TryLease(ctx, "plan/eu", holder, t0.Add(at), 10*time.Second)
		if err != nil || got != want {
			t.Fatalf("%s at +%s: %v %v, want %v", holder, at, got, err, want)
		}
	}
	try("a", 0, true)
	try("b", time.Second, false)  // a holds it
	try("a", 5*time.Second, true) // renewal
	try("b", 14*time.Second, false)
	try("b", 16*time.Second, true) // a's renewal ran out
	try("a", 17*time.Second, false)
	if err := s.ReleaseLease(ctx, "plan/eu", "a"); err != nil { // not a's: no effect
		t.Fatal(err)
	}
	try("a", 18*time.Second, false)
	if err := s.ReleaseLease(ctx, "plan/eu", "b"); err != nil {
		t.Fatal(err)
	}
	try("a", 19*time.Second, true)
	if ok, err := s.TryLease(ctx, "plan/us", "b", t0.Add(19*time.Second), time.Second); err != nil || !ok {
		t.Fatalf("another region's lease: %v %v", ok, err)
	}
}

// testDemandSignals: the forecast's query sees the region's wishes (with their rank) and
// purchases, and nothing of another region, on both engines.
func testDemandSignals(t *testing.T, s *Store) {
	ctx := context.Background()
	a, b := addItem(t, s, "A", 1, 100), addItem(t, s, "B", 1, 100)
	mustAccount(t, s, "near", "eu", 1000)
	mustAccount(t, s, "far", "us", 1000)
	near, far := addBox(t, s, "near", 1), addBox(t, s, "far", 2)
	if _, err := s.RecordSync(ctx, SyncRecord{Box: near, Req: protocol.SyncRequest{Wishlist: []media.ItemID{b.ID, a.ID}}, Now: t0}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RecordSync(ctx, SyncRecord{Box: far, Req: protocol.SyncRequest{Wishlist: []media.ItemID{a.ID}}, Now: t0}); err != nil {
		t.Fatal(err)
	}
	if err := sale(s, near, a, media.Rental, "r1", 100); err != nil {
		t.Fatal(err)
	}
	sig, err := s.DemandSignals(ctx, "eu")
	if err != nil {
		t.Fatal(err)
	}
	var wishes, purchases int
	for _, g := range sig {
		switch {
		case g.Kind == forecast.Wish && g.Item == b.ID && g.Rank == 0, g.Kind == forecast.Wish && g.Item == a.ID && g.Rank == 1:
			wishes++
		case g.Kind == forecast.Purchase && g.Item == a.ID:
			purchases++
		default:
			t.Errorf("unexpected signal %+v", g)
		}
		if g.At.IsZero() {
			t.Errorf("signal %+v has no time", g)
		}
	}
	if wishes != 2 || purchases != 1 {
		t.Fatalf("signals %+v: want 2 wishes and 1 purchase of region eu", sig)
	}
}

// testCategories: a category set at ingest comes back normalised in the catalog, can be changed
// (bumping the catalog version), and bad ones are refused with nothing changed.
func testCategories(t *testing.T, s *Store) {
	ctx := context.Background()
	plain := addItem(t, s, "Plain", 1, 100)
	id, err := media.NewItemID()
	if err != nil {
		t.Fatal(err)
	}
	drama := Item{CatalogItem: protocol.CatalogItem{ID: id, Title: "Drama", Kind: protocol.KindVideo, Size: 1, SealedSize: 2,
		InfoHash: "drama", Pieces: 1, Added: t0, Category: " Films/Drama "}, Torrent: []byte("d4:infod")}
	if err := s.AddItem(ctx, drama, []byte("k")); err != nil {
		t.Fatal(err)
	}
	bad := drama
	bad.ID, bad.InfoHash, bad.Category = media.ItemID{9}, "bad", "films//drama"
	if err := s.AddItem(ctx, bad, []byte("k")); !errors.Is(err, protocol.ErrBadCategory) {
		t.Fatalf("bad category added: %v", err)
	}
	cats := func() map[string]string {
		c, err := s.Catalog(ctx)
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		for _, it := range c.Items {
			m[it.Title] = it.Category
		}
		return m
	}
	if got := cats(); len(got) != 2 || got["Plain"] != "" || got["Drama"] != "films/drama" {
		t.Fatalf("categories %v", got)
	}
	v0, _ := s.CatalogVersion(ctx)
	for _, c := range []struct {
		item    media.ItemID
		in      string
		wantErr error
	}{
		{plain.ID, "Music/Jazz", nil},
		{plain.ID, "a/b/c", protocol.ErrBadCategory},
		{plain.ID, "jazz!", protocol.ErrBadCategory},
		{media.ItemID{7}, "kids", ErrNotFound},
		{id, "uncategorised", nil},
	} {
		if err := s.SetItemCategory(ctx, c.item, c.in); !errors.Is(err, c.wantErr) {
			t.Errorf("SetItemCategory(%q) = %v, want %v", c.in, err, c.wantErr)
		}
	}
	if got := cats(); got["Plain"] != "music/jazz" || got["Drama"] != "" {
		t.Fatalf("after changes: %v", got)
	}
	if v, _ := s.CatalogVersion(ctx); v != v0+2 {
		t.Fatalf("catalog version %d after two changes from %d", v, v0)
	}
	if it, err := s.Item(ctx, plain.ID); err != nil || it.Category != "music/jazz" {
		t.Fatalf("item %+v %v", it.CatalogItem, err)
	}
}
