package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/anacrolix/torrent/metainfo"

	"swarmbox/cloud/headend/headendtest"
	"swarmbox/firmware"
	"swarmbox/firmware/boxbus"
	"swarmbox/internal/torrenttest"
	"swarmbox/storage"
	"swarmbox/sync/protocol"
	"swarmbox/sync/transfer"
)

// asSwarmboxd makes the test binary run as swarmboxd (TestMain), so the tests run the command
// as a real process: its own signals, its own exit.
const asSwarmboxd = "SWARMBOXD_TEST_AS_COMMAND"

func TestMain(m *testing.M) {
	if os.Getenv(asSwarmboxd) == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// swarmboxd is the command as a process of its own.
func swarmboxd(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	bin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), asSwarmboxd+"=1")
	return cmd
}

// eventually waits up to 30 s for ok.
func eventually(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !ok(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
	}
}

// downloadingBox is a real head-end whose web seed is held back until release, and a real box
// daemon (firmware.Run) with the first half of the head-end's one title on its disk, wished,
// bought, and being fetched: the title stays downloading until release is called.
type downloadingBox struct {
	dir     string
	id      string
	plain   []byte
	c       *boxbus.Client
	release func() // lets the rest of the title through
	stop    func() // stops the daemon
}

func startDownloadingBox(t *testing.T) *downloadingBox {
	t.Helper()
	ctx := context.Background()
	plain := make([]byte, 3<<20)
	rand.Read(plain)
	held := make(chan struct{})
	h := headendtest.Start(t, headendtest.Options{Wrap: func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasPrefix(r.URL.Path, protocol.PathSeed) {
				select {
				case <-held:
				case <-r.Context().Done():
					return
				}
			}
			next.ServeHTTP(w, r)
		})
	}}, headendtest.Title{Name: "Film", Price: 300, Data: plain})
	released := false
	release := func() {
		if !released {
			released = true
			close(held)
		}
	}
	t.Cleanup(release) // before the head-end closes: its handlers must return

	// The first half of the pieces on the box's disk, verified, as a download would leave them.
	it := h.Items[0]
	dir := t.TempDir()
	st, err := storage.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.EnsureIdentity(ctx, h.URL, headendtest.Account); err != nil {
		t.Fatal(err)
	}
	sealed, err := os.ReadFile(h.Repo.Path(it.ID))
	if err != nil {
		t.Fatal(err)
	}
	pieces, pieceLen := torrenttest.Pieces(t, it.Torrent)
	if pieces < 4 {
		t.Fatalf("the title has %d pieces: too few to be half there", pieces)
	}
	half := int64(pieces/2) * pieceLen
	if err := os.WriteFile(st.ContainerPath(it.ID), sealed[:half], 0o600); err != nil {
		t.Fatal(err)
	}
	if err := st.AddItem(ctx, it.ID, it.InfoHash, it.Torrent, pieces, int64(len(sealed)), time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := st.UpdateItem(ctx, it.ID, pieces/2, false, 0, half, time.Now()); err != nil {
		t.Fatal(err)
	}
	pc := transfer.Completion(st)
	for i := range pieces {
		pc.Set(metainfo.PieceKey{InfoHash: metainfo.NewHashFromHex(it.InfoHash), Index: i}, i < pieces/2)
	}
	st.Close()

	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- firmware.Run(runCtx, firmware.Config{Dir: dir, HeadendURL: h.URL, Enroll: h.Enroll(t), ListenAddr: "127.0.0.1:0",
			Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	}()
	b := &downloadingBox{dir: dir, id: it.ID.String(), plain: plain, release: release}
	stopped := false
	b.stop = func() {
		if stopped {
			return
		}
		stopped = true
		if b.c != nil {
			b.c.Close()
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("box: %v", err)
		}
	}
	t.Cleanup(b.stop)
	eventually(t, "the box answers, online, with the title", func() bool {
		if b.c == nil {
			if b.c, _ = boxbus.DialSocket(ctx, firmware.SocketPath(dir)); b.c == nil {
				return false
			}
		}
		item, err := b.c.Item(ctx, b.id)
		if err != nil || item.State == "" {
			return false
		}
		l, err := b.c.Link(ctx)
		return err == nil && l.Online && l.Registered
	})
	if err := b.c.SetWishlist(ctx, []string{b.id}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.c.Buy(ctx, b.id, false); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the box fetches the title (its plan came)", func() bool {
		if _, err := b.c.Play(ctx, b.id); err != nil {
			return false
		}
		return b.c.Stop(ctx) == nil
	})
	return b
}

func (b *downloadingBox) nowPlaying(t *testing.T) string {
	t.Helper()
	v, err := b.c.Property(context.Background(), boxbus.PropNowPlaying)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := v.Value().(string)
	return s
}

func (b *downloadingBox) complete(t *testing.T) bool {
	t.Helper()
	it, err := b.c.Item(context.Background(), b.id)
	if err != nil {
		t.Fatal(err)
	}
	return it.State.Complete()
}

