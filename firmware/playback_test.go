package firmware

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/anacrolix/torrent/metainfo"
	"github.com/godbus/dbus/v5"

	"swarmbox/cloud/headend/headendtest"
	"swarmbox/firmware/boxbus"
	"swarmbox/internal/testenv"
	"swarmbox/internal/torrenttest"
	"swarmbox/media"
	"swarmbox/player"
	"swarmbox/storage"
	"swarmbox/sync/protocol"
	"swarmbox/sync/transfer"
)

// makeMP4 encodes a real H.264/AAC film with ffmpeg: a test card and a tone, moov up front as
// a streaming service would ship it.
func makeMP4(t *testing.T, seconds int) []byte {
	t.Helper()
	ffmpeg := testenv.RequireTool(t, "ffmpeg")
	out := filepath.Join(t.TempDir(), "film.mp4")
	cmd := exec.Command(ffmpeg, "-v", "error", "-f", "lavfi", "-i", fmt.Sprintf("testsrc=duration=%d:size=640x360:rate=25", seconds),
		"-f", "lavfi", "-i", fmt.Sprintf("sine=frequency=440:duration=%d", seconds),
		"-c:v", "libx264", "-preset", "ultrafast", "-b:v", "2M", "-pix_fmt", "yuv420p", "-c:a", "aac", "-movflags", "+faststart", "-shortest", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// probe is what ffprobe says of a file or URL: the streams and the duration.
type probe struct {
	Streams []struct {
		CodecType string `json:"codec_type"`
		CodecName string `json:"codec_name"`
	} `json:"streams"`
	Format struct {
		Duration string `json:"duration"`
	} `json:"format"`
}

func ffprobe(t *testing.T, input string) probe {
	t.Helper()
	bin := testenv.RequireTool(t, "ffprobe")
	b, err := exec.Command(bin, "-v", "error", "-show_entries", "stream=codec_type,codec_name:format=duration", "-of", "json", input).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", input, err)
	}
	var p probe
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

// playOverDBus serves api on a private bus and asks it, as the UI would, to play item.
func playOverDBus(t *testing.T, api *API, item string) string {
	t.Helper()
	addr := testenv.DBusDaemon(t)
	srv, err := dbus.Connect(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	svc, err := ServeDBus(srv, api, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	conn, err := dbus.Connect(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	var url string
	if err := conn.Object(boxbus.Name, boxbus.Path).Call(boxbus.MethodPlay, 0, item).Store(&url); err != nil {
		t.Fatalf("Play: %v", err)
	}
	return url
}

// getRange fetches [from, to] of url, giving up after d.
func getRange(url string, from, to int64, d time.Duration) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", from, to))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusPartialContent {
		return nil, fmt.Errorf("status %s", resp.Status)
	}
	return io.ReadAll(resp.Body)
}

// TestPlaybackOfARealFilm plays a bought H.264/AAC film through the keyed decryption pipe: what
// ffprobe sees on the playback URL is the source's streams and duration, and a seek to the
// middle returns exactly the source's bytes.
func TestPlaybackOfARealFilm(t *testing.T) {
	film := makeMP4(t, 6)
	h := headendtest.New(t, headendtest.Title{Name: "Film", Kind: protocol.KindVideo, Price: 300, Data: film})
	api := boxWithTitle(t, h)
	item := h.Items[0].ID
	if _, err := api.Buy(context.Background(), item, false); err != nil {
		t.Fatal(err)
	}
	url := playOverDBus(t, api, item.String())

	src := filepath.Join(t.TempDir(), "source.mp4")
	os.WriteFile(src, film, 0o600)
	want, got := ffprobe(t, src), ffprobe(t, url)
	if !reflect.DeepEqual(want, got) || len(got.Streams) != 2 {
		t.Fatalf("ffprobe of the playback stream = %+v, of the source = %+v", got, want)
	}
	mid := int64(len(film) / 2)
	b, err := getRange(url, mid, mid+100_000, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, film[mid:mid+100_001]) {
		t.Fatal("a seek to the middle returned other bytes than the source's")
	}
}

// TestPlaybackWhileDownloading plays a bought film of which only the first half of the pieces
// have arrived: its first half plays (ffmpeg decodes it), and a read past what has arrived waits
// for pieces rather than returning anything.
func TestPlaybackWhileDownloading(t *testing.T) {
	film := makeMP4(t, 8)
	h := headendtest.New(t, headendtest.Title{Name: "Film", Kind: protocol.KindVideo, Price: 300, Data: film})
	api := boxWithTitle(t, h)
	ctx := context.Background()
	it := h.Items[0]
	if _, err := api.Buy(ctx, it.ID, false); err != nil {
		t.Fatal(err)
	}
	// Keep the first half of the pieces of the container on disk, as a download would have.
	sealed, err := os.ReadFile(h.Repo.Path(it.ID))
	if err != nil {
		t.Fatal(err)
	}
	pieces, pieceLen := torrenttest.Pieces(t, it.Torrent)
	half := int64(pieces/2) * pieceLen
	if err := os.WriteFile(api.store.ContainerPath(it.ID), sealed[:half], 0o600); err != nil {
		t.Fatal(err)
	}
	api.store.UpdateItem(ctx, it.ID, pieces/2, false, 0, half, time.Now())
	pc := transfer.Completion(api.store)
	for i := range pieces {
		pc.Set(metainfo.PieceKey{InfoHash: metainfo.NewHashFromHex(it.InfoHash), Index: i}, i < pieces/2)
	}

	eng, err := transfer.New(transfer.Config{MediaDir: api.store.MediaDir(), ListenAddr: "127.0.0.1:0", Completion: transfer.Completion(api.store)})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	// No peers and no server: nothing more will arrive.
	if err := eng.Fetch(it.ID, it.Torrent, protocol.Fetch{Item: it.ID}); err != nil {
		t.Fatal(err)
	}
	api.stream = func(item media.ItemID) (player.Container, int64, error) {
		s, err := eng.Stream(item)
		if err != nil {
			return nil, 0, err
		}
		return s, s.Size(), nil
	}
	url := playOverDBus(t, api, it.ID.String())

	// The first third of the film lies well inside the verified half (the container adds a
	// 40-byte header and 16 bytes a 64 KiB chunk).
	third := int64(len(film) / 3)
	b, err := getRange(url, 0, third-1, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, film[:third]) {
		t.Fatal("the first third of a half-downloaded film is not the source's")
	}
	ffmpeg := testenv.RequireTool(t, "ffmpeg")
	dctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(dctx, ffmpeg, "-v", "error", "-i", url, "-t", "2", "-f", "null", "-").CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg could not decode the first 2 s of the half-downloaded film: %v\n%s", err, out)
	}
	if _, err := getRange(url, int64(len(film))-1000, int64(len(film))-1, 2*time.Second); err == nil {
		t.Fatal("the end of the film was served before its pieces arrived")
	}
}

// TestPlayHoldsTheTitleAgainstEviction: while a title plays over D-Bus, an eviction (the
// scheduler's, or for space) is refused; after Stop it goes through.
func TestPlayHoldsTheTitleAgainstEviction(t *testing.T) {
	h := headendtest.New(t, headendtest.Title{Name: "Film", Kind: protocol.KindVideo, Price: 300, Data: make([]byte, 100_000)})
	api := boxWithTitle(t, h)
	ctx := context.Background()
	item := h.Items[0].ID
	if _, err := api.Buy(ctx, item, true); err != nil {
		t.Fatal(err)
	}
	addr := testenv.DBusDaemon(t)
	srv, _ := dbus.Connect(addr)
	defer srv.Close()
	svc, err := ServeDBus(srv, api, "")
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	conn, _ := dbus.Connect(addr)
	defer conn.Close()
	obj := conn.Object(boxbus.Name, boxbus.Path)
	var url string
	if err := obj.Call(boxbus.MethodPlay, 0, item.String()).Store(&url); err != nil {
		t.Fatal(err)
	}
	if err := api.store.Evict(ctx, item, time.Now()); !errors.Is(err, storage.ErrNotEvictable) {
		t.Fatalf("evicting a title while it plays: %v, want ErrNotEvictable", err)
	}
	if err := obj.Call(boxbus.MethodStop, 0).Err; err != nil {
		t.Fatal(err)
	}
	if err := api.store.Evict(ctx, item, time.Now()); err != nil {
		t.Fatalf("after Stop the title still cannot be evicted: %v", err)
	}
}
