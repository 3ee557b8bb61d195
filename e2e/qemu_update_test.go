package e2e

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"swarmbox/emulator"
	"swarmbox/internal/testenv"
)

// The firmware update tests (issue 15, FW-2..FW-6) boot the image, install a signed bundle of
// a new version into slot b, and restart the box (QEMU runs with -no-reboot, so a restart is
// the QEMU process ending and the test booting the same disk again).

// updateRig is a QEMU box on its own disk, with a head-end, and bundles to offer it.
type updateRig struct {
	img, disk, key string
	headend        string
	enroll         string
	files          string // served to the guest at fileURL
	fileURL        string
	boots          int
}

func newUpdateRig(t *testing.T) *updateRig {
	t.Helper()
	img := boxImage(t)
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	c := startCloud(t)
	c.cmd(t, "account", "create", "-region", "eu-west", "-credit", "2000", "household-fw")
	r := &updateRig{img: img, disk: guestDisk(t, img), key: filepath.Join(root, "out", "keys", "firmware.key"),
		headend: guestHeadend(t, c), enroll: c.enroll(t, "household-fw"), files: t.TempDir()}
	// The guest fetches bundles from the host's loopback (10.0.2.2 in QEMU's user network).
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.FileServer(http.Dir(r.files))}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	r.fileURL = fmt.Sprintf("http://10.0.2.2:%d/", l.Addr().(*net.TCPAddr).Port)
	return r
}

// bundle builds a bundle of rootfs with swarmbox-cloud firmware build and returns its URL
// as the guest sees it.
func (r *updateRig) bundle(t *testing.T, rootfs, version string) string {
	t.Helper()
	name := "v" + version + ".bundle"
	out := must(t, "swarmbox-cloud", "firmware", "build", "-key", r.key, "-version", version, "-hardware", "qemu-arm64", rootfs, "-o", filepath.Join(r.files, name))
	t.Logf("%s", strings.TrimSpace(out))
	return r.fileURL + name
}

// boot starts the box on the rig's disk; trial boots get timeout seconds to come up healthy.
func (r *updateRig) boot(t *testing.T, trialTimeout int) *emulator.Guest {
	t.Helper()
	r.boots++
	dir := filepath.Join(t.ArtifactDir(), fmt.Sprintf("boot%d", r.boots))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return bootGuest(t, emulator.Config{ImageDir: r.img, Disk: r.disk, Dir: dir, DebugShell: true,
		Append: []string{"swarmbox.headend=" + r.headend, "swarmbox.enroll=" + r.enroll, fmt.Sprintf("swarmbox.trial_timeout=%d", trialTimeout)}})
}

// guestSlots is `swarmboxd update status -json`.
type guestSlots struct {
	Booted, Active, Trying, Running, Note string
	TriesLeft                             int `json:"tries_left"`
	Versions                              [2]string
}

func updateStatus(t *testing.T, g *emulator.Guest) guestSlots {
	t.Helper()
	out := guestShell(t, g, 30*time.Second, "swarmboxd update status -json 2>&1")
	var s guestSlots
	i := strings.Index(out, "{")
	if i < 0 || json.Unmarshal([]byte(out[i:]), &s) != nil {
		t.Fatalf("update status: %q", out)
	}
	return s
}

// install installs the bundle at url on the running guest and restarts it (sync, then power
// cycle: QEMU exits on reboot).
func (r *updateRig) installAndRestart(t *testing.T, g *emulator.Guest, url string, tries int) {
	t.Helper()
	out := guestShell(t, g, 3*time.Minute, fmt.Sprintf("swarmboxd update install -tries %d %s 2>&1", tries, url))
	t.Logf("guest: %s", strings.TrimSpace(out))
	if !strings.Contains(out, "into slot b") {
		t.Fatalf("update install: %s", out)
	}
	if s := updateStatus(t, g); s.Trying != "b" || s.Active != "a" || s.TriesLeft != tries {
		t.Fatalf("after install: %+v; want slot b on trial with %d tries, a active", s, tries)
	}
	guestShell(t, g, 30*time.Second, "sync")
	g.Stop()
}

