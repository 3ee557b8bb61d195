package transfer

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/anacrolix/torrent"
	tstorage "github.com/anacrolix/torrent/storage"

	"swarmbox/internal/torrenttest"
	"swarmbox/media"
	"swarmbox/storage"
	"swarmbox/sync/protocol"
)

func newEngine(t *testing.T, host string, dir string) *Engine {
	t.Helper()
	return newEngineWith(t, Config{MediaDir: dir, ListenAddr: host + ":0"})
}

// newEngineWith starts an engine with cfg (an in-memory piece completion unless it has one).
func newEngineWith(t *testing.T, cfg Config) *Engine {
	t.Helper()
	if cfg.Completion == nil {
		cfg.Completion = tstorage.NewMapPieceCompletion()
	}
	e, err := New(cfg)
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
		e, err := New(Config{MediaDir: st.MediaDir(), ListenAddr: "127.0.0." + string(rune('2'+i)) + ":0", Completion: Completion(st)})
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
		e, err := New(Config{MediaDir: st.MediaDir(), ListenAddr: "127.0.0." + string(rune('2'+i)) + ":0", Completion: Completion(st)})
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

// rangedSeed stands in for the head-end's web seed under a ranged grant: it serves the
// container by byte range (http.ServeContent), refuses with 416 any request not wholly inside
// the granted pieces, and counts requests and body bytes. corrupt flips the first byte of every
// answer; gate, when set, holds every answer after its first write until gate is closed or the
// client goes away.
type rangedSeed struct {
	data     []byte
	pieceLen int64
	corrupt  bool
	gate     chan struct{}

	mu       sync.Mutex
	granted  []protocol.PieceRange
	requests []string // the Range header of every request served
	refused  int
	served   int64
}

func (s *rangedSeed) grant(r []protocol.PieceRange) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.granted = r
}

func (s *rangedSeed) stats() (requests []string, refused int, served int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests), s.refused, s.served
}

// inGrant says whether bytes [a, b] lie within one granted range.
func (s *rangedSeed) inGrant(a, b int64) bool {
	for _, r := range s.granted {
		if a >= int64(r.Begin)*s.pieceLen && b < min(int64(r.End)*s.pieceLen, int64(len(s.data))) {
			return true
		}
	}
	return false
}

func (s *rangedSeed) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var a, b int64
	_, err := fmt.Sscanf(r.Header.Get("Range"), "bytes=%d-%d", &a, &b)
	s.mu.Lock()
	ok := err == nil && s.inGrant(a, b)
	if ok {
		s.requests = append(s.requests, r.Header.Get("Range"))
	} else {
		s.refused++
	}
	s.mu.Unlock()
	if !ok {
		http.Error(w, "outside the granted pieces", http.StatusRequestedRangeNotSatisfiable)
		return
	}
	http.ServeContent(&seedWriter{ResponseWriter: w, s: s, ctx: r.Context()}, r, "item.sbx", time.Time{}, bytes.NewReader(s.data))
}

type seedWriter struct {
	http.ResponseWriter
	s       *rangedSeed
	ctx     context.Context
	written bool
}

func (w *seedWriter) Write(p []byte) (int, error) {
	if w.written && w.s.gate != nil {
		select {
		case <-w.s.gate:
		case <-w.ctx.Done():
			return 0, w.ctx.Err()
		}
	}
	if w.s.corrupt && !w.written && len(p) > 0 {
		p = slices.Clone(p)
		p[0] ^= 0xff
	}
	w.written = true
	n, err := w.ResponseWriter.Write(p)
	w.s.mu.Lock()
	w.s.served += int64(n)
	w.s.mu.Unlock()
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
	return n, err
}

