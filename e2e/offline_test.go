package e2e

import (
	"crypto/rand"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// freePort is a TCP port free on host now, for a process that must come back on the same
// address after a restart.
func freePort(t *testing.T, host string) string {
	t.Helper()
	ln, err := net.Listen("tcp", host+":0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// offlineStatus is what `swarmboxd status -json` says of the link and the catalog replica.
type offlineStatus struct {
	Via           string   `json:"via"`
	Online        bool     `json:"online"`
	OfflineSince  int64    `json:"offline_since"`
	Registered    bool     `json:"registered"`
	CatalogTitles int      `json:"catalog_titles"`
	Wishlist      []string `json:"wishlist"`
}

func (b *box) linkStatus(t *testing.T) offlineStatus {
	t.Helper()
	var s offlineStatus
	out := b.cmd(t, "status", "-json")
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("status output %q: %v", out, err)
	}
	return s
}

// TestBoxStartsOffline: a registered box started while its head-end is down answers `swarmboxd
// status` through its daemon's socket with its offline state and its local catalog, plays the
// title it bought, keeps a wish, refuses a purchase with a plain sentence, and when the
// head-end starts, syncs without a restart: the wish kept offline is fetched.
func TestBoxStartsOffline(t *testing.T) {
	hostPort := freePort(t, "127.0.0.1")
	c := startCloud(t, "-listen", hostPort)
	film := filepath.Join(t.TempDir(), "bought.bin")
	data := make([]byte, 200_000)
	rand.Read(data)
	if err := os.WriteFile(film, data, 0o600); err != nil {
		t.Fatal(err)
	}
	bought, _ := c.ingest(t, film, "bought-title", "file")
	x, _ := ingestRandom(t, c, "offline-title", 300_000)
	b := startBox(t, c, 1)
	if s := b.linkStatus(t); !s.Online || s.CatalogTitles != 2 {
		t.Fatalf("online box: %+v", s)
	}
	b.cmd(t, "wish", bought)
	b.waitComplete(t, bought)
	b.cmd(t, "buy", bought)
	b.proc.stop()
	c.proc.stop()

	b.startOffline(t)
	s := b.linkStatus(t)
	if !strings.Contains(s.Via, "running daemon") || s.Online || s.OfflineSince == 0 || !s.Registered || s.CatalogTitles != 2 {
		t.Fatalf("box started with its head-end down: %+v; want via the daemon, offline since a time, registered, 2 titles", s)
	}
	if out := b.cmd(t, "status"); !strings.Contains(out, "offline since") || !strings.Contains(out, "catalog replica of 2 titles") {
		t.Errorf("status text lacks the offline line:\n%s", out)
	}
	// The bought title plays, through the daemon, with the head-end down.
	played := filepath.Join(t.TempDir(), "played.bin")
	b.cmd(t, "play", bought, "--out", played)
	if !sameFile(t, film, played) {
		t.Error("the bought title played offline differs from the ingested file")
	}
	b.cmd(t, "wish", bought, x)
	out, errs, code := b.try(t, "buy", x)
	if code == 0 || !strings.Contains(errs, "buying needs the connection") {
		t.Errorf("buy offline: exit %d, %s%s; want a refusal saying buying needs the connection", code, out, errs)
	}

	c.serve(t, "-listen", hostPort)
	waitFor(t, "the box to reach the head-end without a restart", 90*time.Second, func() bool { return b.proc.logHas("head-end reached") })
	b.waitComplete(t, x)
	if s := b.linkStatus(t); !s.Online || s.OfflineSince != 0 {
		t.Errorf("after the head-end came back: %+v", s)
	}
}

// TestOfflineBoxSeedsItsLAN: box B holds a title; box A's plan names B as its source and A is
// part way through. The head-end stops; both boxes restart while it is down. B seeds what it
// holds at once (and lets the last plan's accept set in, kept on its disk, when the head-end
// sends one), and A fetches from B (the last plan's sources are kept on its disk): A finishes
// its download from B with the head-end still down.
func TestOfflineBoxSeedsItsLAN(t *testing.T) {
	c := startCloud(t)
	const size = 3 << 20
	x, repo := ingestRandom(t, c, "lan-title", size)
	bAddr := freePort(t, "127.0.0.3")
	// B's uplink is slow enough for A to be part way through when the head-end stops.
	holder := startBox(t, c, 2, "-listen", bAddr, "-uplink", "100000")
	holder.cmd(t, "wish", x)
	holder.waitComplete(t, x)
	holderID := holder.status(t).Box

	fetcher := startBox(t, c, 1)
	fetcher.cmd(t, "wish", x)
	waitFor(t, "A's plan to name B", 60*time.Second, func() bool { return fetcher.proc.logHas("fetching", holderID[:8]) })
	waitFor(t, "A part way through", 60*time.Second, func() bool {
		pieces, complete, _, _ := fetcher.item(t, x)
		return pieces > 0 && !complete
	})
	c.proc.stop()
	pieces, complete, _, _ := fetcher.item(t, x)
	if complete {
		t.Fatal("A finished before the head-end stopped; the test proves nothing")
	}
	t.Logf("head-end stopped with A at %d pieces", pieces)

	holder.proc.stop()
	holder.startOffline(t)
	fetcher.proc.stop()
	fetcher.startOffline(t)
	if !fetcher.proc.logHas("fetching", holderID[:8], "last plan") {
		t.Errorf("A restarted offline does not fetch from B:\n%s", tail(fetcher.proc.Log(), 20))
	}
	fetcher.waitComplete(t, x)
	sameContainer(t, fetcher, x, repo)
	_, _, fromServer, fromPeers := fetcher.item(t, x)
	if fromPeers == 0 || !fetcher.proc.logHas("item complete", "from="+holderID[:8]) {
		t.Errorf("A got %d bytes from the server, %d from peers; want its download finished from B:\n%s", fromServer, fromPeers, tail(fetcher.proc.Log(), 10))
	}
	if s := fetcher.linkStatus(t); s.Online {
		t.Errorf("A says it is online with the head-end stopped: %+v", s)
	}
}
