package headend

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"swarmbox/cloud/keyvault"
	"swarmbox/cloud/repository"
	"swarmbox/cloud/store"
	"swarmbox/media"
	"swarmbox/sync/cloudclient"
	"swarmbox/sync/protocol"
)

type fixture struct {
	srv    *httptest.Server
	st     *store.Store
	item   store.Item
	client *cloudclient.Client // a registered box
	hs     *Server
	kem    *ecdh.PrivateKey
	vault  *keyvault.Vault
	signed int // sync requests the benchmark signed so far
}

func newFixture(t testing.TB) *fixture { t.Helper(); return newFixtureWith(t, nil) }

// newFixtureWith lets a test change the server's configuration before it starts.
func newFixtureWith(t testing.TB, configure func(*Config)) *fixture {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := store.Open(ctx, filepath.Join(dir, "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	v, repo, it := seedHeadend(t, dir, st)
	f := &fixture{st: st, item: it, vault: v}
	cfg := Config{Store: st, Vault: v, Repo: repo, PublicURL: "http://example.invalid"}
	if configure != nil {
		configure(&cfg)
	}
	f.hs = New(cfg)
	f.hs.Start(context.Background())
	t.Cleanup(f.hs.Close)
	f.srv = httptest.NewServer(f.hs.Handler())
	t.Cleanup(f.srv.Close)
	f.client = registerBox(t, f, "acct")
	return f
}

// seedHeadend makes a key vault and a repository in dir, ingests one title ("Film") into both
// and st, and creates the account "acct" (region eu, 1000 cents).
func seedHeadend(t testing.TB, dir string, st *store.Store) (*keyvault.Vault, *repository.Repository, store.Item) {
	t.Helper()
	ctx := context.Background()
	t.Setenv(keyvault.EnvMasterKey, "")
	v, err := keyvault.Open(filepath.Join(dir, "keys"))
	if err != nil {
		t.Fatal(err)
	}
	repo, err := repository.Open(filepath.Join(dir, "repo"))
	if err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(dir, "film")
	os.WriteFile(src, bytes.Repeat([]byte("swarmbox "), 100_000), 0o600)
	it, key, err := repo.Ingest(ctx, src, repository.IngestOptions{Title: "Film", Kind: protocol.KindVideo, PriceCents: 300})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.AddItem(ctx, it, v.Wrap(it.ID, key)); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateAccount(ctx, "acct", "eu", 1000, time.Now()); err != nil {
		t.Fatal(err)
	}
	return v, repo, it
}

// registerBox registers a new box under account; its KEM key becomes f.kem.
func registerBox(t testing.TB, f *fixture, account string) *cloudclient.Client {
	t.Helper()
	_, sk, _ := ed25519.GenerateKey(rand.Reader)
	f.kem, _ = ecdh.X25519().GenerateKey(rand.Reader)
	c := cloudclient.New(f.srv.URL, sk)
	if _, err := c.Register(context.Background(), enrollToken(t, f.st, account), f.kem.PublicKey().Bytes()); err != nil {
		t.Fatal(err)
	}
	return c
}

func headendKey(t *testing.T, f *fixture) ed25519.PublicKey {
	t.Helper()
	return f.vault.PublicKey()
}

// TestBadRequestsGet4xxJSON: malformed JSON, unknown ids, unauthenticated or forged requests and
// oversized bodies each get a 4xx with a JSON error body, and the server keeps serving.
func TestBadRequestsGet4xxJSON(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	signed := func(method, path string, body []byte) *http.Request {
		req, _ := http.NewRequest(method, f.srv.URL+path, bytes.NewReader(body))
		protocol.Sign(req, body, f.client.Box, f.client.Key, time.Now())
		return req
	}
	plain := func(method, path string, body []byte) *http.Request {
		req, _ := http.NewRequest(method, f.srv.URL+path, bytes.NewReader(body))
		return req
	}
	_, otherKey, _ := ed25519.GenerateKey(rand.Reader)
	forged := func(method, path string, body []byte) *http.Request {
		req := signed(method, path, body)
		protocol.Sign(req, body, f.client.Box, otherKey, time.Now()) // right box id, wrong key
		return req
	}
	stale := func(method, path string, body []byte) *http.Request {
		req, _ := http.NewRequest(method, f.srv.URL+path, bytes.NewReader(body))
		protocol.Sign(req, body, f.client.Box, f.client.Key, time.Now().Add(-time.Hour))
		return req
	}
	huge := bytes.Repeat([]byte("x"), protocol.MaxBody+1)
	unknownItem := media.ItemID{1, 2, 3}.String()
	tests := []struct {
		name   string
		req    *http.Request
		status int
	}{
		{"sync malformed JSON", signed("POST", protocol.PathSync, []byte(`{"wishlist": [`)), 400},
		{"sync unknown field", signed("POST", protocol.PathSync, []byte(`{"wishes": []}`)), 400},
		{"sync bad item id", signed("POST", protocol.PathSync, []byte(`{"wishlist": ["nothex"]}`)), 400},
		{"sync unsigned", plain("POST", protocol.PathSync, []byte(`{}`)), 401},
		{"sync forged signature", forged("POST", protocol.PathSync, []byte(`{}`)), 401},
		{"sync stale signature", stale("POST", protocol.PathSync, []byte(`{}`)), 401},
		{"sync oversized body", signed("POST", protocol.PathSync, huge), 413},
		{"sync bad peer address", signed("POST", protocol.PathSync, []byte(`{"peer_addr": "nowhere"}`)), 400},
		{"buy unknown item", signed("POST", protocol.PathBuy, []byte(`{"item":"`+unknownItem+`","kind":"owned","request_id":"r1"}`)), 404},
		{"buy bad kind", signed("POST", protocol.PathBuy, []byte(`{"item":"`+f.item.ID.String()+`","kind":"free","request_id":"r1"}`)), 400},
		{"buy unsigned", plain("POST", protocol.PathBuy, []byte(`{}`)), 401},
		{"item unknown", plain("GET", protocol.PathItems+unknownItem, nil), 404},
		{"item bad id", plain("GET", protocol.PathItems+"zz", nil), 400},
		{"torrent unsigned", plain("GET", protocol.PathItems+f.item.ID.String()+"/torrent", nil), 401},
		{"torrent unknown", signed("GET", protocol.PathItems+unknownItem+"/torrent", nil), 404},
		{"register malformed", plain("POST", protocol.PathRegister, []byte(`{"account":`)), 400},
		{"register bad key", plain("POST", protocol.PathRegister, []byte(`{"account":"acct","sign_key":"AAAA","kem_key":"AAAA"}`)), 400},
		{"register unsigned", plain("POST", protocol.PathRegister, mustJSON(protocol.RegisterRequest{SignKey: make([]byte, 32), KEMKey: f.kem.PublicKey().Bytes()})), 401},
		{"web seed forged token", plain("GET", protocol.PathSeed+f.client.Box.String()+"/abc/"+f.item.ID.String()+".sbx", nil), 401},
		{"no such endpoint", plain("GET", "/v2/everything", nil), 404},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := http.DefaultClient.Do(tc.req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d; body %s", resp.StatusCode, tc.status, body)
			}
			var e protocol.Error
			if err := json.Unmarshal(body, &e); err != nil || e.Error == "" || e.Code == "" {
				t.Fatalf("body %q is not a JSON error with a message and a code", body)
			}
		})
	}
	// Still serving, and the registered box still works.
	if _, err := f.client.Sync(ctx, protocol.SyncRequest{Wishlist: []media.ItemID{f.item.ID}, FreeBytes: 1 << 30}); err != nil {
		t.Fatalf("sync after the bad requests: %v", err)
	}
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// TestWebSeedOnlyWherePlanned: the web seed serves a container to the box the plan gives the
// server to, and refuses a box whose plan names peers instead.
func TestWebSeedOnlyWherePlanned(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	resp, err := f.client.Sync(ctx, protocol.SyncRequest{Wishlist: []media.ItemID{f.item.ID}, FreeBytes: 1 << 30})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Fetches) != 1 || resp.Fetches[0].WebSeed == "" {
		t.Fatalf("first box wishing an item nobody holds: fetches %+v, want one with the web seed", resp.Fetches)
	}
	seed := strings.Replace(resp.Fetches[0].WebSeed, "http://example.invalid", f.srv.URL, 1)
	get := func(url string) (int, []byte) {
		req, _ := http.NewRequest("GET", url, nil)
		req.Header.Set("Range", "bytes=10-19")
		r, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		b, _ := io.ReadAll(r.Body)
		return r.StatusCode, b
	}
	if code, b := get(seed); code != http.StatusPartialContent || len(b) != 10 {
		t.Fatalf("planned web seed range request: %d, %d bytes", code, len(b))
	}
	// Once the box holds the item, the plan no longer allows the server.
	syncProven(t, f.client, f.hs.cfg.Repo, protocol.SyncRequest{Wishlist: []media.ItemID{f.item.ID}, FreeBytes: 1 << 30,
		Holdings: []protocol.Holding{{Item: f.item.ID, Pieces: f.item.Pieces, Complete: true}}})
	if code, _ := get(seed); code != http.StatusForbidden {
		t.Fatalf("web seed after the plan moved on: status %d, want 403", code)
	}
}