// TestQEMUUpdateSwitches: a version-1 box installs a signed version-2 bundle over HTTP;
// restarted, it boots slot b on trial, its health check (daemon API on D-Bus, UI connected)
// confirms the slot, and `swarmboxd update status` shows version 2 active (FW-2, FW-4, FW-5).
func TestQEMUUpdateSwitches(t *testing.T) {
	r := newUpdateRig(t)
	url := r.bundle(t, filepath.Join(r.img, "rootfs.ext4"), "2")
	g := r.boot(t, 180)
	waitSerial(t, g, 60*time.Second, `swarmbox: root slot a \(/dev/vda1, normal boot\)`)
	waitSerial(t, g, 120*time.Second, `msg="box up"`)
	if s := updateStatus(t, g); s.Running != "1" || s.Booted != "a" || s.Versions[1] != "" {
		t.Fatalf("a new box: %+v; want version 1 from slot a, slot b empty", s)
	}
	r.installAndRestart(t, g, url, 2)

	g = r.boot(t, 180)
	waitSerial(t, g, 60*time.Second, `swarmbox: root slot b \(/dev/vda2, trial boot\)`)
	waitSerial(t, g, 180*time.Second, `msg="firmware: slot healthy, confirmed" slot=b version=2`)
	switched := time.Since(g.Started())
	s := updateStatus(t, g)
	if s.Booted != "b" || s.Active != "b" || s.Trying != "none" || s.Running != "2" || !strings.Contains(s.Note, "came up healthy") {
		t.Fatalf("after the switch: %+v; want version 2 active in slot b", s)
	}
	t.Logf("QEMU switch: power on to slot b confirmed healthy: %s", switched.Round(time.Second))
	os.WriteFile(filepath.Join(t.ArtifactDir(), "switch-time.txt"), []byte(fmt.Sprintf("power on to slot b confirmed healthy: %s\n", switched.Round(100*time.Millisecond))), 0o644)
}

// TestQEMUUpdateFallsBack: a version-2 bundle whose daemon cannot start is signed and
// installs, but never passes the health check: the initramfs's watchdog restarts the box
// after each of its 2 trial boots, then the box falls back to slot a (version 1) and
// `swarmboxd update status` says why (FW-5).
func TestQEMUUpdateFallsBack(t *testing.T) {
	r := newUpdateRig(t)
	testenv.RequireTool(t, "debugfs")
	bad := filepath.Join(t.TempDir(), "rootfs-broken.ext4")
	if out, err := exec.Command("cp", "--sparse=always", filepath.Join(r.img, "rootfs.ext4"), bad).CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	script := filepath.Join(t.TempDir(), "swarmboxd")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho 'swarmboxd: this build is broken' >&2\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	cmds := "rm /usr/bin/swarmboxd\nwrite " + script + " /usr/bin/swarmboxd\nsif /usr/bin/swarmboxd mode 0100755\n"
	dbg := exec.Command("debugfs", "-w", "-f", "-", bad)
	dbg.Stdin = strings.NewReader(cmds)
	if out, err := dbg.CombinedOutput(); err != nil {
		t.Fatalf("debugfs: %v %s", err, out)
	}
	url := r.bundle(t, bad, "2")

	g := r.boot(t, 60)
	waitSerial(t, g, 120*time.Second, `msg="box up"`)
	r.installAndRestart(t, g, url, 2)
	for try := 1; try <= 2; try++ {
		g = r.boot(t, 60)
		waitSerial(t, g, 60*time.Second, `swarmbox: root slot b \(/dev/vda2, trial boot\)`)
		waitSerial(t, g, 60*time.Second, fmt.Sprintf(`boot control: trial boot %d of 2 of slot b \(version 2\)`, try))
		waitSerial(t, g, 150*time.Second, `boot control: slot b did not come up healthy within 1m0s: rebooting`)
		g.Stop()
	}
	g = r.boot(t, 60)
	waitSerial(t, g, 60*time.Second, `boot control: fell back: slot b \(version 2\) did not come up healthy in 2 trial boots; back on slot a \(version 1\)`)
	waitSerial(t, g, 60*time.Second, `swarmbox: root slot a \(/dev/vda1, normal boot\)`)
	waitSerial(t, g, 120*time.Second, `msg="box up"`)
	s := updateStatus(t, g)
	if s.Booted != "a" || s.Active != "a" || s.Trying != "none" || s.Running != "1" || !strings.Contains(s.Note, "fell back") {
		t.Fatalf("after the fall back: %+v; want version 1 from slot a and the reason", s)
	}
	out := guestShell(t, g, 30*time.Second, "swarmboxd update status 2>&1")
	if !strings.Contains(out, "did not come up healthy in 2 trial boots") {
		t.Fatalf("update status does not say why: %s", out)
	}
}