// getRange fetches [from, to] of url.
func getRange(t *testing.T, url string, from, to int64) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", from, to))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusPartialContent {
		t.Fatalf("a range request: %s, want 206", resp.Status)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// serveAndStop runs `swarmboxd play -serve` on b's title, checks that its URL serves the range
// [from, to] of the title and that the box plays it meanwhile (when daemon, through the
// daemon), sends sig, and checks that the command ends cleanly and the playback is over.
func serveAndStop(t *testing.T, b *downloadingBox, from, to int64, daemon bool, sig os.Signal) {
	t.Helper()
	cmd := swarmboxd(t, "play", "-serve", "-dir", b.dir, b.id)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		cmd.Wait()
		t.Fatalf("no URL (%v); stderr: %s", err, stderr.String())
	}
	url := strings.TrimSpace(line)
	if !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Fatalf("printed %q, want the box's loopback URL", url)
	}
	if got := getRange(t, url, from, to); !bytes.Equal(got, b.plain[from:to+1]) {
		t.Fatalf("bytes %d-%d served differ from the title's", from, to)
	}
	if daemon {
		if now := b.nowPlaying(t); now != b.id {
			t.Fatalf("while served, the box plays %q, want %s", now, b.id)
		}
	}
	if err := cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("play -serve after %v: %v; stderr: %s", sig, err, stderr.String())
	}
	if daemon {
		if now := b.nowPlaying(t); now != "" {
			t.Fatalf("after play -serve ended, the box still plays %q", now)
		}
	}
	if !strings.Contains(stderr.String(), "mpv "+url) {
		t.Errorf("no hint on how to play it: %q", stderr.String())
	}
}

// TestPlayWhileDownloading runs `swarmboxd play` as a process against a real daemon whose
// title is half there: -serve prints a loopback URL that serves byte ranges of the part that
// has arrived while the title is still downloading, holds the playback until SIGTERM and then
// releases it (PLAY-3); `play --out FILE` streams the same title as it arrives instead of
// refusing it, and writes it whole (PLAY-2); with the daemon stopped, -serve serves the whole
// title in process and ends on Ctrl-C (PLAY-3).
func TestPlayWhileDownloading(t *testing.T) {
	b := startDownloadingBox(t)

	t.Run("serve", func(t *testing.T) {
		serveAndStop(t, b, 100_000, 299_999, true, syscall.SIGTERM)
		if b.complete(t) { // the web seed is held back: nothing more can have arrived
			t.Fatal("the title is complete: this test did not play while downloading")
		}
	})

	t.Run("out", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "film")
		cmd := swarmboxd(t, "play", "-dir", b.dir, b.id, "--out", out)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		eventually(t, "play --out opens the title", func() bool { return b.nowPlaying(t) == b.id })
		if b.complete(t) {
			t.Fatal("the title is complete: this test did not play while downloading")
		}
		b.release() // the rest of the title arrives from the head-end now
		if err := cmd.Wait(); err != nil {
			t.Fatalf("play --out of a title downloading: %v; stderr: %s", err, stderr.String())
		}
		got, err := os.ReadFile(out)
		if err != nil || !bytes.Equal(got, b.plain) {
			t.Fatalf("wrote %d bytes (%v), want the title's %d", len(got), err, len(b.plain))
		}
		if now := b.nowPlaying(t); now != "" {
			t.Fatalf("after play --out, the box still plays %q", now)
		}
	})

	t.Run("serve without a daemon", func(t *testing.T) {
		eventually(t, "the box has the whole title", func() bool { return b.complete(t) })
		b.stop()
		n := int64(len(b.plain))
		serveAndStop(t, b, n-200_000, n-1, false, os.Interrupt)
	})
}

// TestPlayWithoutDaemon: with no daemon running, `swarmboxd play` uses the box's API in
// process. A title half there is refused, saying that the daemon must run for the rest to
// arrive, and leaves no file (PLAY-2); once the title is whole, -serve serves it in process and
// ends on SIGINT (PLAY-3).
func TestPlayWithoutDaemon(t *testing.T) {
	b := startDownloadingBox(t)
	b.stop()
	out := filepath.Join(t.TempDir(), "film")
	for _, args := range [][]string{{"play", "-dir", b.dir, b.id, "--out", out}, {"play", "-serve", "-dir", b.dir, b.id}} {
		cmd := swarmboxd(t, args...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		if err == nil || !strings.Contains(stderr.String(), "not downloaded") || !strings.Contains(stderr.String(), "start the box with 'swarmboxd run'") {
			t.Fatalf("%v of a title half there, no daemon: %v, stderr %q; want a refusal saying to start the daemon", args, err, stderr.String())
		}
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Fatalf("a refused play left %s behind", out)
	}
}

// TestPlayServeAndOutExclusive: -serve with --out is refused before anything plays.
func TestPlayServeAndOutExclusive(t *testing.T) {
	err := play(context.Background(), []string{"-serve", "-out", "x", "-dir", t.TempDir(), "00112233445566778899aabbccddeeff"})
	if err == nil || !strings.Contains(err.Error(), "not both") {
		t.Fatalf("-serve with --out: %v", err)
	}
}
