package headend

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"net/http"
	"testing"
	"time"

	"swarmbox/cloud/store"
	"swarmbox/media"
	"swarmbox/sync/cloudclient"
	"swarmbox/sync/protocol"
)

// TestLowOrderKeyRefusedAtRegistration: a box offering a low-order (all-zero) X25519 key is
// refused with 400 and not registered; a box whose stored key is such a key (registered before
// keys were checked) gets a 409 naming the remedy on every buy, never a 500, and is charged
// nothing.
func TestLowOrderKeyRefusedAtRegistration(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	_, sk, _ := ed25519.GenerateKey(rand.Reader)
	c := cloudclient.New(f.srv.URL, sk)
	_, err := c.Register(ctx, "acct", make([]byte, 32))
	var api *cloudclient.APIError
	if !errors.As(err, &api) || api.Status != http.StatusBadRequest {
		t.Fatalf("registering an all-zero KEM key: %v, want 400", err)
	}
	if _, err := f.st.Box(ctx, c.Box); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the refused box is stored: %v", err)
	}
	// A box stored with such a key by an older head-end.
	if _, err := f.st.RegisterBox(ctx, store.Box{ID: c.Box, Account: "acct", SignKey: sk.Public().(ed25519.PublicKey), KEMKey: make([]byte, 32), Registered: time.Now()}); err != nil {
		t.Fatal(err)
	}
	for i, kind := range []media.LicenseKind{media.Owned, media.Rental} {
		_, err := c.Buy(ctx, protocol.BuyRequest{Item: f.item.ID, Kind: kind, RequestID: "r" + string(rune('0'+i))})
		if !errors.As(err, &api) || api.Status != http.StatusConflict || api.Code != "bad_box_key" {
			t.Fatalf("buy (%s) from a box with a stored low-order key: %v, want 409 bad_box_key", kind, err)
		}
	}
	if acct, err := f.st.Account(ctx, "acct"); err != nil || acct.BalanceCents != 1000 {
		t.Fatalf("account after the refused buys: %+v, %v; want 1000 cents untouched", acct, err)
	}
}
