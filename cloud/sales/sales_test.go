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
	"swarmbox/internal/testenv"
	"swarmbox/media"
	"swarmbox/sync/protocol"
)

func TestPrice(t *testing.T) {
	for _, c := range []struct {
		owned int64
		kind  media.LicenseKind
		want  int64
	}{
		{300, media.Owned, 300},
		{300, media.Rental, 100},
		{100, media.Rental, 34}, // a third, rounded up
		{1, media.Rental, 1},
		{0, media.Owned, 0}, // a free title is free either way
		{0, media.Rental, 0},
	} {
		if got := Price(c.owned, c.kind); got != c.want {
			t.Errorf("Price(%d, %s) = %d, want %d", c.owned, c.kind, got, c.want)
		}
	}
}

func TestExpiry(t *testing.T) {
	s := &Seller{RentalWindow: 48 * time.Hour, OwnedRenewal: 30 * 24 * time.Hour}
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	for kind, want := range map[media.LicenseKind]time.Time{media.Rental: now.Add(48 * time.Hour), media.Owned: now.Add(720 * time.Hour)} {
		if got := s.Expiry(kind, now); !got.Equal(want) {
			t.Errorf("%s expires %v, want %v", kind, got, want)
		}
	}
}

// TestDecide: the policy's checks come first, then the account status backstop, then the
// balance; a renewal (price 0) needs no balance but still an active account.
func TestDecide(t *testing.T) {
	euNet := []RegionNet{{Prefix: netip.MustParsePrefix("198.18.0.0/16"), Region: "eu"}}
	inEU, elsewhere := netip.MustParseAddr("198.18.1.1"), netip.MustParseAddr("10.0.0.1")
	acct := func(status string, balance int64) store.Account {
		return store.Account{ID: "h", Status: status, Region: "eu", BalanceCents: balance}
	}
	for _, c := range []struct {
		name   string
		policy Policy
		d      Decision
		reason string // "" = allowed
	}{
		{"active, can pay", Policy{}, Decision{Account: acct("active", 300), Price: 300}, ""},
		{"active, free title", Policy{}, Decision{Account: acct("active", 0), Price: 0}, ""},
		{"renewal with no money", Policy{}, Decision{Account: acct("active", 0), Price: 0}, ""},
		{"cannot pay", Policy{}, Decision{Account: acct("active", 299), Price: 300}, ReasonBalance},
		{"suspended", Policy{}, Decision{Account: acct("suspended", 1000), Price: 100}, ReasonAccountInactive},
		{"suspended renewal", Policy{}, Decision{Account: acct("suspended", 1000), Price: 0}, ReasonAccountInactive},
		{"closed", Policy{}, Decision{Account: acct("closed", 0), Price: 0}, ReasonAccountInactive},
		{"suspended and broke: status first", Policy{}, Decision{Account: acct("suspended", 0), Price: 100}, ReasonAccountInactive},
		{"title elsewhere", Policy{}, Decision{Account: acct("active", 1000), ItemRegions: []string{"us"}, Price: 100}, ReasonItemRegion},
		{"title here", Policy{}, Decision{Account: acct("active", 1000), ItemRegions: []string{"us", "eu"}, Price: 100}, ""},
		{"title elsewhere and broke: region first", Policy{}, Decision{Account: acct("active", 0), ItemRegions: []string{"us"}, Price: 100}, ReasonItemRegion},
		{"network in region", Policy{euNet}, Decision{Account: acct("active", 100), Source: inEU, Price: 100}, ""},
		{"network unknown", Policy{euNet}, Decision{Account: acct("active", 100), Source: elsewhere, Price: 100}, ReasonUnknownNetwork},
	} {
		t.Run(c.name, func(t *testing.T) {
			wantRefusal(t, (&Seller{Policy: c.policy}).Decide(c.d), c.reason)
		})
	}
	err := (&Seller{}).Decide(Decision{Account: acct("active", 50), Price: 100})
	if err == nil || err.Error() != "balance too low: 50 cents, the title costs 100: top up the account" {
		t.Fatalf("balance refusal says %v", err)
	}
}

// fakeVault issues envelopes that name the license and the key they carry.
type fakeVault struct{}

func (fakeVault) Unwrap(item media.ItemID, wrapped []byte) (media.ContentKey, error) {
	var k media.ContentKey
	copy(k[:], wrapped)
	return k, nil
}

func (fakeVault) Issue(l media.License, boxKEM []byte, key media.ContentKey) ([]byte, error) {
	return fmt.Appendf(nil, "%s %s %s %s", l.ID, l.Kind, l.Expires.Format(time.RFC3339), bytes.TrimRight(key[:], "\x00")), nil
}

func TestBuySQLite(t *testing.T) {
	s, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "headend.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	testBuy(t, s)
}

