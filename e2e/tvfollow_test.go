package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"swarmbox/internal/testenv"
)

// followFigures is what TestTVFollowsTheBox measures; scripts/bench-box runs it against this
// tree's binaries and a baseline's (SWARMBOX_E2E_BIN) and puts the two side by side.
type followFigures struct {
	Samples       int     `json:"samples"`
	RedrawP50ms   float64 `json:"redraw_p50_ms"`
	RedrawP99ms   float64 `json:"redraw_p99_ms"`
	RedrawMaxms   float64 `json:"redraw_max_ms"`
	IdleSeconds   float64 `json:"idle_seconds"`
	DaemonIdleCPU float64 `json:"daemon_idle_cpu_pct"` // of one core
	UIIdleCPU     float64 `json:"ui_idle_cpu_pct"`
}

// TestTVFollowsTheBox changes the wishlist through the box's D-Bus API while the TV shows it,
// and checks that each change reaches the screen without a key press. It logs the time from
// the change to the redraw and the idle CPU of the daemon and the UI (figures for
// docs/benchmarks.md; SWARMBOX_E2E_SAMPLES and SWARMBOX_E2E_IDLE make the run longer).
func TestTVFollowsTheBox(t *testing.T) {
	samples := envInt("SWARMBOX_E2E_SAMPLES", 10)
	idle := time.Duration(envInt("SWARMBOX_E2E_IDLE", 5)) * time.Second
	bus := testenv.DBusDaemon(t)
	c := startCloud(t)
	dir := t.TempDir()
	film, track := filepath.Join(dir, "film.avi"), filepath.Join(dir, "track.wav")
	must(t, "swarmbox-cloud", "testcard", "-kind", "video", "-seconds", "2", film)
	must(t, "swarmbox-cloud", "testcard", "-kind", "audio", "-seconds", "2", track)
	filmID, _ := c.ingest(t, film, "Sample Film", "video")
	trackID, _ := c.ingest(t, track, "Test Tone Suite", "audio")
	b := startBox(t, c, 1, "-dbus", bus)

	conn, err := dbus.Connect(bus)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	obj := conn.Object("org.swarmbox.Box", "/org/swarmbox/Box1")
	call := func(method string, args ...any) error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return obj.CallWithContext(ctx, "org.swarmbox.Box1."+method, 0, args...).Err
	}
	// The catalog replica arrives with the first sync; until then the ids are unknown.
	waitFor(t, "the catalog replica", 30*time.Second, func() bool { return call("Item", filmID) == nil })
	if err := call("SetWishlist", []string{filmID, trackID}); err != nil {
		t.Fatal(err)
	}
	b.waitComplete(t, filmID)
	b.waitComplete(t, trackID)

	ui := startUI(t, bus, 100, 30)
	ui.see(20*time.Second, "Browse the catalog", "My wishlist")
	ui.keys("Down", "Enter") // My wishlist
	ui.see(10*time.Second, "1. Sample Film", "2. Test Tone Suite")

	// Idle: the titles are in, nobody presses a key; the daemon still syncs with its head-end.
	uiPID := ui.pid()
	time.Sleep(2 * time.Second)
	d0, u0 := cpuSeconds(t, b.proc.cmd.Process.Pid), cpuSeconds(t, uiPID)
	start := time.Now()
	time.Sleep(idle)
	wall := time.Since(start).Seconds()
	d1, u1 := cpuSeconds(t, b.proc.cmd.Process.Pid), cpuSeconds(t, uiPID)

	first := map[bool]*regexp.Regexp{
		true:  regexp.MustCompile(`1\.\s+Test Tone Suite`),
		false: regexp.MustCompile(`1\.\s+Sample Film`),
	}
	var lat []float64
	for i := range samples {
		trackFirst := i%2 == 0
		move := filmID
		if trackFirst {
			move = trackID
		}
		t0 := time.Now()
		if err := call("MoveWish", move, int32(1)); err != nil {
			t.Fatal(err)
		}
		for !first[trackFirst].MatchString(ui.screen()) {
			if time.Since(t0) > 5*time.Second {
				t.Fatalf("change %d: the TV did not show the new order within 5 s:\n%s", i, ui.screen())
			}
		}
		lat = append(lat, float64(time.Since(t0).Microseconds())/1000)
	}
	slices.Sort(lat)
	f := followFigures{Samples: len(lat), RedrawP50ms: quantile(lat, 0.50), RedrawP99ms: quantile(lat, 0.99), RedrawMaxms: lat[len(lat)-1],
		IdleSeconds: wall, DaemonIdleCPU: 100 * (d1 - d0) / wall, UIIdleCPU: 100 * (u1 - u0) / wall}
	js, _ := json.Marshal(f)
	t.Logf("figures: %s", js)
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// quantile of sorted xs, nearest rank.
func quantile(xs []float64, q float64) float64 {
	i := int(q*float64(len(xs))+0.5) - 1
	return xs[min(max(i, 0), len(xs)-1)]
}

// cpuSeconds is the user+system CPU time a process has used, from /proc/PID/stat.
func cpuSeconds(t *testing.T, pid int) float64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	// The command name, in parentheses, may hold spaces; fields count from after it.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100 // USER_HZ is 100 on Linux
}

// pid is the UI process's pid: tmux's pane process, which execs into swarmboxd.
func (u *tmuxUI) pid() int {
	u.t.Helper()
	out, err := exec.Command(u.tmux, "list-panes", "-t", u.session, "-F", "#{pane_pid}").Output()
	if err != nil {
		u.t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		u.t.Fatalf("tmux pane pid %q: %v", out, err)
	}
	if comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid)); strings.TrimSpace(string(comm)) != "swarmboxd" {
		u.t.Fatalf("the pane's process is %q, not swarmboxd", comm)
	}
	return pid
}

// TestTVSaysTheBoxIsNotAnswering pauses the real daemon with SIGSTOP under a running TV: a
// stopped process keeps its bus name, so only the UI's deadlines can tell. The TV says so,
// keeps moving between the screens it has, and recovers by itself after SIGCONT.
func TestTVSaysTheBoxIsNotAnswering(t *testing.T) {
	bus := testenv.DBusDaemon(t)
	c := startCloud(t)
	film := filepath.Join(t.TempDir(), "film.avi")
	must(t, "swarmbox-cloud", "testcard", "-kind", "video", "-seconds", "2", film)
	filmID, _ := c.ingest(t, film, "Sample Film", "video")
	b := startBox(t, c, 1, "-dbus", bus)
	ui := startUI(t, bus, 100, 30)
	ui.see(20*time.Second, "Browse the catalog", "My wishlist")

	pid := b.proc.cmd.Process.Pid
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	// A failed test must not leave a stopped process behind for the cleanup to wait on.
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGCONT) })
	ui.see(20*time.Second, "The box is not answering")
	ui.keys("Down", "Enter") // My wishlist: the TV still navigates what it has
	ui.see(5*time.Second, "Wishlist — most wanted first", "Your wishlist is empty", "The box is not answering")

	if err := syscall.Kill(pid, syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the TV to notice the box answers again", 20*time.Second, func() bool {
		return !strings.Contains(ui.screen(), "not answering")
	})
	// And it follows the box again: a wish made over the bus reaches the wishlist screen.
	conn, err := dbus.Connect(bus)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := conn.Object("org.swarmbox.Box", "/org/swarmbox/Box1").CallWithContext(ctx, "org.swarmbox.Box1.SetWishlist", 0, []string{filmID}).Err; err != nil {
		t.Fatal(err)
	}
	ui.see(10*time.Second, "1. Sample Film")
}
