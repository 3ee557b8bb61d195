package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"swarmbox/internal/testenv"
)

// tmuxUI runs `swarmboxd ui` in a detached tmux session of the given size.
type tmuxUI struct {
	t         *testing.T
	tmux      string
	session   string
	positions string // the UI's resume file: names its process (playerURL)
}

func startUI(t *testing.T, busAddr string, w, h int) *tmuxUI {
	t.Helper()
	u := &tmuxUI{t: t, tmux: testenv.RequireTool(t, "tmux"), session: fmt.Sprintf("sbx-ui-%d", time.Now().UnixNano()%1e9),
		positions: filepath.Join(t.TempDir(), "positions.json")}
	// mpv with no video or audio output plays in real time and answers on its control socket.
	mpv := testenv.RequireTool(t, "mpv")
	cmd := fmt.Sprintf("%s ui -dbus %q -player '%s --vo=null --ao=null' -positions %s", filepath.Join(binDir, "swarmboxd"), busAddr, mpv, u.positions)
	if out, err := exec.Command(u.tmux, "new-session", "-d", "-s", u.session, "-x", fmt.Sprint(w), "-y", fmt.Sprint(h), "env TERM=xterm-256color "+cmd).CombinedOutput(); err != nil {
		t.Fatalf("tmux: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("last screen:\n%s", u.screen())
		}
		exec.Command(u.tmux, "kill-session", "-t", u.session).Run()
	})
	return u
}

func (u *tmuxUI) screen() string {
	out, _ := exec.Command(u.tmux, "capture-pane", "-p", "-t", u.session).Output()
	return string(out)
}

// playerURL is the stream the UI's player was started on, from the player's command line (the
// TV never shows it: UI-2).
func (u *tmuxUI) playerURL() string {
	u.t.Helper()
	stream := regexp.MustCompile(`^http://127\.0\.0\.1:\d+/play/[0-9a-f]+$`)
	var url string
	waitFor(u.t, "the player to start on the box's stream", 10*time.Second, func() bool {
		procs, _ := filepath.Glob("/proc/[0-9]*")
		var ui string
		for _, p := range procs {
			if args := cmdline(p); slices.Contains(args, u.positions) {
				ui = filepath.Base(p)
			}
		}
		for _, p := range procs {
			status, _ := os.ReadFile(filepath.Join(p, "status"))
			if ui == "" || !regexp.MustCompile(`(?m)^PPid:\s+`+ui+`$`).Match(status) {
				continue
			}
			if i := slices.IndexFunc(cmdline(p), stream.MatchString); i >= 0 {
				url = cmdline(p)[i]
				return true
			}
		}
		return false
	})
	return url
}

// cmdline is a process's arguments.
func cmdline(proc string) []string {
	b, _ := os.ReadFile(filepath.Join(proc, "cmdline"))
	return strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
}

// keys presses remote keys (tmux key names: Up, Down, Enter, Escape, F1…).
func (u *tmuxUI) keys(k ...string) {
	u.t.Helper()
	for _, key := range k {
		if out, err := exec.Command(u.tmux, "send-keys", "-t", u.session, key).CombinedOutput(); err != nil {
			u.t.Fatalf("send-keys %s: %v %s", key, err, out)
		}
		time.Sleep(150 * time.Millisecond)
	}
}

// see waits until the screen shows all of want.
func (u *tmuxUI) see(timeout time.Duration, want ...string) string {
	u.t.Helper()
	var s string
	waitFor(u.t, fmt.Sprintf("the screen to show %q", want), timeout, func() bool {
		s = u.screen()
		for _, w := range want {
			if !strings.Contains(s, w) {
				return false
			}
		}
		return true
	})
	return s
}

