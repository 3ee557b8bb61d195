package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestBytesReceivedSurviveKill kills a receiving box with kill -9 several times during a
// transfer and restarts it; once the title is complete, the bytes the head-end has from the box
// (server and peers) must add up to the title's size within 1%: the box records what it
// received with each piece, so a kill loses neither. SWARMBOX_E2E_BIN with an older build
// measures that build's error (which the test then reports as a failure).
func TestBytesReceivedSurviveKill(t *testing.T) {
	c := startCloud(t)
	const size = 24 << 20
	id, container := ingestRandom(t, c, "kill-film", size)
	sealed := fileSize(t, container)
	src := startBox(t, c, 1)
	src.cmd(t, "wish", id)
	src.waitComplete(t, id)
	// A capped downlink spreads the transfer over several seconds, so the kills land in it.
	dst := startBox(t, c, 2, "-downlink", fmt.Sprint(3<<20))
	dst.cmd(t, "wish", id)
	const kills = 4
	done := 0
	for k := 0; k < kills; k++ {
		var pieces int
		var complete bool
		last := -1
		waitFor(t, "the receiving box to move on", 90*time.Second, func() bool {
			pieces, complete, _, _ = dst.item(t, id)
			if last < 0 {
				last = pieces
			}
			return complete || pieces >= last+4
		})
		if complete {
			break
		}
		dst.proc.cmd.Process.Kill() // kill -9
		dst.proc.cmd.Wait()
		done++
		t.Logf("kill %d at %d pieces", done, pieces)
		dst.start(t)
	}
	dst.waitComplete(t, id)
	sameContainer(t, dst, id, container)
	_, _, fromServer, fromPeers := dst.item(t, id)
	var server, peers int64
	waitFor(t, "the head-end to have the box's figures", 30*time.Second, func() bool {
		server, peers = headendFigures(t, c, dst, id)
		return server == fromServer && peers == fromPeers
	})
	reported := server + peers
	errPct := 100 * math.Abs(float64(reported-sealed)) / float64(sealed)
	t.Logf("after %d kill -9s: the head-end has %d bytes (%d from the server, %d from peers) for a %d-byte title: error %.2f%%",
		done, reported, server, peers, sealed, errPct)
	if done == 0 {
		t.Fatal("the transfer ended before any kill: nothing was measured")
	}
	if errPct > 1 {
		t.Fatalf("byte count error %.2f%% after %d kills; want at most 1%%", errPct, done)
	}
}

// headendFigures is what the head-end has from box b for item id: bytes from the server and
// from peers.
func headendFigures(t *testing.T, c *cloud, b *box, id string) (server, peers int64) {
	t.Helper()
	var out struct {
		Transfers []struct {
			Box             string `json:"box"`
			Item            string `json:"item"`
			BytesFromServer int64  `json:"bytes_from_server"`
			BytesFromPeers  int64  `json:"bytes_from_peers"`
		} `json:"transfers"`
	}
	if err := json.Unmarshal([]byte(c.cmd(t, "transfers", "-json")), &out); err != nil {
		t.Fatal(err)
	}
	boxID := b.status(t).Box
	for _, r := range out.Transfers {
		if r.Box == boxID && r.Item == id {
			return r.BytesFromServer, r.BytesFromPeers
		}
	}
	return 0, 0
}

// TestStartOnFullDisk starts a box whose state folder's disk (a real tmpfs the test mounts) is
// full: it says so in words (the folder, the free space, what to do, never SQLite's "disk I/O
// error"), answers read-only on its socket meanwhile (status works and carries the sentence),
// and starts by itself once space returns.
func TestStartOnFullDisk(t *testing.T) {
	c := startCloud(t)
	disk := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", disk).CombinedOutput(); err != nil {
		t.Fatalf("mount a small tmpfs: %v %s", err, out)
	}
	t.Cleanup(func() {
		if err := exec.Command("umount", disk).Run(); err != nil {
			exec.Command("umount", "-l", disk).Run()
		}
	})
	id, _ := ingestRandom(t, c, "full-disk-film", 1<<20)
	b := &box{n: 21, dir: filepath.Join(disk, "box")}
	c.cmd(t, "account", "create", "-region", "eu-west", "-credit", "2000", "household-21")
	b.args = []string{"run", "-dir", b.dir, "-headend", c.url, "-enroll", c.enroll(t, "household-21"), "-listen", "127.0.0.22:0"}
	b.start(t)
	b.proc.stop()
	filler := filepath.Join(disk, "filler")
	fillDisk(t, filler)

	b.proc = start(t, "swarmboxd", b.args...)
	waitFor(t, "the box to say its disk is full", 30*time.Second, func() bool { return b.proc.logHas("the disk is full") })
	log := b.proc.Log()
	for _, want := range []string{b.dir, "bytes free", "Free space on that disk", "read-only"} {
		if !strings.Contains(log, want) {
			t.Errorf("the box's words on a full disk lack %q:\n%s", want, tail(log, 20))
		}
	}
	for _, bad := range []string{"disk I/O error", "4874"} {
		if strings.Contains(log, bad) {
			t.Errorf("the box shows SQLite's %q:\n%s", bad, tail(log, 20))
		}
	}
	waitFor(t, "the read-only API on the socket", 30*time.Second, func() bool {
		out, _, code := b.try(t, "status")
		return code == 0 && strings.Contains(out, "via the running daemon") && strings.Contains(out, "DISK FULL") && strings.Contains(out, b.dir)
	})
	if strings.Contains(b.proc.Log(), "box up") {
		t.Fatal("the box came up on a full disk")
	}
	// A wish meanwhile is refused in the same words, and changes nothing.
	if _, errOut, code := b.try(t, "wish", id); code == 0 || !strings.Contains(errOut, "disk") {
		t.Errorf("wish on a full disk: exit %d, %q; want a refusal saying the disk is full", code, errOut)
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the box to start once space returned", 60*time.Second, func() bool { return b.proc.logHas("box up") })
	if out := b.cmd(t, "status"); strings.Contains(out, "DISK FULL") {
		t.Fatalf("status still says the disk is full:\n%s", out)
	}
}

// fillDisk writes path until its disk refuses more.
func fillDisk(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	for n := len(buf); n >= 512; {
		if _, err := f.Write(buf[:n]); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			n /= 2
		}
	}
}
