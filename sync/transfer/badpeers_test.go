package transfer

import (
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"swarmbox/sync/protocol"
)

// TestBadPeerCountedByAddress: a peer whose disk went bad after it verified its copy sends
// pieces failing verification; the receiver's status names its address with the bad pieces,
// also after the library banned it and dropped the connection.
func TestBadPeerCountedByAddress(t *testing.T) {
	seedDir := t.TempDir()
	item, _, tb := newItem(t, 41, 1<<20, seedDir)
	liar := newEngine(t, "127.0.0.2", seedDir)
	if err := liar.Seed(item, tb); err != nil {
		t.Fatal(err)
	}
	seeded(t, liar, item)
	path := filepath.Join(seedDir, item.String()+".sbx")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := 100; i < len(b); i += 16 << 10 {
		b[i] ^= 0xff
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	leecher := newEngine(t, "127.0.0.3", t.TempDir())
	if err := leecher.Fetch(item, tb, protocol.Fetch{Item: item, Peers: []protocol.Peer{{Addr: liar.Addr()}}}); err != nil {
		t.Fatal(err)
	}
	addr := netip.MustParseAddr("127.0.0.2")
	waitUntil(t, "the liar's bad pieces counted", func() bool {
		st, _ := leecher.Status(item)
		return st.BadFromPeer[addr] > 0
	})
	waitUntil(t, "the liar's connection dropped, its count kept", func() bool {
		st, _ := leecher.Status(item)
		return len(torrentOf(leecher, item).PeerConns()) == 0 && st.BadFromPeer[addr] > 0 && st.Pieces == 0
	})
}