// rangedSetup makes an item of size bytes (64 KiB pieces), a seeder engine holding all of it,
// a rangedSeed serving it, and a leecher engine; the server is closed after the engines.
func rangedSetup(t *testing.T, id byte, size int, seed *rangedSeed) (media.ItemID, []byte, []byte, *Engine, *Engine, string, string) {
	t.Helper()
	seedDir, getDir := t.TempDir(), t.TempDir()
	item, data, tb := newItem(t, id, size, seedDir)
	seed.data, seed.pieceLen = data, 64<<10
	hs := httptest.NewServer(seed)
	t.Cleanup(hs.Close) // registered first, so it runs after the engines closed
	seeder := newEngine(t, "127.0.0.2", seedDir)
	seeder.Seed(item, tb)
	seeded(t, seeder, item)
	leecher := newEngine(t, "127.0.0.3", getDir)
	return item, data, tb, seeder, leecher, hs.URL + "/seed/box/token/" + item.String() + ".sbx", filepath.Join(getDir, item.String()+".sbx")
}

func rangedBytes(ranges []protocol.PieceRange, pieceLen int64, size int) int64 {
	var n int64
	for _, r := range ranges {
		n += min(int64(r.End)*pieceLen, int64(size)) - int64(r.Begin)*pieceLen
	}
	return n
}

// TestRangedWebSeed: with a ranged grant the box takes exactly the granted pieces from the
// server (its own fetcher, by byte range: the library's web seed would ask for others and be
// refused) and the rest from its named peer, which it is not asked to pay twice for.
func TestRangedWebSeed(t *testing.T) {
	// 2 MiB + a short last piece: 33 pieces; the grant ends with the short one. Like the
	// head-end, the server refuses a request that crosses from one range into the next.
	ranges := []protocol.PieceRange{{Begin: 3, End: 6}, {Begin: 6, End: 9}, {Begin: 20, End: 22}, {Begin: 30, End: 33}}
	seed := &rangedSeed{}
	seed.grant(ranges)
	item, data, tb, seeder, leecher, url, path := rangedSetup(t, 12, 2<<20+5000, seed)
	f := protocol.Fetch{Item: item, WebSeed: url, WebSeedPieces: ranges, Peers: []protocol.Peer{{Addr: seeder.Addr()}}}
	if err := leecher.Fetch(item, tb, f); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	mustComplete(t, ctx, item, leecher, seeder)
	if got, err := os.ReadFile(path); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("fetched file differs (err %v)", err)
	}
	want := rangedBytes(ranges, 64<<10, len(data))
	requests, refused, served := seed.stats()
	if served != want || refused != 0 {
		t.Errorf("server served %d bytes in %q and refused %d requests; want exactly the granted %d bytes", served, requests, refused, want)
	}
	st, _ := leecher.Status(item)
	if st.BytesFromServer != want || st.BytesFromPeers != int64(len(data))-want || st.HashFailures != 0 {
		t.Errorf("status %+v: want %d bytes from the server and %d from peers", st, want, int64(len(data))-want)
	}
	var fromPeers int64
	for _, r := range leecher.PeerRates() {
		fromPeers += r.Bytes
	}
	if fromPeers != st.BytesFromPeers {
		t.Errorf("peer rates count %d bytes; peers sent %d (server bytes are not a peer's)", fromPeers, st.BytesFromPeers)
	}
	// The grant sent again changes nothing: the fetcher is done and nothing more is asked.
	leecher.Fetch(item, tb, f)
	leecher.Close()
	if again, _, _ := seed.stats(); len(again) != len(requests) {
		t.Errorf("the same grant again made %d more requests", len(again)-len(requests))
	}
}

// TestRangedWebSeedCorrupt: a server that sends wrong bytes spoils nothing: the pieces are
// checked before they are written, counted as hash failures, and come from the peer instead.
func TestRangedWebSeedCorrupt(t *testing.T) {
	ranges := []protocol.PieceRange{{Begin: 0, End: 8}}
	seed := &rangedSeed{corrupt: true}
	seed.grant(ranges)
	item, data, tb, seeder, leecher, url, path := rangedSetup(t, 13, 1<<20, seed)
	leecher.Fetch(item, tb, protocol.Fetch{Item: item, WebSeed: url, WebSeedPieces: ranges, Peers: []protocol.Peer{{Addr: seeder.Addr()}}})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	mustComplete(t, ctx, item, leecher, seeder)
	if got, err := os.ReadFile(path); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("fetched file differs (err %v)", err)
	}
	st, _ := leecher.Status(item)
	if requests, _, _ := seed.stats(); len(requests) == 0 || st.HashFailures == 0 || st.BytesFromServer != 0 {
		t.Fatalf("status %+v after %d requests to a corrupting server: want hash failures and no server bytes", st, len(requests))
	}
}

