package transfer

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/anacrolix/torrent"
	"github.com/anacrolix/torrent/metainfo"

	"swarmbox/media"
	"swarmbox/sync/protocol"
)

// TestStrangerPeerRefused: a box that the head-end told which boxes it serves refuses a
// standard BitTorrent client that knows its address and the info hash (a bare magnet link, or
// even the whole torrent): the stranger gets no byte and no metadata, the box counts and logs
// the refusal; a box that proves a named key by its token fetches the whole item.
func TestStrangerPeerRefused(t *testing.T) {
	seedDir := t.TempDir()
	item, _, tb := newItem(t, 11, 1<<20, seedDir)
	_, named, _ := ed25519.GenerateKey(rand.Reader)
	_, seedKey, _ := ed25519.GenerateKey(rand.Reader)
	seeder := newEngineWith(t, Config{MediaDir: seedDir, ListenAddr: "127.0.0.2:0", SignKey: seedKey})
	seeder.SetPeerBoxes(map[media.BoxID]string{media.BoxIDFromKey(named.Public().(ed25519.PublicKey)): "plan"})
	seeder.Seed(item, tb)
	seeded(t, seeder, item)
	seedAddr := netip.MustParseAddrPort(seeder.Addr())

	mi, err := metainfo.Load(bytes.NewReader(tb))
	if err != nil {
		t.Fatal(err)
	}
	cfg := torrent.NewDefaultClientConfig()
	cfg.DataDir, cfg.NoDHT, cfg.DisablePEX, cfg.DisableIPv6 = t.TempDir(), true, true, true
	cfg.ListenHost = func(string) string { return "127.0.0.9" }
	cfg.ListenPort = 0
	cl, err := torrent.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	stranger, _ := cl.AddTorrentInfoHash(mi.HashInfoBytes()) // a bare magnet link
	stranger.AddPeers([]torrent.PeerInfo{{Addr: &net.TCPAddr{IP: seedAddr.Addr().AsSlice(), Port: int(seedAddr.Port())}, Trusted: true}})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	refused := func(n int64, what string) {
		t.Helper()
		for seeder.RefusedPeers() < n {
			select {
			case <-ctx.Done():
				t.Fatalf("%s: the box refused %d connections within 60 s, want %d", what, seeder.RefusedPeers(), n)
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	refused(1, "stranger with a magnet link")
	if stranger.Info() != nil {
		t.Fatal("the stranger with a bare magnet link got the torrent's metadata")
	}
	// Even knowing the whole torrent, the stranger gets nothing.
	if err := stranger.SetInfoBytes(mi.InfoBytes); err != nil {
		t.Fatal(err)
	}
	stranger.DownloadAll()
	stranger.AddPeers([]torrent.PeerInfo{{Addr: &net.TCPAddr{IP: seedAddr.Addr().AsSlice(), Port: int(seedAddr.Port())}, Trusted: true}})
	refused(2, "stranger with the torrent")
	if n := stranger.BytesCompleted(); n != 0 {
		t.Fatalf("the stranger got %d bytes", n)
	}

	// A box with a named key fetches it; one with another key is refused too.
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	before := seeder.RefusedPeers()
	unnamed := newEngineWith(t, Config{MediaDir: t.TempDir(), ListenAddr: "127.0.0.4:0", SignKey: other})
	unnamed.Fetch(item, tb, protocol.Fetch{Item: item, Peers: []protocol.Peer{{Addr: seeder.Addr()}}})
	refused(before+1, "box with an unnamed key")
	if st, _ := unnamed.Status(item); st.Pieces != 0 {
		t.Fatalf("a box with an unnamed key got %d pieces", st.Pieces)
	}
	leecher := newEngineWith(t, Config{MediaDir: t.TempDir(), ListenAddr: "127.0.0.3:0", SignKey: named})
	leecher.Fetch(item, tb, protocol.Fetch{Item: item, Peers: []protocol.Peer{{Addr: seeder.Addr()}}})
	mustComplete(t, ctx, item, leecher, seeder)
}

// TestPeerTokenProvesOneKey: a token names the box whose key made it; a changed key,
// signature or prefix is refused.
func TestPeerTokenProvesOneKey(t *testing.T) {
	pub, key, _ := ed25519.GenerateKey(rand.Reader)
	tok := PeerToken(key)
	id, err := ParsePeerToken(tok)
	if err != nil || id != media.BoxIDFromKey(pub) {
		t.Fatalf("ParsePeerToken = %v, %v; want the key's box", id, err)
	}
	pub2, _, _ := ed25519.GenerateKey(rand.Reader)
	parts := strings.Fields(tok)
	for _, bad := range []string{
		"", "Go.Torrent v1", "swarmbox-peer/1 zz zz",
		strings.Replace(tok, parts[1], hex.EncodeToString(pub2), 1),
		tok[:len(tok)-4] + "AAAA",
	} {
		if _, err := ParsePeerToken(bad); err == nil {
			t.Errorf("ParsePeerToken(%q) accepted", bad)
		}
	}
}

// FuzzParsePeerToken: no token a peer sends makes the parser panic, and any token it accepts
// proves a key.
func FuzzParsePeerToken(f *testing.F) {
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	f.Add(PeerToken(key))
	f.Add("swarmbox-peer/1 00 00")
	f.Add("Go.Torrent")
	f.Fuzz(func(t *testing.T, s string) {
		ParsePeerToken(s)
	})
}

// TestPeerRatesPerBoxBehindOneAddress: two boxes serving from one address are measured apart,
// each under the box its key proved, so the head-end gets a figure per box (SCHED-5).
func TestPeerRatesPerBoxBehindOneAddress(t *testing.T) {
	const size = 2 << 20
	dirA, dirB := t.TempDir(), t.TempDir()
	item, _, tb := newItem(t, 12, size, dirA)
	name := item.String() + ".sbx"
	data, err := os.ReadFile(filepath.Join(dirA, name))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dirB, name), data, 0o600); err != nil {
		t.Fatal(err)
	}
	key := func() (ed25519.PrivateKey, media.BoxID) {
		pub, k, _ := ed25519.GenerateKey(rand.Reader)
		return k, media.BoxIDFromKey(pub)
	}
	kA, boxA := key()
	kB, boxB := key()
	kL, boxL := key()
	var seeders []*Engine
	for _, c := range []struct {
		dir string
		key ed25519.PrivateKey
	}{{dirA, kA}, {dirB, kB}} {
		// One address, and each capped so that the receiver takes from both.
		e := newEngineWith(t, Config{MediaDir: c.dir, ListenAddr: "127.0.0.2:0", SignKey: c.key, UploadBytesPerSecond: 512 << 10})
		e.SetPeerBoxes(map[media.BoxID]string{boxL: "plan"})
		if err := e.Seed(item, tb); err != nil {
			t.Fatal(err)
		}
		seeded(t, e, item)
		seeders = append(seeders, e)
	}
	leecher := newEngineWith(t, Config{MediaDir: t.TempDir(), ListenAddr: "127.0.0.3:0", SignKey: kL})
	leecher.SetPeerBoxes(map[media.BoxID]string{boxA: "plan", boxB: "plan"})
	if err := leecher.Fetch(item, tb, protocol.Fetch{Item: item, Peers: []protocol.Peer{{Box: boxA, Addr: seeders[0].Addr()}, {Box: boxB, Addr: seeders[1].Addr()}}}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	mustComplete(t, ctx, item, leecher, seeders[0])
	rates := leecher.PeerRates()
	var total int64
	seen := map[media.BoxID]bool{}
	for _, r := range rates {
		if (r.Box != boxA && r.Box != boxB) || seen[r.Box] || r.Addr != netip.MustParseAddr("127.0.0.2") {
			t.Fatalf("peer rates %+v: want one figure per proven box (%s, %s) at 127.0.0.2", rates, boxA, boxB)
		}
		seen[r.Box] = true
		total += r.Bytes
	}
	if len(rates) != 2 || total < size {
		t.Fatalf("peer rates %+v: want both boxes, together at least the item's %d bytes", rates, size)
	}
}
