package sales

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"swarmbox/cloud/store"
	"swarmbox/media"
	"swarmbox/sync/protocol"
)

// TestRenewOwnedOnly: an owned title's licence is renewed at no charge for another period; a
// retry returns the same licence; a rental, a title never bought, a title no longer licensed in
// the account's region, a request from another region's network, a suspended and a closed
// account are each refused with their named reason and audited; nothing moves money.
func TestRenewOwnedOnly(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "headend.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	var items []media.ItemID
	for i := range 4 {
		id, _ := media.NewItemID()
		it := store.Item{CatalogItem: protocol.CatalogItem{ID: id, Title: fmt.Sprint("T", i), Kind: protocol.KindVideo, PriceCents: 300,
			Size: 1, SealedSize: 2, InfoHash: fmt.Sprintf("%x", id[:]), Pieces: 1, Added: now}, Torrent: []byte("t")}
		if err := st.AddItem(ctx, it, []byte(fmt.Sprint("key", i))); err != nil {
			t.Fatal(err)
		}
		items = append(items, id)
	}
	film, rented, never, regional := items[0], items[1], items[2], items[3]
	if err := st.CreateAccount(ctx, "h", "eu", 2000, now); err != nil {
		t.Fatal(err)
	}
	key := bytes.Repeat([]byte{1}, 32)
	box, err := st.RegisterBox(ctx, store.Box{ID: media.BoxIDFromKey(key), Account: "h", SignKey: key, KEMKey: key, Registered: now})
	if err != nil {
		t.Fatal(err)
	}
	euNet := []RegionNet{{Prefix: netip.MustParsePrefix("198.18.0.0/16"), Region: "eu"}, {Prefix: netip.MustParsePrefix("10.0.0.0/8"), Region: "us"}}
	seller := &Seller{Store: FromStore(st), Vault: fakeVault{}, RentalWindow: 48 * time.Hour, OwnedRenewal: 720 * time.Hour, Policy: Policy{RegionMap: euNet}}
	inEU, elsewhere := netip.MustParseAddr("198.18.0.9"), netip.MustParseAddr("10.1.1.1")
	for _, o := range []Order{
		{Box: box, Item: film, Kind: media.Owned, RequestID: "b1", Source: inEU, Now: now},
		{Box: box, Item: rented, Kind: media.Rental, RequestID: "b2", Source: inEU, Now: now},
		{Box: box, Item: regional, Kind: media.Owned, RequestID: "b3", Source: inEU, Now: now},
	} {
		if out, err := seller.Buy(ctx, o); err != nil || out.Refusal != nil {
			t.Fatalf("buy %+v: %v %v", o, out.Refusal, err)
		}
	}
	balance := int64(2000 - 300 - 100 - 300)
	later := now.Add(500 * time.Hour)
	renewal := func(item media.ItemID, req string, src netip.Addr) Renewal {
		return Renewal{Box: box, Item: item, RequestID: req, Source: src, Now: later}
	}
	var first store.IssuedLicense
	for _, c := range []struct {
		name   string
		before func()
		r      Renewal
		why    string // "" = refused
		reason string
	}{
		{name: "owned: renewed", r: renewal(film, "n1", inEU), why: WhyRenewal},
		{name: "retry: the same licence", r: renewal(film, "n1", inEU), why: WhyRetry},
		{name: "rental: never renewed", r: renewal(rented, "n2", inEU), reason: ReasonNotOwned},
		{name: "never bought", r: renewal(never, "n3", inEU), reason: ReasonNotOwned},
		{name: "from another region's network", r: renewal(film, "n4", elsewhere), reason: ReasonNetworkRegion},
		{name: "title no longer licensed in eu", before: func() {
			if err := st.SetItemRegions(ctx, regional, []string{"us"}); err != nil {
				t.Fatal(err)
			}
		}, r: renewal(regional, "n5", inEU), reason: ReasonItemRegion},
		{name: "suspended", before: func() {
			if _, err := st.SetStatus(ctx, "h", store.StatusSuspended, now); err != nil {
				t.Fatal(err)
			}
		}, r: renewal(film, "n6", inEU), reason: ReasonAccountInactive},
		{name: "closed", before: func() {
			if _, err := st.SetStatus(ctx, "h", store.StatusClosed, now); err != nil {
				t.Fatal(err)
			}
		}, r: renewal(film, "n7", inEU), reason: ReasonAccountInactive},
	} {
		if c.before != nil {
			c.before()
		}
		out, err := seller.Renew(ctx, c.r)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if out.Charged != 0 || (out.Balance != balance && c.name != "closed") { // closing an account pays its balance out
			t.Errorf("%s: charged %d, balance %d, want 0 and %d", c.name, out.Charged, out.Balance, balance)
		}
		if c.why == "" {
			if out.Refusal == nil || out.Refusal.Reason != c.reason || out.License.ID != "" {
				t.Errorf("%s: %+v, want refusal %s", c.name, out, c.reason)
			}
			continue
		}
		if out.Refusal != nil || out.Why != c.why {
			t.Fatalf("%s: why %q, refusal %v", c.name, out.Why, out.Refusal)
		}
		if c.why == WhyRenewal {
			first = out.License
			if !out.License.Expires.Equal(later.Add(720 * time.Hour)) {
				t.Errorf("%s: expires %v, want a period from the renewal", c.name, out.License.Expires)
			}
		} else if out.License.ID != first.ID {
			t.Errorf("%s: licence %s, want the first answer's %s", c.name, out.License.ID, first.ID)
		}
	}
	if _, err := seller.Renew(ctx, renewal(rented, "n1", inEU)); !errors.Is(err, ErrRequestIDReused) {
		t.Errorf("a request id reused for another title: %v, want ErrRequestIDReused", err)
	}
	if _, err := seller.Renew(ctx, renewal(film, "", inEU)); !errors.Is(err, ErrBadRequestID) {
		t.Errorf("no request id: %v", err)
	}
	if _, err := seller.Renew(ctx, renewal(media.ItemID{9}, "x", inEU)); !errors.Is(err, ErrUnknownItem) {
		t.Errorf("unknown title: %v", err)
	}
	log, err := st.AuditLog(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	renewed, refused := 0, 0
	for _, e := range log {
		switch {
		case e.Outcome == store.AuditIssued && e.Reason == WhyRenewal:
			renewed++
		case e.Outcome == store.AuditRefused && e.Kind == "renewal":
			refused++
		}
	}
	if renewed != 1 || refused != 6 {
		t.Errorf("audit: %d renewals issued, %d refused; want 1 and 6", renewed, refused)
	}
	if bad, err := st.Reconcile(ctx); err != nil || len(bad) > 0 {
		t.Fatalf("ledger does not reconcile: %v %v", bad, err)
	}
}