// TestRangedWebSeedRegrant: the same grant again leaves the fetcher running, other ranges
// restart it on those, and a plan without the server stops it: the server hears nothing more,
// and the pieces it owned come from the peer.
func TestRangedWebSeedRegrant(t *testing.T) {
	first := []protocol.PieceRange{{Begin: 0, End: 4}}
	second := []protocol.PieceRange{{Begin: 10, End: 14}}
	seed := &rangedSeed{gate: make(chan struct{})}
	seed.grant(slices.Concat(first, second))
	item, data, tb, seeder, leecher, url, path := rangedSetup(t, 14, 1<<20, seed)
	fetcher := func() *serverFetch {
		leecher.mu.Lock()
		defer leecher.mu.Unlock()
		return leecher.fetchers[item]
	}
	requests := func() []string { r, _, _ := seed.stats(); return r }

	// No peer yet: the second ranges must still be missing when they are granted.
	leecher.Fetch(item, tb, protocol.Fetch{Item: item, WebSeed: url, WebSeedPieces: first})
	waitUntil(t, "the first request", func() bool { return len(requests()) == 1 })
	sf := fetcher()
	leecher.Fetch(item, tb, protocol.Fetch{Item: item, WebSeed: url, WebSeedPieces: first})
	if fetcher() != sf {
		t.Fatal("the same grant again replaced the running fetcher")
	}

	leecher.Fetch(item, tb, protocol.Fetch{Item: item, WebSeed: url, WebSeedPieces: second})
	select {
	case <-sf.done:
	default:
		t.Fatal("a grant of other ranges left the old fetcher running")
	}
	waitUntil(t, "a request for the new ranges", func() bool { return len(requests()) == 2 })
	if r := requests()[1]; r != fmt.Sprintf("bytes=%d-%d", 10*64<<10, 14*64<<10-1) {
		t.Fatalf("after the regrant the server was asked for %s", r)
	}

	sf = fetcher()
	// The server withdrawn, the seeder named: every piece, the fetcher's too, comes from it.
	leecher.Fetch(item, tb, protocol.Fetch{Item: item, Peers: []protocol.Peer{{Addr: seeder.Addr()}}})
	select {
	case <-sf.done:
	default:
		t.Fatal("a plan without the server left the fetcher running")
	}
	if fetcher() != nil {
		t.Fatal("a plan without the server kept a fetcher")
	}
	close(seed.gate) // a request now would be answered: there must be none
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	mustComplete(t, ctx, item, leecher, seeder)
	if got, err := os.ReadFile(path); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("fetched file differs (err %v)", err)
	}
	if r := requests(); len(r) != 2 {
		t.Fatalf("the server was asked %q after it was withdrawn", r[2:])
	}
	if st, _ := leecher.Status(item); st.BytesFromServer != 0 || st.BytesFromPeers != int64(len(data)) {
		t.Fatalf("status %+v: want every byte from the peer (the server never finished a piece)", st)
	}
}

func TestNormalizeRanges(t *testing.T) {
	got := normalizeRanges([]protocol.PieceRange{{Begin: 8, End: 12}, {Begin: -2, End: 2}, {Begin: 5, End: 5}, {Begin: 8, End: 12}, {Begin: 2, End: 4}, {Begin: 11, End: 40}}, 20)
	// Adjacent and overlapping ranges stay apart: a request must lie within one granted range.
	want := []protocol.PieceRange{{Begin: 0, End: 2}, {Begin: 2, End: 4}, {Begin: 8, End: 12}, {Begin: 11, End: 20}}
	if !slices.Equal(got, want) {
		t.Fatalf("normalizeRanges = %v, want %v", got, want)
	}
	if got := normalizeRanges([]protocol.PieceRange{{Begin: 30, End: 40}}, 20); len(got) != 0 {
		t.Fatalf("ranges outside the torrent gave %v", got)
	}
}

