package transfer

import (
	"bytes"
	"context"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	tstorage "github.com/anacrolix/torrent/storage"

	"swarmbox/internal/torrenttest"
	"swarmbox/media"
	"swarmbox/storage"
	"swarmbox/sync/protocol"
)

func newEngine(t *testing.T, host string, dir string) *Engine {
	t.Helper()
	e, err := New(Config{MediaDir: dir, ListenAddr: host + ":0", Completion: tstorage.NewMapPieceCompletion()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func TestFetchFromNamedPeer(t *testing.T) {
	data := make([]byte, 3<<20+12345)
	rand.Read(data)
	var item media.ItemID
	item[0] = 1
	seedDir, getDir := t.TempDir(), t.TempDir()
	tb := torrenttest.Private(t, seedDir, item.String()+".sbx", data, 256<<10)

	seeder := newEngine(t, "127.0.0.2", seedDir)
	if err := seeder.Seed(item, tb); err != nil {
		t.Fatal(err)
	}
	leecher := newEngine(t, "127.0.0.3", getDir)
	if err := leecher.Fetch(item, tb, protocol.Fetch{Item: item, Peers: []protocol.Peer{{Addr: seeder.Addr()}}}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := leecher.WaitComplete(ctx, item); err != nil {
		st, _ := leecher.Status(item)
		t.Fatalf("fetch from a named peer: %v (status %+v)", err, st)
	}
	got, err := os.ReadFile(filepath.Join(getDir, item.String()+".sbx"))
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("fetched file differs (err %v)", err)
	}
	st, _ := leecher.Status(item)
	if st.BytesFromPeers < int64(len(data)) || st.BytesFromServer != 0 {
		t.Fatalf("status %+v: want all %d bytes from peers", st, len(data))
	}
}

func TestFetchChainWithSQLiteCompletion(t *testing.T) {
	data := make([]byte, 3<<20+12345)
	rand.Read(data)
	var item media.ItemID
	item[0] = 2
	dirs := []string{t.TempDir(), t.TempDir(), t.TempDir()}
	tb := torrenttest.Private(t, dirs[0], item.String()+".sbx", data, 256<<10)
	var engines []*Engine
	for i, d := range dirs {
		st, err := storage.Open(context.Background(), d)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		if i == 0 {
			os.Rename(filepath.Join(d, item.String()+".sbx"), st.ContainerPath(item))
		}
		e, err := New(Config{MediaDir: st.MediaDir(), ListenAddr: "127.0.0." + string(rune('2'+i)) + ":0", Completion: st.PieceCompletion()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { e.Close() })
		engines = append(engines, e)
	}
	engines[0].Seed(item, tb)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	engines[1].Fetch(item, tb, protocol.Fetch{Item: item, Peers: []protocol.Peer{{Addr: engines[0].Addr()}}})
	if err := engines[1].WaitComplete(ctx, item); err != nil {
		t.Fatal(err)
	}
	engines[2].Fetch(item, tb, protocol.Fetch{Item: item, Peers: []protocol.Peer{{Addr: engines[1].Addr()}}})
	if err := engines[2].WaitComplete(ctx, item); err != nil {
		st, _ := engines[2].Status(item)
		t.Fatalf("second hop: %v (status %+v)", err, st)
	}
}

func TestWebSeedThenPeer(t *testing.T) {
	data := make([]byte, 8<<20+12345)
	rand.Read(data)
	var item media.ItemID
	item[0] = 3
	srcDir := t.TempDir()
	tb := torrenttest.Private(t, srcDir, item.String()+".sbx", data, 256<<10)
	hs := httptest.NewServer(http.FileServer(http.Dir(srcDir)))
	defer hs.Close()
	var engines []*Engine
	for i := range 2 {
		st, err := storage.Open(context.Background(), t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		e, err := New(Config{MediaDir: st.MediaDir(), ListenAddr: "127.0.0." + string(rune('2'+i)) + ":0", Completion: st.PieceCompletion()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { e.Close() })
		engines = append(engines, e)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	engines[0].Fetch(item, tb, protocol.Fetch{Item: item, WebSeed: hs.URL + "/" + item.String() + ".sbx"})
	time.Sleep(100 * time.Millisecond)
	engines[1].Fetch(item, tb, protocol.Fetch{Item: item, Peers: []protocol.Peer{{Addr: engines[0].Addr()}}})
	if err := engines[0].WaitComplete(ctx, item); err != nil {
		t.Fatal(err)
	}
	if err := engines[1].WaitComplete(ctx, item); err != nil {
		st, _ := engines[1].Status(item)
		var b bytes.Buffer
		engines[0].WriteStatus(&b)
		b.WriteString("\n=== leecher\n")
		engines[1].WriteStatus(&b)
		t.Fatalf("peer after web seed: %v (status %+v)\n%s", err, st, b.String())
	}
}

// TestWebSeedRegrantIsFresh: a web seed the plan withdrew and allows again is added under a new
// URL, because the torrent library keeps a refused web seed suspended and cannot drop it.
func TestWebSeedRegrantIsFresh(t *testing.T) {
	e := &Engine{seeds: map[media.ItemID]webSeedGrant{}}
	var item media.ItemID
	steps := []struct {
		plan    string
		wantURL string
		add     bool
	}{
		{"http://h/seed/a.sbx", "http://h/seed/a.sbx", true},
		{"http://h/seed/a.sbx", "", false}, // the same grant again: nothing to add
		{"", "", false},                    // withdrawn
		{"http://h/seed/a.sbx", "http://h/seed/a.sbx?grant=2", true},
		{"http://h/seed/a.sbx", "", false},
		{"", "", false},
		{"http://h/seed/a.sbx?t=1", "http://h/seed/a.sbx?t=1&grant=3", true},
	}
	for i, s := range steps {
		if s.plan == "" {
			e.Unplanned(item)
			continue
		}
		url, add := e.grantWebSeed(item, s.plan)
		if url != s.wantURL || add != s.add {
			t.Errorf("step %d: grant %q = %q, %v; want %q, %v", i, s.plan, url, add, s.wantURL, s.add)
		}
	}
}

// TestRequestsPerPeerCapped: a box keeps at most maxRequestsPerPeer chunk requests outstanding
// with a peer, even when the peer's slow uplink lets requests pile up (the library would keep
// up to ~960, 15 MiB the serving box holds in memory).
func TestRequestsPerPeerCapped(t *testing.T) {
	seedDir := t.TempDir()
	item, _, tb := newItem(t, 10, 8<<20, seedDir)
	seeder, err := New(Config{MediaDir: seedDir, ListenAddr: "127.0.0.2:0", Completion: tstorage.NewMapPieceCompletion(), UploadBytesPerSecond: 4 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer seeder.Close()
	seeder.Seed(item, tb)
	seeded(t, seeder, item)
	leecher := newEngine(t, "127.0.0.3", t.TempDir())
	leecher.Fetch(item, tb, protocol.Fetch{Item: item, Peers: []protocol.Peer{{Addr: seeder.Addr()}}})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	mustComplete(t, ctx, item, leecher, seeder)
	if n := leecher.MaxRequestsOutstanding(); n == 0 || n > maxRequestsPerPeer {
		t.Fatalf("at most %d chunk requests were outstanding with the seeder; want 1..%d", n, maxRequestsPerPeer)
	}
}

// TestOnlyNamedPeersAreSources: a box downloads only from the peers the plan names for the item
// (and LAN neighbours). Another box that connected to it to be served (a relay holding half the
// item) sends it nothing: its haves are hidden, so the client never asks it.
func TestOnlyNamedPeersAreSources(t *testing.T) {
	dirA, dirB := t.TempDir(), t.TempDir()
	item, data, tb := newItem(t, 11, 4<<20, dirA)
	half := slices.Concat(data[:len(data)/2], make([]byte, len(data)/2))
	os.WriteFile(filepath.Join(dirB, item.String()+".sbx"), half, 0o600)
	a, b := newEngine(t, "127.0.0.2", dirA), newEngine(t, "127.0.0.4", dirB)
	a.Seed(item, tb)
	seeded(t, a, item)
	leecher := newEngine(t, "127.0.0.3", t.TempDir())
	leecher.Fetch(item, tb, protocol.Fetch{Item: item}) // wished, no source planned yet
	// B, fetching the rest, dials the leecher: the plan names the leecher as B's source.
	b.Fetch(item, tb, protocol.Fetch{Item: item, Peers: []protocol.Peer{{Addr: leecher.Addr(), Dial: true}}})
	waitUntil(t, "B to connect to the leecher", func() bool {
		leecher.mu.Lock()
		lt := leecher.torrents[item]
		leecher.mu.Unlock()
		return len(lt.PeerConns()) > 0
	})
	leecher.Fetch(item, tb, protocol.Fetch{Item: item, Peers: []protocol.Peer{{Addr: a.Addr(), Dial: true}}})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	mustComplete(t, ctx, item, leecher, a)
	st, _ := leecher.Status(item)
	for addr, n := range st.FromPeer {
		if addr != a.Addr() && n > 0 {
			t.Errorf("%d bytes came from %s, a peer the plan did not name (sources: %s)", n, addr, a.Addr())
		}
	}
}

func waitUntil(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !ok(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}
