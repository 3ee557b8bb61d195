package transfer

import (
	"context"
	"crypto/rand"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tstorage "github.com/anacrolix/torrent/storage"

	"swarmbox/internal/torrenttest"
	"swarmbox/media"
	"swarmbox/sync/protocol"
)

func TestAllowlistLookup(t *testing.T) {
	a := NewAllowlist()
	a.Add(netip.MustParseAddr("198.18.0.5"), "plan")
	cases := []struct {
		ip      string
		open    bool
		blocked bool
	}{
		{"198.18.0.5", false, false},
		{"198.18.0.6", false, true},
		{"::ffff:198.18.0.5", false, false}, // the same address in IPv6 form
		{"198.18.0.6", true, false},
	}
	for _, c := range cases {
		a.SetOpen(c.open)
		if _, blocked := a.Lookup(net.ParseIP(c.ip)); blocked != c.blocked {
			t.Errorf("%s (open %v): blocked = %v, want %v", c.ip, c.open, blocked, c.blocked)
		}
	}
	if _, blocked := a.Lookup(net.IP{1, 2, 3}); !blocked {
		t.Error("a malformed address was allowed")
	}
}

// TestStrictSeederRefusesUnnamedPeer: a strict seeder serves only peers it was told about.
func TestStrictSeederRefusesUnnamedPeer(t *testing.T) {
	seedDir := t.TempDir()
	item, data, tb := newItem(t, 7, 1<<20, seedDir)
	seeder := newEngine(t, "127.0.0.2", seedDir)
	seeder.StrictPeers(true)
	seeder.Seed(item, tb)
	seeded(t, seeder, item)
	leecher := newEngine(t, "127.0.0.3", t.TempDir())
	leecher.Fetch(item, tb, protocol.Fetch{Item: item, Peers: []protocol.Peer{{Addr: seeder.Addr()}}})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := leecher.WaitComplete(ctx, item); err == nil {
		t.Fatal("a strict seeder served a peer it was never told about")
	}
	// On loopback the kernel gives outgoing connections the source 127.0.0.1, whatever address
	// the dialling engine listens on; in the test bed each box has its own.
	seeder.Allow(netip.MustParseAddr("127.0.0.1"), "plan")
	leecher = newEngine(t, "127.0.0.4", t.TempDir())
	leecher.Fetch(item, tb, protocol.Fetch{Item: item, Peers: []protocol.Peer{{Addr: seeder.Addr()}}})
	ctx, cancel = context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := leecher.WaitComplete(ctx, item); err != nil {
		t.Fatalf("allowed peer: %v", err)
	}
	st, _ := leecher.Status(item)
	rates := leecher.PeerRates()
	if len(rates) != 1 || rates[0].Addr != netip.MustParseAddr("127.0.0.2") || rates[0].Bytes < int64(len(data)) || rates[0].BytesPerSecond <= 0 {
		t.Fatalf("peer rates %+v (status %+v): want one figure for 127.0.0.2 over the whole item", rates, st)
	}
}

// TestDownloadCap: a capped box cannot receive faster than its cap (a lower bound on time,
// which no machine can beat, so the test cannot flake on a slow one).
func TestDownloadCap(t *testing.T) {
	const size, capBps = 1 << 20, 256 << 10
	data := make([]byte, size)
	rand.Read(data)
	item := media.ItemID{8}
	seedDir := t.TempDir()
	tb := torrenttest.Private(t, seedDir, item.String()+".sbx", data, 64<<10)
	seeder := newEngine(t, "127.0.0.2", seedDir)
	seeder.Seed(item, tb)
	seeded(t, seeder, item)
	getDir := t.TempDir()
	leecher, err := New(Config{MediaDir: getDir, ListenAddr: "127.0.0.3:0", Completion: tstorage.NewMapPieceCompletion(), DownloadBytesPerSecond: capBps})
	if err != nil {
		t.Fatal(err)
	}
	defer leecher.Close()
	start := time.Now()
	leecher.Fetch(item, tb, protocol.Fetch{Item: item, Peers: []protocol.Peer{{Addr: seeder.Addr()}}})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	mustComplete(t, ctx, item, leecher, seeder)
	// The burst (a quarter second's worth) may pass at once; the rest waits for tokens.
	if min := time.Duration(float64(size-capBps/4) / capBps * float64(time.Second)); time.Since(start) < min*9/10 {
		t.Fatalf("1 MiB at a 256 KiB/s cap took %s, less than the cap allows (%s)", time.Since(start), min)
	}
	got, _ := os.ReadFile(filepath.Join(getDir, item.String()+".sbx"))
	if string(got) != string(data) {
		t.Fatal("capped transfer delivered different bytes")
	}
}

// TestPreloadedItemIsSeeded: an item in the preload folder is served from there.
func TestPreloadedItemIsSeeded(t *testing.T) {
	data := make([]byte, 512<<10)
	rand.Read(data)
	item := media.ItemID{9}
	preload := t.TempDir()
	tb := torrenttest.Private(t, preload, item.String()+".sbx", data, 64<<10)
	seeder, err := New(Config{MediaDir: t.TempDir(), PreloadDir: preload, ListenAddr: "127.0.0.2:0", Completion: tstorage.NewMapPieceCompletion()})
	if err != nil {
		t.Fatal(err)
	}
	defer seeder.Close()
	if err := seeder.SeedPreloaded(item, tb); err != nil {
		t.Fatal(err)
	}
	seeded(t, seeder, item)
	leecher := newEngine(t, "127.0.0.3", t.TempDir())
	leecher.Fetch(item, tb, protocol.Fetch{Item: item, Peers: []protocol.Peer{{Addr: seeder.Addr()}}})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	mustComplete(t, ctx, item, leecher, seeder)
	if n := newEngine(t, "127.0.0.4", t.TempDir()); n.SeedPreloaded(item, tb) == nil {
		t.Fatal("an engine without a preload folder accepted a preload")
	}
}

// mustComplete waits for item on e, and reports both engines' state if it never completes.
// newItem makes size random bytes into item {id}'s container in dir and its private torrent.
func newItem(t *testing.T, id byte, size int, dir string) (media.ItemID, []byte, []byte) {
	t.Helper()
	data := make([]byte, size)
	rand.Read(data)
	item := media.ItemID{id}
	return item, data, torrenttest.Private(t, dir, item.String()+".sbx", data, 64<<10)
}

func mustComplete(t *testing.T, ctx context.Context, item media.ItemID, e, from *Engine) {
	t.Helper()
	if err := e.WaitComplete(ctx, item); err != nil {
		st, _ := e.Status(item)
		var b strings.Builder
		e.WriteStatus(&b)
		b.WriteString("\n=== source\n")
		from.WriteStatus(&b)
		t.Fatalf("%v (status %+v)\n%s", err, st, b.String())
	}
}

// seeded waits until the seeder has hashed the data it was given: a peer that connects before
// then finds nothing to fetch and is dropped.
func seeded(t *testing.T, e *Engine, item media.ItemID) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := e.WaitComplete(ctx, item); err != nil {
		t.Fatalf("seeder never verified its own data: %v", err)
	}
}