// TestNamedPeerPiecesOnly: a peer the plan names for some pieces (another LAN's share of the
// server's copy) is asked for those only; named again for any piece, it completes the item.
func TestNamedPeerPiecesOnly(t *testing.T) {
	item, data, tb, a := newSeeder(t, 21, 1<<20) // 16 pieces of 64 KiB
	dir := t.TempDir()
	leecher := newEngine(t, "127.0.0.3", dir)
	share := []protocol.PieceRange{{Begin: 4, End: 10}}
	leecher.Fetch(item, tb, protocol.Fetch{Item: item, Peers: []protocol.Peer{{Addr: a.Addr(), Dial: true, Pieces: share, PiecesOnly: true}}})
	complete := func() (out []int) {
		leecher.mu.Lock()
		lt := leecher.torrents[item]
		leecher.mu.Unlock()
		for i := range lt.NumPieces() {
			if lt.PieceState(i).Complete {
				out = append(out, i)
			}
		}
		return out
	}
	waitUntil(t, "the named pieces", func() bool { return len(complete()) >= 6 })
	// Loopback moves the other ten pieces in milliseconds if the client may ask for them.
	time.Sleep(time.Second)
	if got := complete(); !slices.Equal(got, []int{4, 5, 6, 7, 8, 9}) {
		t.Fatalf("pieces %v came from a peer named for pieces %v only", got, share)
	}
	leecher.Fetch(item, tb, protocol.Fetch{Item: item, Peers: []protocol.Peer{{Addr: a.Addr(), Dial: true}}})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	mustComplete(t, ctx, item, leecher, a)
	if got, _ := os.ReadFile(filepath.Join(dir, item.String()+".sbx")); !bytes.Equal(got, data) {
		t.Fatal("the fetched container differs from the source")
	}
}

