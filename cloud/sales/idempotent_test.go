package sales

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"swarmbox/cloud/store"
	"swarmbox/internal/testenv"
	"swarmbox/media"
	"swarmbox/sync/protocol"
)

// TestRentalChargedOnce: 200 rentals of one title pressed at once on one box (a double press, a
// retry after a lost answer, each with a request id of its own) charge the household once and
// all return the one rental; the ledger still reconciles. On both engines: SQLite serialises
// the sales, PostgreSQL needs the household's rows locked.
func TestRentalChargedOnce(t *testing.T) {
	t.Run("SQLite", func(t *testing.T) {
		st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "headend.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		testRentalChargedOnce(t, st)
	})
	t.Run("PostgreSQL", func(t *testing.T) {
		pg := testenv.Postgres(t)
		st, err := store.Open(context.Background(), pg.Database(t))
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		testRentalChargedOnce(t, st)
	})
}

// household makes a title costing 300, the account "h" with balance cents and one box of it.
func household(t *testing.T, st *store.Store, balance int64, now time.Time) (media.ItemID, store.Box) {
	t.Helper()
	ctx := context.Background()
	id, _ := media.NewItemID()
	it := store.Item{CatalogItem: protocol.CatalogItem{ID: id, Title: "Film", Kind: protocol.KindVideo, PriceCents: 300,
		Size: 1, SealedSize: 2, InfoHash: fmt.Sprintf("%x", id[:]), Pieces: 1, Added: now}, Torrent: []byte("t")}
	if err := st.AddItem(ctx, it, []byte("key")); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateAccount(ctx, "h", "eu", balance, now); err != nil {
		t.Fatal(err)
	}
	key := bytes.Repeat([]byte{2}, 32)
	box, err := st.RegisterBox(ctx, store.Box{ID: media.BoxIDFromKey(key), Account: "h", SignKey: key, KEMKey: key, Registered: now})
	if err != nil {
		t.Fatal(err)
	}
	return id, box
}

func testRentalChargedOnce(t *testing.T, st *store.Store) {
	ctx := context.Background()
	now := time.Date(2026, 12, 2, 4, 0, 0, 0, time.UTC)
	film, box := household(t, st, 10_000, now)
	seller := &Seller{Store: FromStore(st), Vault: fakeVault{}, RentalWindow: 48 * time.Hour, OwnedRenewal: 720 * time.Hour}
	const presses = 200
	outs := make([]Outcome, presses)
	errs := make([]error, presses)
	var wg sync.WaitGroup
	for i := range presses {
		wg.Go(func() {
			outs[i], errs[i] = seller.Buy(ctx, Order{Box: box, Item: film, Kind: media.Rental, RequestID: fmt.Sprint("press-", i),
				Source: netip.MustParseAddr("127.0.0.1"), Now: now.Add(time.Duration(i) * time.Millisecond)})
		})
	}
	wg.Wait()
	var charged int64
	purchases := 0
	for i, out := range outs {
		if errs[i] != nil {
			t.Fatalf("press %d: %v", i, errs[i])
		}
		if out.Refusal != nil || out.License.ID != outs[0].License.ID {
			t.Fatalf("press %d: %+v, want the one rental %s", i, out, outs[0].License.ID)
		}
		charged += out.Charged
		if out.Why == WhyPurchase {
			purchases++
		} else if out.Why != WhyStillValid {
			t.Fatalf("press %d: why %q", i, out.Why)
		}
	}
	if charged != 100 || purchases != 1 {
		t.Fatalf("%d presses charged %d cents in %d purchases, want 100 in 1", presses, charged, purchases)
	}
	acct, err := st.Account(ctx, "h")
	if err != nil || acct.BalanceCents != 10_000-100 {
		t.Fatalf("balance %d (%v), want %d", acct.BalanceCents, err, 10_000-100)
	}
	if lics, err := st.Licenses(ctx, "h"); err != nil || len(lics) != 1 {
		t.Fatalf("%d licenses (%v), want 1", len(lics), err)
	}
	if bad, err := st.Reconcile(ctx); err != nil || len(bad) > 0 {
		t.Fatalf("ledger does not reconcile: %v %v", bad, err)
	}
}

// TestReusedRequestIDOtherItemConflict: a request id names one purchase. Sent again for another
// title or kind it is refused with ErrRequestIDReused (the head-end's 409), charges nothing and
// leaves the first purchase as it was; sent again for the same purchase it returns that license.
func TestReusedRequestIDOtherItemConflict(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "headend.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Date(2026, 12, 2, 4, 0, 0, 0, time.UTC)
	film, box := household(t, st, 1000, now)
	other, _ := media.NewItemID()
	if err := st.AddItem(ctx, store.Item{CatalogItem: protocol.CatalogItem{ID: other, Title: "Other", Kind: protocol.KindVideo, PriceCents: 30,
		Size: 1, SealedSize: 2, InfoHash: fmt.Sprintf("%x", other[:]), Pieces: 1, Added: now}, Torrent: []byte("t")}, []byte("k2")); err != nil {
		t.Fatal(err)
	}
	seller := &Seller{Store: FromStore(st), Vault: fakeVault{}, RentalWindow: 48 * time.Hour, OwnedRenewal: 720 * time.Hour}
	order := func(item media.ItemID, kind media.LicenseKind) Order {
		return Order{Box: box, Item: item, Kind: kind, RequestID: "same-id", Now: now}
	}
	first, err := seller.Buy(ctx, order(film, media.Owned))
	if err != nil || first.Charged != 300 {
		t.Fatalf("first purchase: %+v %v", first, err)
	}
	for _, c := range []struct {
		name string
		o    Order
		want error
	}{
		{"another title", order(other, media.Owned), ErrRequestIDReused},
		{"another kind", order(film, media.Rental), ErrRequestIDReused},
		{"another title, later", func() Order { o := order(other, media.Rental); o.Now = now.Add(time.Hour); return o }(), ErrRequestIDReused},
		{"the same purchase", order(film, media.Owned), nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, err := seller.Buy(ctx, c.o)
			if !errors.Is(err, c.want) {
				t.Fatalf("err %v, want %v", err, c.want)
			}
			if c.want == nil && (out.Why != WhyRetry || out.License.ID != first.License.ID || out.Charged != 0) {
				t.Fatalf("retry: %+v, want license %s again, uncharged", out, first.License.ID)
			}
		})
	}
	if acct, _ := st.Account(ctx, "h"); acct.BalanceCents != 700 {
		t.Fatalf("balance %d, want 700: only the first purchase is charged", acct.BalanceCents)
	}
}
