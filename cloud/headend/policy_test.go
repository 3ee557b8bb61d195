package headend

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"swarmbox/cloud/sales"
	"swarmbox/cloud/store"
	"swarmbox/media"
	"swarmbox/sync/cloudclient"
	"swarmbox/sync/protocol"
)

// TestLicenseRefusals: each policy check refuses with its own reason, charges nothing, and
// leaves a row in the audit log; the metrics count it.
func TestLicenseRefusals(t *testing.T) {
	loopback := netip.MustParsePrefix("127.0.0.0/8")
	for _, c := range []struct {
		name      string
		regionMap []sales.RegionNet
		prepare   func(t *testing.T, f *fixture)
		kind      media.LicenseKind
		status    int
		reason    string
	}{
		{name: "suspended account (LIC-1)", kind: media.Owned, status: 403, reason: sales.ReasonAccountInactive,
			prepare: func(t *testing.T, f *fixture) { setStatus(t, f, store.StatusSuspended) }},
		{name: "closed account (LIC-1)", kind: media.Rental, status: 403, reason: sales.ReasonAccountInactive,
			prepare: func(t *testing.T, f *fixture) { setStatus(t, f, store.StatusClosed) }},
		{name: "title not licensed in the box's region (LIC-2)", kind: media.Owned, status: 403, reason: sales.ReasonItemRegion,
			prepare: func(t *testing.T, f *fixture) {
				if err := f.st.SetItemRegions(context.Background(), f.item.ID, []string{"us", "uk"}); err != nil {
					t.Fatal(err)
				}
			}},
		{name: "request from another region's network (LIC-2)", kind: media.Owned, status: 403, reason: sales.ReasonNetworkRegion,
			regionMap: []sales.RegionNet{{Prefix: loopback, Region: "us"}}},
		{name: "request from an unmapped network (LIC-2)", kind: media.Owned, status: 403, reason: sales.ReasonUnknownNetwork,
			regionMap: []sales.RegionNet{{Prefix: netip.MustParsePrefix("198.18.0.0/15"), Region: "eu"}}},
		{name: "balance too low", kind: media.Owned, status: 402, reason: sales.ReasonBalance,
			prepare: func(t *testing.T, f *fixture) {
				if err := f.st.CreateAccount(context.Background(), "poor", "eu", 0, time.Now()); err != nil {
					t.Fatal(err)
				}
				f.client = registerBox(t, f, "poor")
			}},
		{name: "the box's own region and network pass", kind: media.Owned, status: 200,
			regionMap: []sales.RegionNet{{Prefix: loopback, Region: "eu"}},
			prepare: func(t *testing.T, f *fixture) {
				if err := f.st.SetItemRegions(context.Background(), f.item.ID, []string{"eu"}); err != nil {
					t.Fatal(err)
				}
			}},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFixtureWith(t, func(cfg *Config) { cfg.Policy.RegionMap = c.regionMap })
			if c.prepare != nil {
				c.prepare(t, f)
			}
			before := balance(t, f)
			_, err := f.client.Buy(context.Background(), protocol.BuyRequest{Item: f.item.ID, Kind: c.kind, RequestID: "r1"})
			log, aerr := f.st.AuditLog(context.Background(), 1)
			if aerr != nil || len(log) != 1 {
				t.Fatalf("audit log %v %v", log, aerr)
			}
			if c.status == 200 {
				if err != nil || log[0].Outcome != store.AuditIssued {
					t.Fatalf("refused: %v, audit %+v", err, log[0])
				}
				return
			}
			var api *cloudclient.APIError
			if !errors.As(err, &api) || api.Status != c.status || api.Code != c.reason {
				t.Fatalf("err %v, want %d %s", err, c.status, c.reason)
			}
			if log[0].Outcome != store.AuditRefused || log[0].Reason != c.reason || log[0].Box != f.client.Box.String() || log[0].Source != "127.0.0.1" {
				t.Fatalf("audit row %+v", log[0])
			}
			if after := balance(t, f); after != before {
				t.Fatalf("a refusal charged: %d → %d", before, after)
			}
			if m := scrape(t, f); !strings.Contains(m, `swarmbox_licenses_total{outcome="refused",reason="`+c.reason+`"} 1`) {
				t.Fatalf("metrics do not count the refusal:\n%s", grep(m, "swarmbox_licenses"))
			}
		})
	}
}

