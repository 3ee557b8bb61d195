package e2e

import (
	"bytes"
	"crypto/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"swarmbox/internal/testenv"
)

// TestFlash runs scripts/flash against regular files (no loop devices, no root): it writes and
// verifies an image file only when told --allow-file, and refuses a target that the mount table
// (a fake one, through FLASH_MOUNTS) shows mounted or holding /, without touching it.
func TestFlash(t *testing.T) {
	dir := t.TempDir()
	img := filepath.Join(dir, "box.img")
	data := bytes.Repeat([]byte("swarmbox image "), 100_000)
	if err := os.WriteFile(img, data, 0o644); err != nil {
		t.Fatal(err)
	}
	card := filepath.Join(dir, "card.img")
	cases := []struct {
		name   string
		args   []string
		mounts string // fake mount table; %s is the target
		code   int
		out    string
		writes bool
	}{
		{"usage", nil, "", 2, "usage:", false},
		{"missing image", []string{"--yes", filepath.Join(dir, "none.img"), card}, "", 1, "run 'make image' first", false},
		{"regular file needs --allow-file", []string{"--yes", img, card}, "", 1, "not a block device: refusing", false},
		{"directory", []string{"--yes", "--allow-file", img, dir}, "", 1, "neither a block device nor a regular file", false},
		{"mounted", []string{"--yes", "--allow-file", img, card}, "%s /media/card vfat rw 0 0\n", 1, "is mounted on /media/card", false},
		{"holds root", []string{"--yes", "--allow-file", img, card}, "/dev/vda1 /boot ext4 rw 0 0\n%s / ext4 rw 0 0\n", 1, "root file system", false},
		{"asks first", []string{"--allow-file", img, card}, "", 1, "pass --yes", false},
		{"unknown option", []string{"--force", img, card}, "", 2, "unknown option", false},
		{"writes and verifies", []string{"--yes", "--allow-file", img, card}, "", 0, "done, verified sha256", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			os.Remove(card)
			os.WriteFile(card, []byte("old contents"), 0o644)
			runFlash(t, strings.ReplaceAll(c.mounts, "%s", card), c.code, c.out, c.args...)
			got, _ := os.ReadFile(card)
			if c.writes != bytes.Equal(got, data) || (!c.writes && string(got) != "old contents") {
				t.Fatalf("target holds %d bytes after the run (writes=%v)", len(got), c.writes)
			}
		})
	}
}

// runFlash runs scripts/flash with the mount table given and fails the test unless it exits
// with code and says want.
func runFlash(t *testing.T, mounts string, code int, want string, args ...string) {
	t.Helper()
	table := filepath.Join(t.TempDir(), "mounts")
	if err := os.WriteFile(table, []byte(mounts), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", append([]string{"../scripts/flash"}, args...)...)
	cmd.Env = append(os.Environ(), "FLASH_MOUNTS="+table)
	out, err := cmd.CombinedOutput()
	got := 0
	if ee, ok := err.(*exec.ExitError); ok {
		got = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	if got != code || !strings.Contains(string(out), want) {
		t.Fatalf("exit %d, want %d; output:\n%s\nwant it to say %q", got, code, out, want)
	}
}

// TestRunQEMURefusals: scripts/run-qemu refuses bad arguments and a missing image with a
// message saying what to do, before starting anything.
func TestRunQEMURefusals(t *testing.T) {
	cases := []struct {
		name string
		args []string
		img  string
		code int
		out  string
	}{
		{"zero boxes", []string{"-n", "0"}, "", 2, "-n takes 1 to 99 boxes"},
		{"not a number", []string{"-n", "x"}, "", 2, "-n takes 1 to 99 boxes"},
		{"unknown option", []string{"-bogus"}, "", 2, "unknown option -bogus"},
		{"no image", nil, t.TempDir(), 1, "run 'make image' first"},
		{"bad head-end", []string{"-headend", "http://127.0.0.1:port"}, "", 2, "-headend must be"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cmd := exec.Command("bash", append([]string{"../scripts/run-qemu"}, c.args...)...)
			img := c.img
			if img == "" {
				img = t.TempDir()
				for _, f := range []string{"vmlinuz", "initrd.img", "swarmbox-arm64.img"} {
					os.WriteFile(filepath.Join(img, f), nil, 0o644)
				}
			}
			cmd.Env = append(os.Environ(), "IMG="+img, "RUN="+t.TempDir(), "PATH=/usr/bin:/bin")
			out, err := cmd.CombinedOutput()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			}
			if code != c.code || !strings.Contains(string(out), c.out) {
				t.Fatalf("exit %d, want %d; output %q, want %q", code, c.code, out, c.out)
			}
		})
	}
}

// TestFlashBlockDevice runs scripts/flash against real block devices: loop devices over files
// the test creates (and detaches at the end). A device with a mounted partition (in a fake mount
// table) and one smaller than the image are refused untouched; a free one is written and
// verified by reading back.
func TestFlashBlockDevice(t *testing.T) {
	testenv.RequireRoot(t)
	losetup := testenv.RequireTool(t, "losetup")
	testenv.RequireTool(t, "blockdev")
	dir := t.TempDir()
	img := filepath.Join(dir, "box.img")
	data := make([]byte, 3<<20)
	rand.Read(data)
	if err := os.WriteFile(img, data, 0o644); err != nil {
		t.Fatal(err)
	}
	old := []byte("old card contents ")
	device := func(name string, size int) (dev, backing string) {
		backing = filepath.Join(dir, name)
		if err := os.WriteFile(backing, bytes.Repeat(old, size/len(old)+1)[:size], 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(losetup, "--find", "--show", backing).CombinedOutput()
		if err != nil {
			t.Fatalf("losetup: %v %s", err, out)
		}
		dev = strings.TrimSpace(string(out))
		t.Cleanup(func() { exec.Command(losetup, "-d", dev).Run() })
		return dev, backing
	}
	card, cardFile := device("card", 4<<20)
	small, smallFile := device("small", 1<<20)
	cases := []struct {
		name, target, backing, mounts string // mounts: fake mount table, %s is the target
		code                          int
		out                           string
		writes                        bool
	}{
		{"partition mounted", card, cardFile, "%sp1 /media/card vfat rw 0 0\n", 1, "is mounted on /media/card", false},
		{"too small", small, smallFile, "", 1, "the image needs 3145728", false},
		{"writes and verifies", card, cardFile, "", 0, "done, verified sha256", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			runFlash(t, strings.ReplaceAll(c.mounts, "%s", c.target), c.code, c.out, "--yes", img, c.target)
			got, err := os.ReadFile(c.backing)
			if err != nil {
				t.Fatal(err)
			}
			if wrote := bytes.HasPrefix(got, data); wrote != c.writes {
				t.Fatalf("the device holds the image: %v, want %v", wrote, c.writes)
			}
			if !c.writes && !bytes.HasPrefix(got, old) {
				t.Fatal("a refused flash changed the device")
			}
		})
	}
}
