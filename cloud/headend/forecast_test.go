package headend_test

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"swarmbox/cloud/forecast"
	"swarmbox/cloud/headend"
	"swarmbox/cloud/headend/headendtest"
	"swarmbox/cloud/store"
	"swarmbox/media"
	"swarmbox/sync/protocol"
)

// addBox registers a box for account and reports its wishlist, as a sync would.
func addBox(t *testing.T, st *store.Store, account string, wish ...media.ItemID) media.BoxID {
	t.Helper()
	ctx := context.Background()
	pub, _, _ := ed25519.GenerateKey(nil)
	id := media.BoxIDFromKey(pub)
	if _, err := st.RegisterBox(ctx, store.Box{ID: id, Account: account, SignKey: pub, KEMKey: make([]byte, 32), Registered: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.SaveSync(ctx, id, "", protocol.SyncRequest{Wishlist: wish}, time.Now()); err != nil {
		t.Fatal(err)
	}
	return id
}

func getForecast(t *testing.T, url string) (int, forecast.Forecast, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var f forecast.Forecast
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(body, &f); err != nil {
			t.Fatalf("forecast %s: %v", body, err)
		}
	}
	return resp.StatusCode, f, string(body)
}

// TestForecastEndpoint: the region's wishes and purchases rank its titles; another region's
// do not count; bad queries get 400 with a message.
func TestForecastEndpoint(t *testing.T) {
	h := headendtest.New(t, headendtest.Title{Name: "A", Price: 100, Data: []byte("a")},
		headendtest.Title{Name: "B", Price: 100, Data: []byte("b")}, headendtest.Title{Name: "C", Price: 100, Data: []byte("c")})
	ctx := context.Background()
	a, b, c := h.Items[0].ID, h.Items[1].ID, h.Items[2].ID
	if err := h.Store.CreateAccount(ctx, "far-away", "us-east", 1000, time.Now()); err != nil {
		t.Fatal(err)
	}
	addBox(t, h.Store, headendtest.Account, a, b) // a: 1, b: 0.5
	buyer := addBox(t, h.Store, headendtest.Account)
	if err := h.Store.Sale(ctx, func(tx *store.SaleTx) error {
		return tx.Record(ctx, store.Sale{Box: buyer, Account: headendtest.Account, Item: b, Kind: media.Owned, RequestID: "r1", Charged: 100,
			Ledger: store.LedgerPurchase, License: store.IssuedLicense{ID: "l1", Expires: time.Now().Add(time.Hour), Envelope: []byte("{}")},
			Reason: "purchase", Now: time.Now()})
	}); err != nil {
		t.Fatal(err) // b: 0.5 + 2
	}
	addBox(t, h.Store, "far-away", c, c) // another region: not counted in eu-west

	code, f, body := getForecast(t, h.URL+headend.PathForecast+"?region="+headendtest.Region)
	if code != http.StatusOK {
		t.Fatalf("status %d: %s", code, body)
	}
	if len(f.Items) != 2 || f.Items[0].Item != b || f.Items[1].Item != a || f.Items[0].Title != "B" || f.Region != headendtest.Region {
		t.Fatalf("forecast %+v, want B then A", f)
	}
	if _, f, _ := getForecast(t, h.URL+headend.PathForecast+"?region="+headendtest.Region+"&limit=1"); len(f.Items) != 1 || f.Items[0].Item != b {
		t.Fatalf("limit=1: %+v", f)
	}
	if _, f, _ := getForecast(t, h.URL+headend.PathForecast+"?region=nowhere"); len(f.Items) != 0 {
		t.Fatalf("unknown region: %+v", f)
	}
	for _, q := range []string{"", "?region=eu-west&limit=0", "?region=eu-west&limit=x", "?region=eu-west&limit=1001"} {
		if code, _, body := getForecast(t, h.URL+headend.PathForecast+q); code != http.StatusBadRequest || !strings.Contains(body, "region") && !strings.Contains(body, "limit") {
			t.Errorf("query %q: %d %s, want 400 naming the problem", q, code, body)
		}
	}
}