// TestOwnedRenewalAndExpiry (LIC-3): every license expires; an owned title renews for free while
// the account is active and not once it is suspended; an expired rental no longer plays.
func TestOwnedRenewalAndExpiry(t *testing.T) {
	now := time.Now()
	clock := func() time.Time { return now }
	f := newFixtureWith(t, func(cfg *Config) {
		cfg.Now, cfg.RentalWindow, cfg.OwnedRenewal = clock, 2*time.Hour, 24*time.Hour
	})
	ctx := context.Background()
	f.client.Now = clock
	pub := headendKey(t, f)
	first, err := f.client.Buy(ctx, protocol.BuyRequest{Item: f.item.ID, Kind: media.Owned, RequestID: "own"})
	if err != nil {
		t.Fatal(err)
	}
	l, err := media.ParseLicense(first.License, pub)
	if d := l.Expires.Sub(now); err != nil || d < 24*time.Hour-time.Second || d > 24*time.Hour+time.Second {
		t.Fatalf("owned license %+v %v", l, err)
	}
	now = now.Add(23 * time.Hour)
	renewed, err := f.client.Buy(ctx, protocol.BuyRequest{Item: f.item.ID, Kind: media.Owned, RequestID: "renew-1"})
	if err != nil || renewed.ChargedCents != 0 {
		t.Fatalf("renewal: %v, charged %d", err, renewed.ChargedCents)
	}
	if l2, _ := media.ParseLicense(renewed.License, pub); !l2.Expires.After(l.Expires) {
		t.Fatalf("renewal did not extend: %s then %s", l.Expires, l2.Expires)
	}
	setStatus(t, f, store.StatusSuspended)
	_, err = f.client.Buy(ctx, protocol.BuyRequest{Item: f.item.ID, Kind: media.Owned, RequestID: "renew-2"})
	var api *cloudclient.APIError
	if !errors.As(err, &api) || api.Code != sales.ReasonAccountInactive {
		t.Fatalf("renewal while suspended: %v", err)
	}
	setStatus(t, f, store.StatusActive)
	rent, err := f.client.Buy(ctx, protocol.BuyRequest{Item: f.item.ID, Kind: media.Rental, RequestID: "rent"})
	if err != nil {
		t.Fatal(err)
	}
	rl, err := media.ParseLicense(rent.License, pub)
	if err != nil {
		t.Fatal(err)
	}
	if err := rl.Check(f.client.Box, f.item.ID, now.Add(time.Hour)); err != nil {
		t.Fatalf("rental inside its window: %v", err)
	}
	if err := rl.Check(f.client.Box, f.item.ID, now.Add(3*time.Hour)); !errors.Is(err, media.ErrExpired) {
		t.Fatalf("rental after its window: %v, want ErrExpired", err)
	}
}

// TestReplayedSyncIsRefused: the same signed sync sent twice is refused the second time; a
// retried buy is answered with the same license and no charge instead.
func TestReplayedSyncIsRefused(t *testing.T) {
	f := newFixture(t)
	body := []byte(`{"wishlist":[],"holdings":[],"free_bytes":1,"transfers":[]}`)
	req, _ := http.NewRequest("POST", f.srv.URL+protocol.PathSync, bytes.NewReader(body))
	protocol.Sign(req, body, f.client.Box, f.client.Key, time.Now())
	again := req.Clone(context.Background())
	again.Body = io.NopCloser(bytes.NewReader(body))
	for i, r := range []*http.Request{req, again} {
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		want := []int{200, 401}[i]
		if resp.StatusCode != want || (i == 1 && !strings.Contains(string(b), "replayed")) {
			t.Fatalf("send %d: %d %s, want %d", i+1, resp.StatusCode, b, want)
		}
	}
}

// TestSyncSendsBrowserWishlist: after the customer's change the box is told to adopt the list.
func TestSyncSendsBrowserWishlist(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if _, err := f.st.SetWishlist(ctx, "acct", f.client.Box, []media.ItemID{f.item.ID}); err != nil {
		t.Fatal(err)
	}
	resp, err := f.client.Sync(ctx, protocol.SyncRequest{Wishlist: []media.ItemID{}})
	if err != nil || resp.WishlistVersion != 1 || len(resp.Wishlist) != 1 || resp.Wishlist[0] != f.item.ID {
		t.Fatalf("sync after a browser edit: %+v %v", resp, err)
	}
	resp, err = f.client.Sync(ctx, protocol.SyncRequest{WishlistVersion: 1, Wishlist: []media.ItemID{f.item.ID}})
	if err != nil || resp.Wishlist != nil {
		t.Fatalf("sync at the current version resends the list: %+v %v", resp, err)
	}
	m := scrape(t, f)
	for _, want := range []string{"swarmbox_syncs_total 2", "swarmbox_plan_seconds_count 2", "swarmbox_peer_bytes_reported 0", "swarmbox_server_egress_bytes_total 0"} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %q:\n%s", want, grep(m, "swarmbox_"))
		}
	}
}

func setStatus(t *testing.T, f *fixture, status string) {
	t.Helper()
	if _, err := f.st.SetStatus(context.Background(), "acct", status, time.Now()); err != nil {
		t.Fatal(err)
	}
}

func balance(t *testing.T, f *fixture) int64 {
	t.Helper()
	bs, err := f.st.Box(context.Background(), f.client.Box)
	if err != nil {
		t.Fatal(err)
	}
	a, err := f.st.Account(context.Background(), bs.Account)
	if err != nil {
		t.Fatal(err)
	}
	return a.BalanceCents
}

func scrape(t *testing.T, f *fixture) string {
	t.Helper()
	resp, err := http.Get(f.srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func grep(s, substr string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestFreeTitleCountedOnce (BUY-3): a free title's first licence is counted as a purchase that
// charged nothing, and the same request sent again is a retry that counts nothing.
func TestFreeTitleCountedOnce(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	free := f.item
	id, err := media.NewItemID()
	if err != nil {
		t.Fatal(err)
	}
	free.ID, free.Title, free.PriceCents, free.InfoHash = id, "Free film", 0, strings.Repeat("f", 40)
	var key media.ContentKey
	if err := f.st.AddItem(ctx, free, f.vault.Wrap(free.ID, key)); err != nil {
		t.Fatal(err)
	}
	before := balance(t, f)
	for i := 0; i < 2; i++ {
		resp, err := f.client.Buy(ctx, protocol.BuyRequest{Item: free.ID, Kind: media.Owned, RequestID: "free-1"})
		if err != nil || resp.ChargedCents != 0 {
			t.Fatalf("buy %d of a free title: %+v, %v", i, resp, err)
		}
	}
	if after := balance(t, f); after != before {
		t.Fatalf("a free title charged: %d → %d", before, after)
	}
	m := scrape(t, f)
	if !strings.Contains(m, `swarmbox_licenses_total{outcome="issued",reason="purchase"} 1`) {
		t.Fatalf("the free title's licence is not counted once as a purchase:\n%s", grep(m, "swarmbox_licenses"))
	}
}
