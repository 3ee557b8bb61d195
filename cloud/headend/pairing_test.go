package headend

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"swarmbox/cloud/store"
	"swarmbox/media"
	"swarmbox/sync/cloudclient"
	"swarmbox/sync/protocol"
)

// unpairedClient registers a new box with no enrollment token.
func unpairedClient(t *testing.T, f *fixture) (*cloudclient.Client, protocol.RegisterResponse) {
	t.Helper()
	_, sk, _ := ed25519.GenerateKey(rand.Reader)
	kem, _ := ecdh.X25519().GenerateKey(rand.Reader)
	c := cloudclient.New(f.srv.URL, sk)
	resp, err := c.Register(context.Background(), "", kem.PublicKey().Bytes())
	if err != nil {
		t.Fatal(err)
	}
	return c, resp
}

// signedRaw sends body to path signed by a new key that the body may or may not register.
func signedRaw(t *testing.T, url, path string, body []byte, sk ed25519.PrivateKey) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", url+path, bytes.NewReader(body))
	protocol.Sign(req, body, media.BoxIDFromKey(sk.Public().(ed25519.PublicKey)), sk, time.Now())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestRegistrationRevealsNoAccount: registration takes no account name, so no answer can tell
// whether one exists: a body naming an existing account and one naming a made-up one get the
// same refusal, byte for byte; a box registers unpaired (no account, no region) with a code; a
// made-up enrollment token and one of a closed account are refused alike.
func TestRegistrationRevealsNoAccount(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	kem, _ := ecdh.X25519().GenerateKey(rand.Reader)
	var answers []string
	for _, name := range []string{"acct", "nobody"} {
		_, sk, _ := ed25519.GenerateKey(rand.Reader)
		body := mustJSON(map[string]any{"account": name, "sign_key": sk.Public(), "kem_key": kem.PublicKey().Bytes()})
		status, answer := signedRaw(t, f.srv.URL, protocol.PathRegister, body, sk)
		if status != http.StatusBadRequest {
			t.Fatalf("registration naming %q: %d %s, want 400", name, status, answer)
		}
		answers = append(answers, answer)
	}
	if answers[0] != answers[1] {
		t.Fatalf("an existing and a made-up account are answered differently:\n%s\n%s", answers[0], answers[1])
	}

	_, resp := unpairedClient(t, f)
	if resp.Account != "" || resp.Region != "" || resp.Pairing == nil || resp.Pairing.Paired ||
		!strings.HasPrefix(resp.Pairing.PairURL, "http://example.invalid/pair") || resp.Pairing.IntervalSeconds <= 0 ||
		len(resp.Pairing.Code) != 9 || !resp.Pairing.Expires.After(time.Now()) {
		t.Fatalf("unpaired registration answer %+v (pairing %+v)", resp, resp.Pairing)
	}

	if err := f.st.CreateAccount(ctx, "gone", "eu", 0, time.Now()); err != nil {
		t.Fatal(err)
	}
	goneTok := enrollToken(t, f.st, "gone")
	if _, err := f.st.SetStatus(ctx, "gone", store.StatusClosed, time.Now()); err != nil {
		t.Fatal(err)
	}
	answers = answers[:0]
	for _, tok := range []string{"made-up-token", goneTok} {
		_, sk, _ := ed25519.GenerateKey(rand.Reader)
		status, answer := signedRaw(t, f.srv.URL, protocol.PathRegister, mustJSON(protocol.RegisterRequest{
			SignKey: sk.Public().(ed25519.PublicKey), KEMKey: kem.PublicKey().Bytes(), Enroll: tok}), sk)
		if status != http.StatusForbidden || !strings.Contains(answer, "enroll_refused") {
			t.Fatalf("token %q: %d %s, want 403 enroll_refused", tok, status, answer)
		}
		answers = append(answers, answer)
	}
	if answers[0] != answers[1] {
		t.Fatalf("a made-up token and a closed account's are answered differently:\n%s\n%s", answers[0], answers[1])
	}
}

