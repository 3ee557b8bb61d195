package headend

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/anacrolix/torrent/bencode"
	httpTracker "github.com/anacrolix/torrent/tracker/http"

	"swarmbox/cloud/repository"
	"swarmbox/media"
	"swarmbox/sync/protocol"
)

// The fuzz targets below send what a hostile box or stranger controls through the head-end's
// real handler (SQLite store, key vault, planner): each request body it parses (register, sync,
// buy), the announce query and the web seed's path and range headers. None may get a 5xx or
// panic, and what the handler accepts must be well-formed.

// serve runs req through h from the loopback address the fixture's box syncs from.
func serve(h http.Handler, req *http.Request) *httptest.ResponseRecorder {
	req.RemoteAddr = "127.0.0.1:40000"
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

// signedRequest is a request of the fixture's box with body, signed.
func signedRequest(f *fixture, method, path string, body []byte) *http.Request {
	r := httptest.NewRequest(method, path, bytes.NewReader(body))
	protocol.Sign(r, body, f.client.Box, f.client.Key, time.Now())
	return r
}

func FuzzRegisterBody(f *testing.F) {
	fx := newFixture(f)
	h := fx.hs.Handler()
	kem, _ := ecdh.X25519().GenerateKey(rand.Reader)
	f.Add("acct", kem.PublicKey().Bytes(), []byte(`{"account":"acct","sign_key":"AAAA","kem_key":"AAAA"}`))
	f.Add("", make([]byte, 32), []byte(`{`))
	f.Add("nobody", []byte{1}, []byte(`{"account":1}`))
	f.Add(strings.Repeat("a", 300), bytes.Repeat([]byte{0xff}, 32), []byte(`null`))
	f.Fuzz(func(t *testing.T, account string, kemKey, raw []byte) {
		// A well-signed registration with fuzzed fields reaches the checks past the signature.
		pub, sk, _ := ed25519.GenerateKey(rand.Reader)
		body, _ := json.Marshal(protocol.RegisterRequest{Enroll: account, SignKey: pub, KEMKey: kemKey})
		req := httptest.NewRequest("POST", protocol.PathRegister, bytes.NewReader(body))
		// The box id is the signing key's hash: register proves possession with it.
		protocol.Sign(req, body, media.BoxIDFromKey(pub), sk, time.Now())
		w := serve(h, req)
		if w.Code >= 500 {
			t.Fatalf("register %q: %d %s", body, w.Code, w.Body)
		}
		if w.Code == http.StatusOK && protocol.CheckKEMKey(kemKey) != nil {
			t.Fatalf("registered an unusable KEM key %x", kemKey)
		}
		// A raw body, signed by the fixture's box.
		if w := serve(h, signedRequest(fx, "POST", protocol.PathRegister, raw)); w.Code >= 500 {
			t.Fatalf("register raw %q: %d %s", raw, w.Code, w.Body)
		}
	})
}

func FuzzSyncBody(f *testing.F) {
	fx := newFixture(f)
	h := fx.hs.Handler()
	it := fx.item.ID.String()
	f.Add([]byte(`{"wishlist":["` + it + `"],"holdings":[],"free_bytes":1073741824,"transfers":[]}`))
	f.Add([]byte(`{"holdings":[{"item":"` + it + `","pieces":-1}],"transfers":[{"item":"` + it + `","bytes_from_peers":9223372036854775807}]}`))
	f.Add([]byte(`{"peer_addr":"0.0.0.0:0","areas":[{"area":"cache","quota":-1}],"neighbors":[{"box":"00","addr":"x"}]}`))
	f.Add([]byte(`{"holdings":[{"item":"` + it + `","pieces":1,"area":"cache","range":{"begin":3,"end":1}}],"wishlist_version":-5}`))
	f.Add([]byte(`{"peer_rates":[{"box":"` + fx.client.Box.String() + `","bytes":1,"bytes_per_second":1}],"uplink_bps":1}`))
	f.Add([]byte(`{"transfers":[{"item":"` + it + `","bad_sources":[{"box":"` + fx.client.Box.String() + `","pieces":2},{"box":"00","pieces":-1}]}]}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		w := serve(h, signedRequest(fx, "POST", protocol.PathSync, body))
		if w.Code >= 500 {
			t.Fatalf("sync %q: %d %s", body, w.Code, w.Body)
		}
		if w.Code == http.StatusOK {
			var resp protocol.SyncResponse
			if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil {
				t.Fatalf("sync %q answered 200 with %q: %v", body, w.Body, err)
			}
		}
	})
}

func FuzzBuyBody(f *testing.F) {
	fx := newFixture(f)
	h := fx.hs.Handler()
	it := fx.item.ID.String()
	f.Add([]byte(`{"item":"` + it + `","kind":"owned","request_id":"r1"}`))
	f.Add([]byte(`{"item":"` + it + `","kind":"rental","request_id":""}`))
	f.Add([]byte(`{"item":"00","kind":"free","request_id":"` + strings.Repeat("x", 500) + `"}`))
	f.Add([]byte(`{"item":"` + it + `","kind":"rental","request_id":"r1","extra":1}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		w := serve(h, signedRequest(fx, "POST", protocol.PathBuy, body))
		if w.Code >= 500 {
			t.Fatalf("buy %q: %d %s", body, w.Code, w.Body)
		}
		if w.Code == http.StatusOK {
			var resp protocol.BuyResponse
			if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil || len(resp.License) == 0 || resp.ChargedCents < 0 || resp.BalanceCents < 0 {
				t.Fatalf("buy %q answered 200 with %q (%v)", body, w.Body, err)
			}
		}
	})
}

func FuzzAnnounceQuery(f *testing.F) {
	fx := newFixture(f)
	h := fx.hs.Handler()
	token := fx.vault.Token("announce", fx.client.Box.String())
	f.Add("box=" + fx.client.Box.String() + "&token=" + token + "&info_hash=" + url.QueryEscape(strings.Repeat("\x01", 20)))
	f.Add("box=" + fx.client.Box.String() + "&token=" + token + "&info_hash=short")
	f.Add("info_hash=aaaaaaaaaaaaaaaaaaaa")
	f.Add("box=zz&token=%ff&info_hash=%")
	f.Add("")
	f.Fuzz(func(t *testing.T, query string) {
		req := httptest.NewRequest("GET", "/", nil)
		req.URL = &url.URL{Path: protocol.PathAnnounce, RawQuery: query}
		w := serve(h, req)
		if w.Code != http.StatusOK {
			t.Fatalf("announce %q: status %d %s, want 200 (BEP 3 answers refusals in the body)", query, w.Code, w.Body)
		}
		var resp httpTracker.HttpResponse
		if err := bencode.Unmarshal(w.Body.Bytes(), &resp); err != nil {
			t.Fatalf("announce %q: answer %q is not bencoded: %v", query, w.Body, err)
		}
	})
}

func FuzzWebSeedRequest(f *testing.F) {
	fx := newFixture(f)
	h := fx.hs.Handler()
	grants := sharedGrants(f, fx)
	pl := repository.PieceLength(fx.item.SealedSize)
	type share struct {
		path       string
		begin, end int64 // the bytes the box may get
	}
	var shares []share
	for _, g := range grants {
		u, err := url.Parse(g.WebSeed)
		if err != nil {
			f.Fatal(err)
		}
		r := g.WebSeedPieces[0]
		shares = append(shares, share{u.Path, int64(r.Begin) * pl, min(int64(r.End)*pl, fx.item.SealedSize)})
	}
	tokenOf := func(path string) string { return strings.Split(strings.TrimPrefix(path, protocol.PathSeed), "/")[1] }
	f.Add(uint8(0), "", "bytes=0-99", `"x"`)
	f.Add(uint8(1), "", "bytes=-100", "")
	f.Add(uint8(0), "", "bytes=0-", "Mon, 02 Jan 2006 15:04:05 GMT")
	f.Add(uint8(1), "", "bytes=0-9,100-199", `W/"x"`)
	f.Add(uint8(0), "9999999999.AAAA", "bytes=0-99", "")
	f.Add(uint8(1), "abc", "", "")
	f.Fuzz(func(t *testing.T, which uint8, token, rng, ifRange string) {
		s := shares[int(which)%len(shares)]
		path := s.path
		if token != "" {
			path = strings.Replace(path, tokenOf(path), url.PathEscape(token), 1)
		}
		req := httptest.NewRequest("GET", "/", nil)
		req.URL = &url.URL{Path: path}
		if rng != "" {
			req.Header.Set("Range", rng)
		}
		if ifRange != "" {
			req.Header.Set("If-Range", ifRange)
		}
		w := serve(h, req)
		switch {
		case w.Code >= 500:
			t.Fatalf("seed %s Range %q If-Range %q: %d %s", path, rng, ifRange, w.Code, w.Body)
		case w.Code == http.StatusOK:
			t.Fatalf("seed %s Range %q If-Range %q: 200 with %d bytes; a shared copy is served only by range", path, rng, ifRange, w.Body.Len())
		case w.Code == http.StatusPartialContent:
			var first, last, size int64
			if _, err := fmt.Sscanf(w.Header().Get("Content-Range"), "bytes %d-%d/%d", &first, &last, &size); err != nil {
				t.Fatalf("206 with Content-Range %q: %v", w.Header().Get("Content-Range"), err)
			}
			if first < s.begin || last+1 > s.end || int64(w.Body.Len()) != last+1-first {
				t.Fatalf("seed Range %q If-Range %q: served bytes %d-%d (%d in the body) outside the share [%d,%d)",
					rng, ifRange, first, last, w.Body.Len(), s.begin, s.end)
			}
		}
	})
}