func TestBuyPostgres(t *testing.T) {
	pg := testenv.Postgres(t)
	s, err := store.Open(context.Background(), pg.Database(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	testBuy(t, s)
}

// testBuy runs a household's purchases through a real store, step by step.
func testBuy(t *testing.T, st *store.Store) {
	ctx := context.Background()
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	var items []media.ItemID
	for i, price := range []int64{300, 0, 300} {
		id, _ := media.NewItemID()
		it := store.Item{CatalogItem: protocol.CatalogItem{ID: id, Title: fmt.Sprint("T", i), Kind: protocol.KindVideo, PriceCents: price,
			Size: 1, SealedSize: 2, InfoHash: fmt.Sprintf("%x", id[:]), Pieces: 1, Added: now}, Torrent: []byte("t")}
		if err := st.AddItem(ctx, it, []byte(fmt.Sprint("key", i))); err != nil {
			t.Fatal(err)
		}
		items = append(items, id)
	}
	film, free, usOnly := items[0], items[1], items[2]
	if err := st.SetItemRegions(ctx, usOnly, []string{"us"}); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateAccount(ctx, "h", "eu", 500, now); err != nil {
		t.Fatal(err)
	}
	key := bytes.Repeat([]byte{1}, 32)
	box, err := st.RegisterBox(ctx, store.Box{ID: media.BoxIDFromKey(key), Account: "h", SignKey: key, KEMKey: key, Registered: now})
	if err != nil {
		t.Fatal(err)
	}
	seller := &Seller{Store: FromStore(st), Vault: fakeVault{}, RentalWindow: 48 * time.Hour, OwnedRenewal: 720 * time.Hour}
	src := netip.MustParseAddr("127.0.0.1")
	order := func(item media.ItemID, kind media.LicenseKind, req string) Order {
		return Order{Box: box, Item: item, Kind: kind, RequestID: req, Source: src, Now: now}
	}
	later := func(o Order, d time.Duration) Order { o.Now = o.Now.Add(d); return o }
	licenses := map[string]store.IssuedLicense{}
	for _, step := range []struct {
		name    string
		order   Order
		suspend bool
		why     string // "" = refused with reason
		reason  string
		charged int64
		balance int64
		sameAs  string // a retry returns this request's license
	}{
		{name: "rent", order: order(film, media.Rental, "r1"), why: WhyPurchase, charged: 100, balance: 400},
		{name: "retry", order: order(film, media.Rental, "r1"), why: WhyRetry, charged: 0, balance: 400, sameAs: "r1"},
		{name: "buy", order: order(film, media.Owned, "o1"), why: WhyPurchase, charged: 300, balance: 100},
		{name: "renew owned: free", order: order(film, media.Owned, "o2"), why: WhyRenewal, charged: 0, balance: 100},
		{name: "rent again while the rental is valid: the same rental, free", order: order(film, media.Rental, "r2"), why: WhyStillValid, charged: 0, balance: 100, sameAs: "r1"},
		{name: "rent again after it expired: charged again", order: later(order(film, media.Rental, "r4"), 49*time.Hour), why: WhyPurchase, charged: 100, balance: 0},
		{name: "free title with no money", order: order(free, media.Owned, "f1"), why: WhyPurchase, charged: 0, balance: 0},
		{name: "cannot pay", order: later(order(film, media.Rental, "r3"), 100*time.Hour), reason: ReasonBalance},
		{name: "not licensed in eu", order: order(usOnly, media.Rental, "u1"), reason: ReasonItemRegion},
		{name: "suspended: no renewal", order: order(film, media.Owned, "o3"), suspend: true, reason: ReasonAccountInactive},
		{name: "suspended: a retry still answers", order: order(film, media.Owned, "o1"), why: WhyRetry, charged: 0, balance: 0, sameAs: "o1"},
	} {
		if step.suspend {
			if _, err := st.SetStatus(ctx, "h", store.StatusSuspended, now); err != nil {
				t.Fatal(err)
			}
		}
		out, err := seller.Buy(ctx, step.order)
		if err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		if step.why == "" {
			if out.Refusal == nil || out.Refusal.Reason != step.reason || out.Charged != 0 || out.License.ID != "" || out.Account != "h" {
				t.Fatalf("%s: %+v, want refusal %s", step.name, out, step.reason)
			}
			continue
		}
		if out.Refusal != nil || out.Why != step.why || out.Charged != step.charged || out.Balance != step.balance || out.Account != "h" {
			t.Fatalf("%s: %+v (refusal %v)", step.name, out, out.Refusal)
		}
		if step.sameAs != "" {
			if want := licenses[step.sameAs]; out.License.ID != want.ID || !bytes.Equal(out.License.Envelope, want.Envelope) {
				t.Fatalf("%s: license %+v, want %+v", step.name, out.License, want)
			}
			continue
		}
		window := 48 * time.Hour
		if step.order.Kind == media.Owned {
			window = 720 * time.Hour
		}
		if !out.License.Expires.Equal(step.order.Now.Add(window)) {
			t.Fatalf("%s: expires %v", step.name, out.License.Expires)
		}
		licenses[step.order.RequestID] = out.License
	}
	if lics, err := st.Licenses(ctx, "h"); err != nil || len(lics) != 5 {
		t.Fatalf("licenses %d %v", len(lics), err)
	}
	log, err := st.AuditLog(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	var issued, refused int
	for _, e := range log {
		switch e.Outcome {
		case store.AuditIssued:
			issued++
		case store.AuditRefused:
			refused++
		}
		if e.Source != "127.0.0.1" || e.Account != "h" {
			t.Errorf("audit row %+v", e)
		}
	}
	if issued != 5 || refused != 3 {
		t.Fatalf("audit: %d issued, %d refused", issued, refused)
	}
	if bad, err := st.Reconcile(ctx); err != nil || len(bad) > 0 {
		t.Fatalf("ledger does not reconcile: %v %v", bad, err)
	}
	for _, c := range []struct {
		o    Order
		want error
	}{
		{order(film, "lease", "x"), ErrBadKind},
		{order(film, media.Rental, ""), ErrBadRequestID},
		{order(film, media.Rental, string(bytes.Repeat([]byte("x"), 65))), ErrBadRequestID},
		{order(media.ItemID{9}, media.Rental, "x"), ErrUnknownItem},
		{order(free, media.Rental, "r1"), ErrRequestIDReused}, // r1 rented the film
		{order(film, media.Owned, "r1"), ErrRequestIDReused},  // the same film, but r1 rented it
	} {
		if _, err := seller.Buy(ctx, c.o); !errors.Is(err, c.want) {
			t.Errorf("%+v: err %v, want %v", c.o, err, c.want)
		}
	}
}
