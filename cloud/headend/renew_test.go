package headend

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"swarmbox/cloud/sales"
	"swarmbox/cloud/store"
	"swarmbox/media"
	"swarmbox/sync/cloudclient"
	"swarmbox/sync/protocol"
)

// TestRenewEndpoint: POST /v1/renew renews an owned licence free for another period and a
// retry returns it again; a title never bought gets 403 not_owned, a suspended account 403
// account_inactive, a reused request id 409; each answer vouches for the head-end's time,
// signed for this request of this box; /metrics counts the renewals.
func TestRenewEndpoint(t *testing.T) {
	ctx := context.Background()
	now := time.Now().UTC()
	clock := func() time.Time { return now }
	f := newFixtureWith(t, func(cfg *Config) { cfg.Now, cfg.OwnedRenewal = clock, 24*time.Hour })
	f.client.Now = clock
	pub := f.vault.PublicKey()
	var vouched []time.Time
	f.client.OnAnswer = func(req *http.Request, h http.Header) {
		if v, err := protocol.VouchedTime(h, req, f.client.Box, pub); err == nil {
			vouched = append(vouched, v)
		} else {
			t.Errorf("answer to %s: %v", req.URL.Path, err)
		}
	}
	var api *cloudclient.APIError
	if _, err := f.client.Renew(ctx, protocol.RenewRequest{Item: f.item.ID, RequestID: "n0"}); !asAPI(err, &api) || api.Status != http.StatusForbidden || api.Code != sales.ReasonNotOwned {
		t.Fatalf("renewing a title never bought: %v", err)
	}
	if _, err := f.client.Buy(ctx, protocol.BuyRequest{Item: f.item.ID, Kind: media.Owned, RequestID: "own"}); err != nil {
		t.Fatal(err)
	}
	before := balance(t, f)
	now = now.Add(20 * time.Hour)
	r1, err := f.client.Renew(ctx, protocol.RenewRequest{Item: f.item.ID, RequestID: "n1"})
	if err != nil {
		t.Fatal(err)
	}
	l1, err := media.ParseLicense(r1.License, pub)
	if err != nil || l1.Kind != media.Owned || l1.Expires.Sub(now.Add(24*time.Hour)).Abs() > time.Second {
		t.Fatalf("renewed licence %+v, %v; want owned until a period from now", l1, err)
	}
	r2, err := f.client.Renew(ctx, protocol.RenewRequest{Item: f.item.ID, RequestID: "n1"})
	if err != nil || !bytes.Equal(r2.License, r1.License) {
		t.Fatalf("retried renewal: %v, same licence %v", err, bytes.Equal(r2.License, r1.License))
	}
	if got := balance(t, f); got != before {
		t.Errorf("balance %d after renewals, want %d", got, before)
	}
	setStatus(t, f, store.StatusSuspended)
	if _, err := f.client.Renew(ctx, protocol.RenewRequest{Item: f.item.ID, RequestID: "n2"}); !asAPI(err, &api) || api.Status != http.StatusForbidden || api.Code != sales.ReasonAccountInactive {
		t.Fatalf("renewal while suspended: %v", err)
	}
	if _, err := f.client.Renew(ctx, protocol.RenewRequest{Item: media.ItemID{7}, RequestID: "n1"}); !asAPI(err, &api) || api.Status != http.StatusNotFound {
		t.Fatalf("renewal of an unknown title: %v", err)
	}
	if len(vouched) == 0 || !vouched[len(vouched)-1].Equal(now.Truncate(time.Millisecond)) {
		t.Errorf("vouched times %v, want the head-end's clock %v last", vouched, now)
	}
	m := scrape(t, f)
	for _, want := range []string{`swarmbox_renewals_total{outcome="issued",reason="renewal"} 1`, `swarmbox_renewals_total{outcome="refused",reason="account_inactive"} 1`,
		`swarmbox_renewals_total{outcome="refused",reason="not_owned"} 1`} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %s:\n%s", want, grep(m, "swarmbox_renewals"))
		}
	}
}

// FuzzRenewBody: whatever a registered box posts to /v1/renew, the head-end answers 2xx or a
// 4xx JSON error, never a 5xx, and never charges.
func FuzzRenewBody(f *testing.F) {
	fx := newFixture(f)
	ctx := context.Background()
	if _, err := fx.client.Buy(ctx, protocol.BuyRequest{Item: fx.item.ID, Kind: media.Owned, RequestID: "own"}); err != nil {
		f.Fatal(err)
	}
	acctBalance := func(tb testing.TB) int64 {
		a, err := fx.st.Account(ctx, "acct")
		if err != nil {
			tb.Fatal(err)
		}
		return a.BalanceCents
	}
	before := acctBalance(f)
	f.Add([]byte(`{"item":"` + fx.item.ID.String() + `","request_id":"a"}`))
	f.Add([]byte(`{"item":"` + fx.item.ID.String() + `","request_id":""}`))
	f.Add([]byte(`{"item":"zz","request_id":"a"}`))
	f.Add([]byte(`{"item":"` + fx.item.ID.String() + `","request_id":"a","x":1}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := http.NewRequest(http.MethodPost, fx.srv.URL+protocol.PathRenew, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		protocol.Sign(req, body, fx.client.Box, fx.client.Key, time.Now())
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode >= 500 {
			t.Fatalf("body %q: %d", body, resp.StatusCode)
		}
		if got := acctBalance(t); got != before {
			t.Fatalf("body %q charged: balance %d, was %d", body, got, before)
		}
	})
}
