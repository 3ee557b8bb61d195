package ui

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"swarmbox/player"
)

func TestPositionsRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", "positions.json")
	p, err := loadPositions(path)
	if err != nil || len(p.m) != 0 {
		t.Fatalf("a missing file: %v, %v", p.m, err)
	}
	now := time.Unix(1_800_000_000, 0).UTC()
	for _, tc := range []struct {
		id   string
		st   player.Status
		keep bool
	}{
		{"a", player.Status{Position: 754, Duration: 5400}, true},
		{"b", player.Status{Position: 0.4, Duration: 5400}, false},  // barely started
		{"c", player.Status{Position: 5300, Duration: 5400}, false}, // in the credits
		{"d", player.Status{Position: 30}, true},                    // length unknown
	} {
		if err := p.record(tc.id, tc.st, now); err != nil {
			t.Fatal(err)
		}
		if _, ok := p.m[tc.id]; ok != tc.keep {
			t.Errorf("%s at %v of %v: kept %v, want %v", tc.id, tc.st.Position, tc.st.Duration, ok, tc.keep)
		}
	}
	again, err := loadPositions(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(again.m) != 2 || again.m["a"].Position != 754 || !again.m["a"].At.Equal(now) {
		t.Fatalf("reloaded %v", again.m)
	}
	// Finishing a title forgets it.
	again.record("a", player.Status{Position: 5399, Duration: 5400}, now)
	if _, ok := again.m["a"]; ok {
		t.Error("a finished title is still to be continued")
	}
}

func TestPositionsDamagedFileIsSetAside(t *testing.T) {
	path := filepath.Join(t.TempDir(), "positions.json")
	os.WriteFile(path, []byte(`{"a": {"position": 12`), 0o600)
	p, err := loadPositions(path)
	if err == nil || !strings.Contains(err.Error(), "set aside") || len(p.m) != 0 {
		t.Fatalf("damaged file: %v, %v", p.m, err)
	}
	if _, err := os.Stat(path + ".damaged"); err != nil {
		t.Errorf("the damaged file was not kept for a look: %v", err)
	}
	if err := p.record("x", player.Status{Position: 60}, time.Now()); err != nil {
		t.Fatalf("saving after a damaged file: %v", err)
	}
}

// TestPositionsOnANullDevice: `swarmboxd ui -positions /dev/null` keeps no positions and leaves
// the device be (the file was set aside as damaged and replaced by a rename before) (PLAY-1).
func TestPositionsOnANullDevice(t *testing.T) {
	dev := filepath.Join(t.TempDir(), "null")
	if err := unix.Mknod(dev, unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))); err != nil {
		if os.Getuid() != 0 && os.Getenv("CI") != "true" {
			t.Skipf("mknod needs root (%v)", err)
		}
		t.Fatalf("mknod of a null device: %v", err)
	}
	p, err := loadPositions(dev)
	if err != nil || len(p.m) != 0 {
		t.Fatalf("an empty device: %v, %v", p.m, err)
	}
	if err := p.record("x", player.Status{Position: 60}, time.Now()); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{dev, dev + ".damaged"} {
		if fi, err := os.Lstat(n); n == dev && (err != nil || fi.Mode()&os.ModeCharDevice == 0) {
			t.Fatalf("the device is now %v (%v)", fi, err)
		} else if n != dev && err == nil {
			t.Fatalf("the device was set aside as %s", n)
		}
	}
}