// TestWebSeedShares: two boxes of a region wish an item nobody holds; the server's one copy is
// shared between them (protocol.Fetch.WebSeedPieces), and the web seed serves each box only the
// bytes of its own pieces, refusing other ranges (and requests without one) with 416.
func TestWebSeedShares(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	boxes := []*cloudclient.Client{f.client, registerBox(t, f, "acct")}
	want := protocol.SyncRequest{Wishlist: []media.ItemID{f.item.ID}, FreeBytes: 1 << 30}
	var grants []protocol.Fetch
	deadline := time.Now().Add(20 * time.Second)
	for len(grants) < 2 {
		want.FreeBytes++ // a request repeated within a second is refused as a replay
		if time.Now().After(deadline) {
			t.Fatalf("no shared server copy after 20 s; last grants %+v", grants)
		}
		grants = grants[:0]
		for _, c := range boxes {
			resp, err := c.Sync(ctx, want)
			if err != nil {
				t.Fatal(err)
			}
			if len(resp.Fetches) == 1 && resp.Fetches[0].WebSeed != "" && len(resp.Fetches[0].WebSeedPieces) == 1 {
				grants = append(grants, resp.Fetches[0])
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	a, b := grants[0].WebSeedPieces[0], grants[1].WebSeedPieces[0]
	if a.Begin < b.End && b.Begin < a.End {
		t.Fatalf("shares %v and %v overlap", a, b)
	}
	pl := repository.PieceLength(f.item.SealedSize)
	get := func(g protocol.Fetch, rng string) int {
		req, _ := http.NewRequest("GET", strings.Replace(g.WebSeed, "http://example.invalid", f.srv.URL, 1), nil)
		if rng != "" {
			req.Header.Set("Range", rng)
		}
		r, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, r.Body)
		r.Body.Close()
		return r.StatusCode
	}
	span := func(r protocol.PieceRange) string {
		return fmt.Sprintf("bytes=%d-%d", int64(r.Begin)*pl, min(int64(r.End)*pl, f.item.SealedSize)-1)
	}
	for i, g := range grants {
		own, other := g.WebSeedPieces[0], grants[1-i].WebSeedPieces[0]
		if code := get(g, span(own)); code != http.StatusPartialContent {
			t.Errorf("box %d, its own pieces %v: status %d, want 206", i, own, code)
		}
		if code := get(g, span(other)); code != http.StatusRequestedRangeNotSatisfiable {
			t.Errorf("box %d, the other box's pieces %v: status %d, want 416", i, other, code)
		}
		if code := get(g, ""); code != http.StatusRequestedRangeNotSatisfiable {
			t.Errorf("box %d, the whole container: status %d, want 416", i, code)
		}
	}
}

// TestBuyIsIdempotentAndChecksBalance: a retried buy charges once; a buy beyond the balance is
// refused with 402 and charges nothing.
func TestBuyIsIdempotentAndChecksBalance(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	req := protocol.BuyRequest{Item: f.item.ID, Kind: media.Owned, RequestID: "retry-me"}
	first, err := f.client.Buy(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	again, err := f.client.Buy(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if first.ChargedCents != 300 || again.ChargedCents != 0 || !bytes.Equal(first.License, again.License) {
		t.Fatalf("retry: charged %d then %d; same license %v", first.ChargedCents, again.ChargedCents, bytes.Equal(first.License, again.License))
	}
	acct, _ := f.st.Account(ctx, "acct")
	if acct.BalanceCents != 700 {
		t.Fatalf("balance %d after one purchase of 300 from 1000", acct.BalanceCents)
	}
	// Rentals cost 100 each: seven boxes of the household rent, which fits in the 700 left; the
	// eighth does not. (One box renting again while its rental is valid is not charged.)
	for i := range 8 {
		_, err = registerBox(t, f, "acct").Buy(ctx, protocol.BuyRequest{Item: f.item.ID, Kind: media.Rental, RequestID: "more-" + string(rune('a'+i))})
		if i < 7 && err != nil {
			t.Fatalf("rental %d: %v", i, err)
		}
	}
	var api *cloudclient.APIError
	if !asAPI(err, &api) || api.Status != http.StatusPaymentRequired {
		t.Fatalf("rental with nothing left: err %v, want 402", err)
	}
	acct, _ = f.st.Account(ctx, "acct")
	if acct.BalanceCents != 0 {
		t.Fatalf("balance %d, want 0 (refused buy must not charge)", acct.BalanceCents)
	}
}

func asAPI(err error, target **cloudclient.APIError) bool {
	e, ok := err.(*cloudclient.APIError)
	if ok {
		*target = e
	}
	return ok
}