// TestUnpairedBoxCannotBuy: an unpaired box syncs (planned nothing, its account shown as
// unpaired) and asks for its code, but buy answers 403 not_paired saying how to pair; once the
// operator pairs it with the code the next buy is sold and its sync carries the account; after
// unpairing buys are refused again and it gets a new code.
func TestUnpairedBoxCannotBuy(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	c, reg := unpairedClient(t, f)
	buy := func(id string) error {
		_, err := c.Buy(ctx, protocol.BuyRequest{Item: f.item.ID, Kind: media.Owned, RequestID: id})
		return err
	}
	var api *cloudclient.APIError
	if err := buy("b1"); !errors.As(err, &api) || api.Status != http.StatusForbidden || api.Code != "not_paired" ||
		!strings.Contains(api.Message, "http://example.invalid/pair") {
		t.Fatalf("unpaired buy: %v, want 403 not_paired saying where to pair", err)
	}
	sr, err := c.Sync(ctx, protocol.SyncRequest{Wishlist: []media.ItemID{f.item.ID}, FreeBytes: 1 << 30})
	if err != nil || len(sr.Fetches) != 0 || sr.Account == nil || sr.Account.ID != "" || sr.Account.Status != "unpaired" || sr.Accept == nil {
		t.Fatalf("unpaired sync %+v %v: want no fetches, strict accept, account unpaired", sr, err)
	}
	st, err := c.Pairing(ctx, false)
	if err != nil || st.Paired || st.Code != reg.Pairing.Code {
		t.Fatalf("pairing question %+v %v, want the registration's code %s", st, err, reg.Pairing.Code)
	}
	if _, err := f.st.PairByCode(ctx, store.PairRequest{Code: st.Code, Account: "acct", By: "operator", Now: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if st, err := c.Pairing(ctx, false); err != nil || !st.Paired || st.Account != "acct" || st.Region != "eu" || st.Code != "" {
		t.Fatalf("after pairing: %+v %v", st, err)
	}
	if err := buy("b2"); err != nil {
		t.Fatalf("paired buy: %v", err)
	}
	// The account carries the head-end's currency and rental length, which the TV shows
	// before a purchase (UI-2).
	if sr, err := c.Sync(ctx, protocol.SyncRequest{FreeBytes: 1 << 30}); err != nil || sr.Account == nil || sr.Account.ID != "acct" || sr.Account.Status != store.StatusActive ||
		sr.Account.Currency != "EUR" || sr.Account.RentalSeconds != 48*3600 {
		t.Fatalf("paired sync account %+v %v", sr.Account, err)
	}
	if err := f.st.Unpair(ctx, c.Box, "", "operator", "", time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := buy("b3"); !errors.As(err, &api) || api.Code != "not_paired" {
		t.Fatalf("buy after unpairing: %v, want not_paired", err)
	}
	if st, err := c.Pairing(ctx, false); err != nil || st.Paired || st.Code == "" || st.Code == reg.Pairing.Code {
		t.Fatalf("after unpairing: %+v %v, want a new code", st, err)
	}
}

// FuzzPairingRequest: whatever body a registered box sends to the pairing endpoint, the
// head-end answers 200 with its state or 400, never a 5xx, and keeps serving.
func FuzzPairingRequest(f *testing.F) {
	fx := newFixture(f)
	_, sk, _ := ed25519.GenerateKey(rand.Reader)
	kem, _ := ecdh.X25519().GenerateKey(rand.Reader)
	c := cloudclient.New(fx.srv.URL, sk)
	if _, err := c.Register(context.Background(), "", kem.PublicKey().Bytes()); err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{`{}`, `{"new_code":true}`, `{"new_code":"yes"}`, `{"account":"acct"}`, `[]`, ``, `{"new_code":false}{}`, `null`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		status, answer := signedRaw(t, fx.srv.URL, protocol.PathPairing, body, sk)
		switch {
		case status == http.StatusOK:
			if !strings.Contains(answer, `"paired":false`) || !strings.Contains(answer, `"code":"`) {
				t.Fatalf("200 without the state: %s", answer)
			}
		case status == http.StatusBadRequest:
		default:
			t.Fatalf("body %q: %d %s", body, status, answer)
		}
	})
}