// TestSharedServerCopyBetweenTwoBoxes: two boxes share the server's copy (each its half from
// the server) and name each other as sources: each completes the item with the other's half
// from the other, and the server sends one copy.
func TestSharedServerCopyBetweenTwoBoxes(t *testing.T) {
	const size = 4 << 20 // 64 pieces of 64 KiB
	seed := &rangedSeed{}
	srcDir := t.TempDir()
	item, data, tb := newItem(t, 31, size, srcDir)
	seed.data, seed.pieceLen = data, 64<<10
	seed.grant([]protocol.PieceRange{{Begin: 0, End: 32}, {Begin: 32, End: 64}})
	hs := httptest.NewServer(seed)
	t.Cleanup(hs.Close)
	url := hs.URL + "/seed/box/token/" + item.String() + ".sbx"
	// Both name the other, so both dial, and on loopback b's dial comes from 127.0.0.1: when it
	// won the race, a hid b's pieces from a peer it did not know by that address and waited for
	// them forever. Boxes sharing a loopback run with LoopbackPeers, as swarmboxd does there.
	loop := func(host string) *Engine {
		return newEngineWith(t, Config{MediaDir: t.TempDir(), ListenAddr: host + ":0", LoopbackPeers: true})
	}
	a, b := loop("127.0.0.2"), loop("127.0.0.3")
	halves := [][]protocol.PieceRange{{{Begin: 0, End: 32}}, {{Begin: 32, End: 64}}}
	for i, e := range []*Engine{a, b} {
		other := []*Engine{b, a}[i]
		f := protocol.Fetch{Item: item, WebSeed: url, WebSeedPieces: halves[i], Peers: []protocol.Peer{{Addr: other.Addr(), Dial: i == 0}}}
		if err := e.Fetch(item, tb, f); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	mustComplete(t, ctx, item, a, b)
	mustComplete(t, ctx, item, b, a)
	for i, e := range []*Engine{a, b} {
		st, _ := e.Status(item)
		if st.BytesFromServer != size/2 || st.BytesFromPeers != size/2 {
			t.Errorf("box %d: %d bytes from the server and %d from the other box, want half each", i, st.BytesFromServer, st.BytesFromPeers)
		}
	}
	if _, refused, served := seed.stats(); served != size || refused != 0 {
		t.Errorf("the server sent %d bytes (%d refused), want one copy", served, refused)
	}
}

// TestPiecesBeyondUnsourcedOnesAreRequested: more than 64 MiB of the wanted pieces have no
// source yet (the peer is named for the last pieces only, as for another LAN's share): the box
// still asks the peer for the pieces it has. The library's default stops looking after 64 MiB
// of pieces, rarest (here: unavailable) first, and never asked.
func TestPiecesBeyondUnsourcedOnesAreRequested(t *testing.T) {
	item, data, tb, a := newSeeder(t, 22, 72<<20) // 1152 pieces of 64 KiB
	leecher := newEngine(t, "127.0.0.3", t.TempDir())
	share := []protocol.PieceRange{{Begin: 1120, End: 1152}}
	leecher.Fetch(item, tb, protocol.Fetch{Item: item, Peers: []protocol.Peer{{Addr: a.Addr(), Dial: true, Pieces: share, PiecesOnly: true}}})
	waitUntil(t, "the pieces the peer is named for", func() bool {
		st, _ := leecher.Status(item)
		return st.Pieces == 32
	})
	st, _ := leecher.Status(item)
	if st.BytesFromPeers != int64(len(data))-1120*64<<10 {
		t.Errorf("%d bytes from the peer, want its 32 pieces", st.BytesFromPeers)
	}
}

// newSeeder makes a random item of size bytes (64 KiB pieces) and an engine on 127.0.0.2 that
// holds and has verified all of it.
func newSeeder(t *testing.T, id byte, size int) (media.ItemID, []byte, []byte, *Engine) {
	t.Helper()
	dir := t.TempDir()
	item, data, tb := newItem(t, id, size, dir)
	e := newEngine(t, "127.0.0.2", dir)
	e.Seed(item, tb)
	seeded(t, e, item)
	return item, data, tb, e
}

// torrentOf is e's torrent of item.
func torrentOf(e *Engine, item media.ItemID) *torrent.Torrent {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.torrents[item]
}

// completePieces lists the pieces of item e has verified.
func completePieces(e *Engine, item media.ItemID) (out []int) {
	t := torrentOf(e, item)
	for i := range t.NumPieces() {
		if t.PieceState(i).Complete {
			out = append(out, i)
		}
	}
	return out
}

// onlyPieces fails unless e has verified exactly the pieces of r and asks the client for no
// other; then it watches a while that none other arrives, where a source has them all on
// loopback, which moves a piece in milliseconds if the client asks for it.
func onlyPieces(t *testing.T, e *Engine, item media.ItemID, r protocol.PieceRange) {
	t.Helper()
	var want []int
	for i := r.Begin; i < r.End; i++ {
		want = append(want, i)
	}
	waitUntil(t, fmt.Sprintf("pieces %v", r), func() bool { return len(completePieces(e, item)) >= r.Len() })
	tt := torrentOf(e, item)
	for i := range tt.NumPieces() {
		if p := tt.PieceState(i).Priority; !r.Contains(i) && p != torrent.PiecePriorityNone {
			t.Fatalf("piece %d outside the range %v has priority %v", i, r, p)
		}
	}
	for end := time.Now().Add(time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if got := completePieces(e, item); !slices.Equal(got, want) {
			t.Fatalf("pieces %v verified; the range placement is %v", got, r)
		}
	}
	if st, _ := e.Status(item); st.Pieces != r.Len() || st.Complete {
		t.Fatalf("status %+v: want %d pieces, not complete", st, r.Len())
	}
}

// sourceHasAll waits until e sees every piece of item at one of its peers: what e does not
// fetch, it does not fetch by its own choice.
func sourceHasAll(t *testing.T, e *Engine, item media.ItemID) {
	t.Helper()
	tt := torrentOf(e, item)
	waitUntil(t, "a source showing every piece", func() bool {
		for _, pc := range tt.PeerConns() {
			if int(pc.PeerPieces().GetCardinality()) == tt.NumPieces() {
				return true
			}
		}
		return false
	})
}

// TestRangePlacementFetchesOnlyItsPieces: a box placed a range of an item fetches those pieces
// only, from a source that has them all; a plan without the range widens it to the whole item.
func TestRangePlacementFetchesOnlyItsPieces(t *testing.T) {
	item, data, tb, a := newSeeder(t, 23, 1<<20) // 16 pieces of 64 KiB
	dir := t.TempDir()
	leecher := newEngine(t, "127.0.0.3", dir)
	r := protocol.PieceRange{Begin: 4, End: 10}
	peers := []protocol.Peer{{Addr: a.Addr(), Dial: true}}
	if err := leecher.Fetch(item, tb, protocol.Fetch{Item: item, Peers: peers, Area: protocol.AreaCache, Range: &r}); err != nil {
		t.Fatal(err)
	}
	sourceHasAll(t, leecher, item)
	onlyPieces(t, leecher, item, r)

	if err := leecher.Fetch(item, tb, protocol.Fetch{Item: item, Peers: peers, Area: protocol.AreaCache}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	mustComplete(t, ctx, item, leecher, a)
	if got, _ := os.ReadFile(filepath.Join(dir, item.String()+".sbx")); !bytes.Equal(got, data) {
		t.Fatal("the fetched container differs from the source")
	}
	if st, _ := leecher.Status(item); st.Pieces != 16 || !st.Complete {
		t.Fatalf("status %+v after widening: want all 16 pieces", st)
	}
}

// TestRangePlacementKeptByLANCall: the LAN's call, naming a neighbour that has the whole item,
// keeps the range it carries; and a dropped item forgets its range.
func TestRangePlacementKeptByLANCall(t *testing.T) {
	item, _, tb, a := newSeeder(t, 24, 1<<20)
	leecher := newEngine(t, "127.0.0.3", t.TempDir())
	r := protocol.PieceRange{Begin: 4, End: 10}
	f := protocol.Fetch{Item: item, Area: protocol.AreaCache, Range: &r}
	if err := leecher.Fetch(item, tb, f); err != nil { // the plan names no source
		t.Fatal(err)
	}
	if err := leecher.Fetch(item, tb, f, netip.MustParseAddrPort(a.Addr())); err != nil {
		t.Fatal(err)
	}
	sourceHasAll(t, leecher, item)
	onlyPieces(t, leecher, item, r)
	leecher.Drop(item)
	leecher.mu.Lock()
	_, kept := leecher.wanted[item]
	leecher.mu.Unlock()
	if kept {
		t.Fatal("a dropped item kept its range")
	}
}

// TestRangePlacementOutsideTheTorrent: a range with no piece in the torrent fetches nothing.
func TestRangePlacementOutsideTheTorrent(t *testing.T) {
	item, _, tb, a := newSeeder(t, 25, 1<<20)
	leecher := newEngine(t, "127.0.0.3", t.TempDir())
	r := protocol.PieceRange{Begin: 16, End: 20}
	// Wanting nothing, the client does not even dial the source: only the priorities show.
	leecher.Fetch(item, tb, protocol.Fetch{Item: item, Peers: []protocol.Peer{{Addr: a.Addr(), Dial: true}}, Range: &r})
	onlyPieces(t, leecher, item, protocol.PieceRange{})
}

// TestRangePlacementUnderRangedGrant: the server granted the whole item, the box is placed a
// range of it: its server fetcher takes that range only and no peer is asked for the rest;
// widened (by the plan, or by the LAN's call), the box takes the rest from the server too.
func TestRangePlacementUnderRangedGrant(t *testing.T) {
	t.Run("plan widens", func(t *testing.T) { testRangeUnderGrant(t, 26, false) })
	t.Run("LAN call widens", func(t *testing.T) { testRangeUnderGrant(t, 27, true) })
}

func testRangeUnderGrant(t *testing.T, id byte, lanWidens bool) {
	grant := []protocol.PieceRange{{Begin: 0, End: 16}}
	seed := &rangedSeed{}
	seed.grant(grant)
	item, data, tb, seeder, leecher, url, path := rangedSetup(t, id, 1<<20, seed)
	r := protocol.PieceRange{Begin: 2, End: 5}
	f := protocol.Fetch{Item: item, WebSeed: url, WebSeedPieces: grant, Peers: []protocol.Peer{{Addr: seeder.Addr(), Dial: true}}, Area: protocol.AreaCache, Range: &r}
	if err := leecher.Fetch(item, tb, f); err != nil {
		t.Fatal(err)
	}
	sourceHasAll(t, leecher, item)
	onlyPieces(t, leecher, item, r)
	leecher.mu.Lock()
	sf := leecher.fetchers[item]
	leecher.mu.Unlock()
	select {
	case <-sf.done: // it asks the server nothing more
	case <-time.After(30 * time.Second):
		t.Fatal("the server fetcher did not end with its range complete")
	}
	const pieceLen = 64 << 10
	requests, refused, served := seed.stats()
	for _, h := range requests {
		var a, b int64
		if _, err := fmt.Sscanf(h, "bytes=%d-%d", &a, &b); err != nil || a < int64(r.Begin)*pieceLen || b >= int64(r.End)*pieceLen {
			t.Errorf("the server was asked for %s, outside the pieces %v placed", h, r)
		}
	}
	if want := int64(r.Len()) * pieceLen; served != want || refused != 0 {
		t.Errorf("the server served %d bytes and refused %d requests; want the range's %d", served, refused, want)
	}
	if st, _ := leecher.Status(item); st.BytesFromPeers != 0 {
		t.Errorf("status %+v: the peer sent bytes, all of them outside the range or the server's", st)
	}

	f.Range = nil
	if lanWidens {
		leecher.Fetch(item, tb, f, netip.MustParseAddrPort(seeder.Addr()))
	} else {
		leecher.Fetch(item, tb, f)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	mustComplete(t, ctx, item, leecher, seeder)
	if got, err := os.ReadFile(path); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("fetched file differs (err %v)", err)
	}
	if _, refused, served := seed.stats(); served != int64(len(data)) || refused != 0 {
		t.Errorf("the server served %d bytes (%d refused); want the whole item once", served, refused)
	}
}

// TestRangePlacementServerRefuses: when the server refuses, the fetcher releases its pieces to
// peers, but only those placed: the peer sends the range and nothing else.
func TestRangePlacementServerRefuses(t *testing.T) {
	seed := &rangedSeed{} // grants nothing: every request is refused
	item, _, tb, seeder, leecher, url, _ := rangedSetup(t, 28, 1<<20, seed)
	r := protocol.PieceRange{Begin: 2, End: 5}
	f := protocol.Fetch{Item: item, WebSeed: url, WebSeedPieces: []protocol.PieceRange{{Begin: 0, End: 16}},
		Peers: []protocol.Peer{{Addr: seeder.Addr(), Dial: true}}, Area: protocol.AreaCache, Range: &r}
	if err := leecher.Fetch(item, tb, f); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the server's refusal", func() bool { _, refused, _ := seed.stats(); return refused > 0 })
	sourceHasAll(t, leecher, item)
	onlyPieces(t, leecher, item, r)
	if st, _ := leecher.Status(item); st.BytesFromPeers != int64(r.Len())*64<<10 {
		t.Errorf("status %+v: want the range's pieces from the peer", st)
	}
}
