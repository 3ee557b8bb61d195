package e2e

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"swarmbox/media"
)

// TestBoxDefersPlannedFetch (SCHED-16, SCHED-17): a box holds back the server's part of a
// planned fetch until its planned start, and fetches at once what peers serve.
//
// Region eu-west's off-peak window opens six hours from now (-regions); the head-end wants
// transfers done within 2 s (-horizon). Box 1 holds title A and sends at 100 kB/s; box 3 holds D
// and sends at 16 kB/s. Box 2 wishes D, then A, then C. The region holds D and A, too slowly for
// the horizon: the plan names their holders as sources now and the server for the window. C only
// the server has: it waits for the window. Box 2 completes A from box 1 alone while the server
// sends nothing (D, its top wish, trickles in from box 3 for the whole test, which keeps A and C
// lower wishes), and C waits. Then the operator moves the window to now: C comes from the server.
func TestBoxDefersPlannedFetch(t *testing.T) {
	regionFile := filepath.Join(t.TempDir(), "regions")
	mtime := time.Now()
	window := func(from, to time.Time) {
		t.Helper()
		mtime = mtime.Add(time.Second) // a new modification time however fast the rewrite
		line := fmt.Sprintf("eu-west %s-%s UTC\n", from.UTC().Format("15:04"), to.UTC().Format("15:04"))
		if err := os.WriteFile(regionFile, []byte(line), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(regionFile, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now()
	window(now.Add(6*time.Hour), now.Add(7*time.Hour))
	c := startCloud(t, "-regions", regionFile, "-horizon", "2s")

	ingest := func(name string, size int) (string, int64) {
		path := filepath.Join(t.TempDir(), name)
		b := make([]byte, size)
		rand.Read(b)
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return c.ingest(t, path, name, "file")
	}
	a, sealedA := ingest("A", 1_000_000)
	cc, sealedC := ingest("C", 500_000)
	d, _ := ingest("D", 8_000_000) // 500 s at 16 kB/s: box 2 never completes it here

	holder := startBox(t, c, 1, "-uplink", "100000")
	holder.cmd(t, "wish", a)
	holder.waitComplete(t, a)

	slow := startBox(t, c, 3, "-uplink", "16000")
	slow.cmd(t, "wish", d)
	slow.waitComplete(t, d)

	wisher := startBox(t, c, 2)
	wisher.cmd(t, "wish", d, a, cc)
	waitFor(t, "box 2 to hold back the server's part of A and C", 60*time.Second, func() bool {
		return wisher.proc.logHas("server part planned for later", a) && wisher.proc.logHas("server part planned for later", cc)
	})
	wisher.waitComplete(t, a)
	if _, _, fromServer, fromPeers := wisher.item(t, a); fromServer != 0 || fromPeers < sealedA*9/10 {
		t.Errorf("box 2 got A with %d bytes from the server and %d from peers before the window; want 0 and nearly all %d", fromServer, fromPeers, sealedA)
	}
	if pieces, _, fromServer, _ := wisher.item(t, cc); pieces != 0 || fromServer != 0 {
		t.Errorf("box 2 has %d pieces of C (%d bytes from the server) before the window; want none", pieces, fromServer)
	}
	if _, complete, fromServer, _ := wisher.item(t, d); complete || fromServer != 0 {
		t.Errorf("box 2's top wish D: complete %v, %d bytes from the server; want it still trickling in from box 3 alone", complete, fromServer)
	}
	st, err := openCloudStore(t, c)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	served := func(item string) int64 {
		t.Helper()
		id, err := media.ParseItemID(item)
		if err != nil {
			t.Fatal(err)
		}
		n, err := st.ServedBytes(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := served(cc); n != 0 {
		t.Errorf("the web seed sent %d bytes of C before the window", n)
	}

	// The window opens now: the server sends C.
	window(time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	wisher.waitComplete(t, cc)
	if _, _, fromServer, _ := wisher.item(t, cc); fromServer < sealedC*9/10 {
		t.Errorf("box 2 got %d bytes of C from the server in the window, want nearly all %d", fromServer, sealedC)
	}
	if n := served(a); n > sealedA*11/10 {
		t.Errorf("the web seed sent %d bytes of A; want one copy (box 1's), at most %d", n, sealedA*11/10)
	}
}
