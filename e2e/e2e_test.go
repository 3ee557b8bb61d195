package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"swarmbox/media"
	"swarmbox/storage"
)

type transfersJSON struct {
	Transfers []struct {
		Box             string `json:"box"`
		Item            string `json:"item"`
		BytesFromServer int64  `json:"bytes_from_server"`
		BytesFromPeers  int64  `json:"bytes_from_peers"`
	} `json:"transfers"`
}

// TestOneTitleThroughPeers is the walking skeleton: one head-end and three boxes; box 1 gets the
// film from the web seed, boxes 2 and 3 from the boxes; box 3 buys and plays it.
func TestOneTitleThroughPeers(t *testing.T) {
	c := startCloud(t, "-rental-window", "3s")
	film := filepath.Join(t.TempDir(), "film.avi")
	must(t, "swarmbox-cloud", "testcard", "-kind", "video", "-seconds", "6", film)
	x, sealed := c.ingest(t, film, "Sample Film", "video")
	boxes := []*box{startBox(t, c, 1), startBox(t, c, 2), startBox(t, c, 3)}

	boxes[0].cmd(t, "wish", x)
	boxes[0].waitComplete(t, x)
	boxes[1].cmd(t, "wish", x)
	boxes[2].cmd(t, "wish", x)
	boxes[1].waitComplete(t, x)
	boxes[2].waitComplete(t, x)

	_, _, server1, _ := boxes[0].item(t, x)
	if server1 < sealed*9/10 {
		t.Errorf("box 1 got %d of %d bytes from the web seed, want nearly all", server1, sealed)
	}
	for _, b := range boxes[1:] {
		_, _, fromServer, fromPeers := b.item(t, x)
		if fromPeers < sealed*9/10 {
			t.Errorf("box %d: %d bytes from peers (%d from server), want >= 90%% of %d", b.n, fromPeers, fromServer, sealed)
		}
	}
	// The head-end's own count of what its web seed sent, and the boxes' reports reaching it.
	waitFor(t, "every box's report to reach the head-end", 20*time.Second, func() bool {
		var tj transfersJSON
		json.Unmarshal([]byte(c.cmd(t, "transfers", "-json")), &tj)
		return len(tj.Transfers) == 3
	})
	st, err := openCloudStore(t, c)
	if err != nil {
		t.Fatal(err)
	}
	id, _ := media.ParseItemID(x)
	served, err := st.ServedBytes(context.Background(), id)
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	if served > sealed*11/10 || served < sealed*9/10 {
		t.Errorf("web seed served %d bytes of a %d-byte container; want about one copy (<= 1.1x)", served, sealed)
	}

	// Box 3 buys and plays: the output equals the ingested file.
	boxes[2].cmd(t, "buy", x)
	out := filepath.Join(t.TempDir(), "played.avi")
	boxes[2].cmd(t, "play", x, "--out", out)
	if !sameFile(t, film, out) {
		t.Fatal("played output differs from the ingested film")
	}

	refusals := []struct {
		name  string
		setup func(t *testing.T) *box
		want  string
	}{
		{"not bought", func(t *testing.T) *box { return boxes[0] }, "not bought"},
		{"rental expired", func(t *testing.T) *box {
			boxes[1].cmd(t, "buy", "-rent", x)
			time.Sleep(4 * time.Second) // the head-end's rental window is 3 s
			return boxes[1]
		}, "expired"},
		{"another box's license", func(t *testing.T) *box {
			copyLicense(t, boxes[2].dir, boxes[0].dir, id)
			return boxes[0]
		}, "another box"},
		{"tampered container", func(t *testing.T) *box {
			boxes[2].proc.stop() // the daemon would keep serving what we damage
			path := filepath.Join(boxes[2].dir, "media", x+".sbx")
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			b[len(b)/2] ^= 0x40
			if err := os.WriteFile(path, b, 0o600); err != nil {
				t.Fatal(err)
			}
			return boxes[2]
		}, "damaged"},
	}
	for _, r := range refusals {
		t.Run(r.name, func(t *testing.T) {
			b := r.setup(t)
			dst := filepath.Join(t.TempDir(), "out.avi")
			_, errs, code := b.try(t, "play", x, "--out", dst)
			if code == 0 || !strings.Contains(errs, r.want) {
				t.Fatalf("play: exit %d, stderr %q; want a refusal naming %q", code, errs, r.want)
			}
			if _, err := os.Stat(dst); !os.IsNotExist(err) {
				t.Fatalf("refused playback left %s behind", dst)
			}
		})
	}
}

// TestLyingPeerIsBannedAndItemCompletes: a box serving corrupted pieces is caught by the piece
// hashes; the receiver bans it, gets the pieces from an honest box, and ends up with an intact
// container.
func TestLyingPeerIsBannedAndItemCompletes(t *testing.T) {
	c := startCloud(t)
	film := filepath.Join(t.TempDir(), "film.avi")
	must(t, "swarmbox-cloud", "testcard", "-kind", "video", "-seconds", "6", film)
	x, _ := c.ingest(t, film, "Sample Film", "video")
	liar, honest := startBox(t, c, 1), startBox(t, c, 2)
	liar.cmd(t, "wish", x)
	liar.waitComplete(t, x)
	honest.cmd(t, "wish", x)
	honest.waitComplete(t, x)

	// The liar's disk goes bad behind its back: every piece damaged, the database still says
	// complete, so it serves garbage as if it were the film.
	liar.proc.stop()
	path := filepath.Join(liar.dir, "media", x+".sbx")
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
	liar.start(t)

	receiver := startBox(t, c, 3)
	receiver.cmd(t, "wish", x)
	receiver.waitComplete(t, x)
	if !receiver.proc.logHas("banning peer", "127.0.0.2") && !receiver.proc.logHas("smart banned peer", "127.0.0.2") {
		t.Errorf("receiver never banned the lying peer at 127.0.0.2; log:\n%s", tail(receiver.proc.Log(), 40))
	}
	// The receiver tells the head-end, which stops naming the liar as a source (SCHED-13).
	waitFor(t, "the head-end demotes the liar on the receiver's report", 60*time.Second, func() bool {
		return c.proc.logHas("source demoted: pieces it sent a receiver failed verification")
	})
	receiver.cmd(t, "buy", x)
	out := filepath.Join(t.TempDir(), "played.avi")
	receiver.cmd(t, "play", x, "--out", out)
	if !sameFile(t, film, out) {
		t.Fatal("the item completed but does not play back intact")
	}
}

func sameFile(t *testing.T, a, b string) bool {
	t.Helper()
	x, err := os.ReadFile(a)
	if err != nil {
		t.Fatal(err)
	}
	y, err := os.ReadFile(b)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Equal(x, y)
}

// copyLicense puts the license one box bought into another box's database, as a thief would.
func copyLicense(t *testing.T, fromDir, toDir string, item media.ItemID) {
	t.Helper()
	ctx := context.Background()
	from, err := storage.Open(ctx, fromDir)
	if err != nil {
		t.Fatal(err)
	}
	defer from.Close()
	env, err := from.License(ctx, item)
	if err != nil {
		t.Fatal(err)
	}
	to, err := storage.Open(ctx, toDir)
	if err != nil {
		t.Fatal(err)
	}
	defer to.Close()
	if err := to.SaveLicense(ctx, item, env, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
}