// TestTVWithRemoteKeys drives the TV UI with remote keys only, against real head-end and box
// processes on a private D-Bus: browse, wish, reorder, watch progress, buy, play.
func TestTVWithRemoteKeys(t *testing.T) {
	bus := testenv.DBusDaemon(t)
	c := startCloud(t)
	dir := t.TempDir()
	film, track := filepath.Join(dir, "film.avi"), filepath.Join(dir, "track.wav")
	must(t, "swarmbox-cloud", "testcard", "-kind", "video", "-seconds", "8", film)
	must(t, "swarmbox-cloud", "testcard", "-kind", "audio", "-seconds", "5", track)
	c.ingest(t, film, "Sample Film", "video", "-category", "Films/Drama")
	c.ingest(t, track, "Test Tone Suite", "audio", "-category", "music/jazz")
	startBox(t, c, 1, "-dbus", bus)
	// The catalog replica arrives with the first sync.
	ui := startUI(t, bus, 100, 30)

	ui.see(20*time.Second, "Browse the catalog", "My wishlist", "Downloads")
	ui.keys("Enter") // Browse the catalog
	ui.see(20*time.Second, "Sample Film", "Test Tone Suite", "Catalog — all titles (2)", "all (2)", "films (1)")
	// Right and Left move along the categories: all, films, films/drama, music, music/jazz.
	for _, step := range []struct {
		key, title, listed, hidden string
	}{
		{"Right", "Catalog — films (1)", "Sample Film", "Test Tone Suite"},
		{"Right", "Catalog — films/drama (1)", "Sample Film", "Test Tone Suite"},
		{"Right", "Catalog — music (1)", "Test Tone Suite", "Sample Film"},
		{"Right", "Catalog — music/jazz (1)", "Test Tone Suite", "Sample Film"},
		{"F1", "Catalog — video · music/jazz (0)", "", "Sample Film"}, // Red: no video in jazz
		{"Left", "Catalog — video · films/drama (1)", "Sample Film", "Test Tone Suite"},
	} {
		ui.keys(step.key)
		s := ui.see(5*time.Second, step.title, step.listed)
		if strings.Contains(s, step.hidden) {
			t.Fatalf("after %s the catalog still lists %s:\n%s", step.key, step.hidden, s)
		}
	}
	ui.keys("Enter") // the film: its category on the Item screen
	ui.see(5*time.Second, "Category  films/drama")
	ui.keys("Escape", "F1", "Left", "Left") // back; every kind; all categories
	ui.see(5*time.Second, "Catalog — all titles (2)", "Sample Film", "Test Tone Suite")
	ui.keys("F1") // Red: video only
	s := ui.see(5*time.Second, "Catalog — video (1)")
	if strings.Contains(s, "Test Tone Suite") {
		t.Fatal("the video filter still lists the audio track")
	}
	ui.keys("Enter") // the film
	ui.see(5*time.Second, "Add to wishlist", "3.99 to own")
	ui.keys("Enter") // Add to wishlist
	ui.see(5*time.Second, "On your wishlist")

	// Wish the audio track too, then make it the most wanted from the wishlist screen.
	ui.keys("Escape", "F1", "F2") // back to the catalog; audio only
	ui.see(5*time.Second, "Catalog — audio (1)")
	ui.keys("Enter", "Enter") // the track; Add to wishlist (last)
	ui.see(5*time.Second, "On your wishlist")
	ui.keys("Home")
	ui.see(5*time.Second, "Browse the catalog")
	ui.keys("Down", "Enter") // My wishlist
	ui.see(5*time.Second, "1. Sample Film", "2. Test Tone Suite")
	ui.keys("Down", "F1") // Red on the track: move it up
	ui.see(5*time.Second, "1. Test Tone Suite", "2. Sample Film")

	// Progress, then ready to buy.
	ui.keys("Home", "Down", "Down", "Enter") // Downloads
	ui.see(60*time.Second, "Sample Film", "Test Tone Suite", "ready")
	ui.keys("Home")
	// Home lists the menu, then titles by state; walk down to the film's "Ready to buy" row.
	readyFilm := regexp.MustCompile(`Ready to buy\s+Sample Film`)
	waitFor(t, "the film to be ready to buy on Home", 60*time.Second, func() bool { return readyFilm.MatchString(ui.screen()) })
	lines := strings.Split(ui.screen(), "\n")
	first := slices.IndexFunc(lines, func(l string) bool { return strings.Contains(l, "Browse the catalog") })
	target := slices.IndexFunc(lines, readyFilm.MatchString)
	if first < 0 || target < first {
		t.Fatalf("home screen without the menu above the film:\n%s", strings.Join(lines, "\n"))
	}
	for range target - first {
		ui.keys("Down")
	}
	ui.keys("Enter")
	// Prices in the head-end's currency (UI-2).
	ui.see(5*time.Second, "Sample Film", "Buy for €3.99", "Rent for €1.33, 2 days")
	ui.keys("Enter")                                                                        // Buy for €3.99
	ui.see(5*time.Second, "Buy Sample Film for €3.99?", "Balance €20.00, after", "€16.01.") // the head-end's figure, through the box
	ui.keys("Enter")                                                                        // confirm
	ui.see(15*time.Second, "€3.99 paid", "Play")
	ui.keys("Enter") // ▶ Play
	s = ui.see(10*time.Second, "Starting Sample Film")
	if strings.Contains(s, "http://") {
		t.Fatalf("the TV shows an internal address:\n%s", s)
	}
	url := ui.playerURL()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	want, _ := os.ReadFile(film)
	if !bytes.Equal(got, want) {
		t.Fatalf("the stream (%d bytes) is not the film (%d bytes)", len(got), len(want))
	}
	// The player overlay follows mpv: the position moves, Play/Pause pauses, Stop ends it, and
	// the title waits on Home under "Continue watching", to resume where it stopped.
	ui.see(10*time.Second, "▶ Playing", "0:01 / 0:08")
	ui.keys("Space")
	ui.see(5*time.Second, "‖ Paused")
	ui.keys("s") // Stop
	ui.see(5*time.Second, "Stopped.")
	ui.keys("Home")
	// Its row keeps its place and shows the digit that jumps to it (UI-3).
	continueFilm := regexp.MustCompile(`([0-9]) Continue watching\s+Sample Film`)
	waitFor(t, "Continue watching on Home", 10*time.Second, func() bool { return continueFilm.MatchString(ui.screen()) })
	ui.keys(continueFilm.FindStringSubmatch(ui.screen())[1], "Enter")
	ui.see(5*time.Second, "▶ Resume from 0:0", "▶ Play from the start")
}
