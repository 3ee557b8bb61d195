package headend

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"swarmbox/cloud/keyvault"
	"swarmbox/cloud/repository"
	"swarmbox/cloud/store"
	"swarmbox/internal/testenv"
	"swarmbox/media"
	"swarmbox/sync/cloudclient"
	"swarmbox/sync/protocol"
)

// instance is one head-end instance of a shared-database deployment: its own store connections,
// planner and HTTP server.
type instance struct {
	hs   *Server
	srv  *httptest.Server
	stop context.CancelFunc // ends the planning loop without releasing leases: the instance dies
}

type cluster struct {
	dsn   string
	vault *keyvault.Vault
	repo  *repository.Repository
	item  store.Item
}

func newCluster(t *testing.T, dsn string) *cluster {
	t.Helper()
	st, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	v, repo, it := seedHeadend(t, t.TempDir(), st)
	return &cluster{dsn: dsn, vault: v, repo: repo, item: it}
}

// start starts an instance; its lease lasts ttl, renewed every ttl/10.
func (c *cluster) start(t *testing.T, name string, ttl time.Duration) *instance {
	t.Helper()
	st, err := store.Open(context.Background(), c.dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	hs := New(Config{Store: st, Vault: c.vault, Repo: c.repo, PublicURL: "http://example.invalid", Instance: name,
		PlanPoll: ttl / 10, LeaseTTL: ttl, RoundInterval: ttl / 5})
	ctx, cancel := context.WithCancel(context.Background())
	hs.Start(ctx)
	t.Cleanup(hs.Close)
	srv := httptest.NewServer(hs.Handler())
	t.Cleanup(srv.Close)
	return &instance{hs: hs, srv: srv, stop: cancel}
}

func (in *instance) client(t *testing.T, key ed25519.PrivateKey) *cloudclient.Client {
	return cloudclient.New(in.srv.URL, key)
}

// holds reports whether the instance plans the region, and whether it has a plan at all.
func (in *instance) holds(region string) (holder, planned bool) {
	rp := in.hs.planner.region(region, false)
	if rp == nil {
		return false, false
	}
	rp.mu.Lock()
	defer rp.mu.Unlock()
	return rp.holder && rp.state != nil, rp.state != nil || rp.published != nil
}

func waitUntil(t *testing.T, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestPostgresTwoInstancesSharePlanning: two head-end instances on one PostgreSQL database. The
// first to start plans the region; the other answers syncs from the plan it publishes (a box
// syncing with the second instance is sent to the holder that synced with the first). When the
// planning instance dies, its lease runs out and the other takes the region over; a clean stop
// hands the lease over at once. A sync replayed to the other instance is refused.
func TestPostgresTwoInstancesSharePlanning(t *testing.T) {
	pg := testenv.Postgres(t)
	c := newCluster(t, pg.Database(t))
	ctx := context.Background()
	const ttl = 2 * time.Second
	a := c.start(t, "a", ttl)
	b := c.start(t, "b", ttl)
	if held, _ := a.holds("eu"); !held {
		t.Fatal("the first instance does not plan the region")
	}
	if held, planned := b.holds("eu"); held || !planned {
		t.Fatalf("second instance: plans %v, has a plan %v; want no and yes (the published one)", held, planned)
	}

	register := func(in *instance) *cloudclient.Client {
		_, sk, _ := ed25519.GenerateKey(rand.Reader)
		kem, _ := ecdh.X25519().GenerateKey(rand.Reader)
		cl := in.client(t, sk)
		if _, err := cl.Register(ctx, enrollToken(t, in.hs.cfg.Store, "acct"), kem.PublicKey().Bytes()); err != nil {
			t.Fatal(err)
		}
		return cl
	}
	holder, wisher := register(a), register(b)
	it := c.item
	syncProven(t, holder, c.repo, protocol.SyncRequest{PeerAddr: "127.0.0.2:6881", FreeBytes: 1 << 30,
		Holdings: []protocol.Holding{{Item: it.ID, Pieces: it.Pieces, Complete: true}}})
	n := int64(0)
	wishSync := func(cl *cloudclient.Client) protocol.SyncResponse {
		t.Helper()
		n++ // a request signed in the same second with the same body would be a replay
		resp, err := cl.Sync(ctx, protocol.SyncRequest{PeerAddr: "127.0.0.3:6882", FreeBytes: 1<<30 - n, Wishlist: []media.ItemID{it.ID}})
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	fromHolder := func(resp protocol.SyncResponse) bool {
		return len(resp.Fetches) == 1 && len(resp.Fetches[0].Peers) == 1 && resp.Fetches[0].Peers[0].Box == holder.Box &&
			resp.Fetches[0].Peers[0].Addr == "127.0.0.1:6881" // where the holder's syncs came from
	}
	// The wishing box syncs with the instance that does not plan: it gets the fetch once the
	// planning instance's next round is published.
	waitUntil(t, "the published plan to send the wishing box to the holder", func() bool { return fromHolder(wishSync(wisher)) })
	if held, _ := b.holds("eu"); held {
		t.Fatal("the second instance planned while the first held the lease")
	}

	// The same signed sync sent to both instances: the second one refuses it.
	body := []byte(`{"wishlist":[],"holdings":[],"free_bytes":1,"transfers":[]}`)
	sign := func(in *instance) *http.Request {
		req, _ := http.NewRequest("POST", in.srv.URL+protocol.PathSync, bytes.NewReader(body))
		return req
	}
	ra, rb := sign(a), sign(b)
	now := time.Now()
	protocol.Sign(ra, body, holder.Box, holder.Key, now)
	protocol.Sign(rb, body, holder.Box, holder.Key, now)
	for i, r := range []*http.Request{ra, rb} {
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		out, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if want := []int{200, 401}[i]; resp.StatusCode != want || (i == 1 && !strings.Contains(string(out), "replayed")) {
			t.Fatalf("send %d: %d %s, want %d", i+1, resp.StatusCode, out, want)
		}
	}

	// The planning instance dies (its loop stops without giving the lease up): once the lease
	// runs out the second instance plans the region, re-planning boxes as they sync.
	a.stop()
	<-a.hs.planner.done
	a.srv.Close()
	waitUntil(t, "the second instance to take the region over", func() bool { held, _ := b.holds("eu"); return held })
	holder = b.client(t, holder.Key)
	syncProven(t, holder, c.repo, protocol.SyncRequest{PeerAddr: "127.0.0.2:6881", FreeBytes: 1 << 30,
		Holdings: []protocol.Holding{{Item: it.ID, Pieces: it.Pieces, Complete: true}}})
	if resp := wishSync(wisher); !fromHolder(resp) {
		t.Fatalf("after the take-over: %+v, want a fetch from the holder", resp.Fetches)
	}

	// A clean stop hands the lease over without waiting for it to run out.
	b.hs.Close()
	c3 := c.start(t, "c", time.Hour)
	if held, _ := c3.holds("eu"); !held {
		t.Fatal("a new instance did not take the lease the stopped one released")
	}
}
