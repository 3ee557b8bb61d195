package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"swarmbox/emulator"
	"swarmbox/firmware/boxbus"
)

// qemuTitleBytes is the size of TestQEMUHardDisk's title: 1 GiB, or SWARMBOX_QEMU_TITLE_MIB
// MiB (to measure the transfer rate on a smaller title first).
func qemuTitleBytes(t *testing.T) int64 {
	if s := os.Getenv("SWARMBOX_QEMU_TITLE_MIB"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n <= 0 {
			t.Fatalf("SWARMBOX_QEMU_TITLE_MIB=%q is not a positive number of MiB", s)
		}
		return n << 20
	}
	return 1 << 30
}

// sparseTitle writes a title of size bytes that costs the host little: zeros (a sparse file)
// with a numbered marker every 16 MiB, so a piece delivered in the wrong place changes the hash.
// It returns the path and the plaintext's SHA-256.
func sparseTitle(t *testing.T, size int64) (string, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "big-title.bin")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	for off := int64(0); off < size; off += 16 << 20 {
		if _, err := f.WriteAt([]byte(fmt.Sprintf("swarmbox hard disk title, marker at %d", off)), off); err != nil {
			t.Fatal(err)
		}
	}
	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(f, 0, size)); err != nil {
		t.Fatal(err)
	}
	return path, hex.EncodeToString(h.Sum(nil))
}

// diskProps reads the box's Disk* properties over D-Bus.
func diskProps(t *testing.T, conn *dbus.Conn) (size, free int64, state, reason string) {
	t.Helper()
	c := boxbus.NewClient(conn, "")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for name, dst := range map[string]any{boxbus.PropDiskBytes: &size, boxbus.PropDiskFreeBytes: &free, boxbus.PropDiskState: &state, boxbus.PropDiskReason: &reason} {
		v, err := c.Property(ctx, name)
		if err != nil {
			t.Fatalf("D-Bus property %s: %v", name, err)
		}
		if err := v.Store(dst); err != nil {
			t.Fatalf("D-Bus property %s: %v", name, err)
		}
	}
	return
}

// guestShell runs a command in the guest's debug shell, failing the test on error.
func guestShell(t *testing.T, g *emulator.Guest, timeout time.Duration, cmd string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	out, err := g.Shell(ctx, cmd)
	if err != nil {
		t.Fatalf("guest shell %q: %v\n%s", cmd, err, out)
	}
	return out
}

// TestQEMUHardDisk boots the box with a blank sparse 8 GiB second disk (its hard disk): the
// init partitions and formats it on first boot and mounts it as the media store; the box's
// D-Bus properties and `swarmboxd status` show its size; a title of 1 GiB (see
// qemuTitleBytes) is wished, fetched from the head-end's web seed into it, bought and played
// (decrypted through `swarmboxd play` on the box, hashed there, compared with the source). The
// same box rebooted formats nothing, still holds the title complete and plays it; booted
// without its hard disk it says the disk is missing (D-Bus DiskState) and keeps running on its
// internal store. A single-disk image made bigger (truncate) grows its media partition to the
// end of the disk on first boot. Figures go to the log and hard-disk.txt among the artifacts.
func TestQEMUHardDisk(t *testing.T) {
	img := boxImage(t)
	t.Run("blank second disk", func(t *testing.T) { testBlankHardDisk(t, img) })
	t.Run("single disk grows", func(t *testing.T) { testSingleDiskGrows(t, img) })
}

var storeLine = regexp.MustCompile(`swarmbox: disk: store is the (\S+) \((\S+)\), state (\w+)`)

// guestCloud starts a head-end whose public URL is the guests' (10.0.2.2): the plan's web seed
// and announce URLs must be reachable from inside QEMU.
func guestCloud(t *testing.T) *cloud {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return startCloud(t, "-listen", fmt.Sprintf("127.0.0.1:%d", port), "-public-url", fmt.Sprintf("http://10.0.2.2:%d", port))
}

func testBlankHardDisk(t *testing.T, img string) {
	size := qemuTitleBytes(t)
	c := guestCloud(t)
	src, want := sparseTitle(t, size)
	ingestStart := time.Now()
	film, sealed := c.ingest(t, src, "Big Film", "video")
	ingestTook := time.Since(ingestStart)
	c.cmd(t, "account", "create", "-region", "eu-west", "-credit", "2000", "household-hd")
	disk := guestDisk(t, img)
	hdd := filepath.Join(t.TempDir(), "hdd.img")
	if err := os.WriteFile(hdd, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(hdd, 8<<30); err != nil {
		t.Fatal(err)
	}
	boot := func(name string, disks []string, append_ ...string) *emulator.Guest {
		return bootGuest(t, emulator.Config{ImageDir: img, Disk: disk, HardDisks: disks, DBusTCP: true, DebugShell: true,
			Dir: filepath.Join(t.ArtifactDir(), name), Append: append_})
	}
	var report strings.Builder
	note := func(format string, args ...any) {
		line := fmt.Sprintf(format, args...)
		t.Log(line)
		report.WriteString(line + "\n")
	}
	note("title: %d bytes plaintext, %d sealed; ingest on the host %s", size, sealed, ingestTook.Round(10*time.Millisecond))

	// First boot: the blank disk is partitioned, formatted and mounted.
	g := boot("boot1", []string{hdd}, "swarmbox.headend="+guestHeadend(t, c), "swarmbox.enroll="+c.enroll(t, "household-hd"))
	waitSerial(t, g, 3*time.Minute, `swarmbox: disk: vdb is blank \(8192 MiB\): partitioning it`)
	m := waitSerial(t, g, 5*time.Minute, storeLine.String())
	if m[1] != "hard-disk" || m[2] != "/dev/vdb1" || m[3] != "ok" {
		t.Fatalf("first boot: the store is %q on %q, state %q; want the hard disk /dev/vdb1, ok", m[1], m[2], m[3])
	}
	formattedAt := time.Since(g.Started())
	waitSerial(t, g, 5*time.Minute, `msg="box up"`)
	upAt := time.Since(g.Started())
	conn := guestBus(t, g, time.Minute)
	waitStatus(t, conn, time.Minute)
	dsize, dfree, dstate, _ := diskProps(t, conn)
	if dstate != boxbus.DiskOK || dsize < 7<<30 || dsize > 8<<30 || dfree < 7<<30 {
		t.Fatalf("D-Bus after formatting: disk %d bytes, %d free, state %q; want about 8 GiB, ok", dsize, dfree, dstate)
	}
	note("boot 1 (blank 8 GiB disk): qemu start to disk formatted and mounted %s, to box up %s; the disk: %d bytes, %d free",
		formattedAt.Round(10*time.Millisecond), upAt.Round(10*time.Millisecond), dsize, dfree)
	st := guestShell(t, g, 2*time.Minute, "swarmboxd status -dir /var/lib/swarmbox")
	if !regexp.MustCompile(`disk ok: ` + strconv.FormatInt(dsize, 10) + ` bytes`).MatchString(st) {
		t.Errorf("swarmboxd status does not show the disk's %d bytes:\n%s", dsize, st)
	}

	// The title: wished, fetched into the hard disk, bought, played. "box up" is the API on the
	// bus; the catalog, which a wish is checked against, arrives when the head-end is reached.
	waitSerial(t, g, 5*time.Minute, `msg="head-end reached"`)
	box := boxbus.NewClient(conn, "")
	ctx := context.Background()
	if err := box.SetWishlist(ctx, []string{film}); err != nil {
		t.Fatal(err)
	}
	wished := time.Now()
	var got boxbus.Local
	deadline := time.Now().Add(80 * time.Minute)
	for !got.Complete {
		if time.Now().After(deadline) {
			t.Fatalf("the title did not complete: %+v", got)
		}
		time.Sleep(2 * time.Second)
		s, err := callStatus(conn)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range s.Items {
			if it.ID == film {
				got = it
			}
		}
	}
	fetchTook := time.Since(wished)
	note("wish to %d sealed bytes complete on the hard disk (web seed through QEMU's user network, polled every 2 s): %s, %.1f MB/s",
		sealed, fetchTook.Round(time.Second), float64(sealed)/fetchTook.Seconds()/1e6)
	if where := guestShell(t, g, time.Minute, "ls -l /var/lib/swarmbox/media/"+film+".sbx; df -k /var/lib/swarmbox/media | tail -1"); !strings.Contains(where, "/dev/vdb1") {
		t.Errorf("the container is not on the hard disk:\n%s", where)
	}
	if _, err := box.Buy(ctx, film, false); err != nil {
		t.Fatal(err)
	}
	playStart := time.Now()
	played := guestShell(t, g, 60*time.Minute, "swarmboxd play -dir /var/lib/swarmbox "+film+" | sha256sum")
	playTook := time.Since(playStart)
	if !strings.HasPrefix(strings.TrimSpace(played), want) {
		t.Fatalf("the title played on the box hashes to %q, the source to %s", played, want)
	}
	note("play (decrypt on the box, hashed with busybox sha256sum): %s, %.1f MB/s", playTook.Round(time.Second), float64(size)/playTook.Seconds()/1e6)
	_, free1, _, _ := diskProps(t, conn)
	g.Stop()

	// Reboot: nothing is formatted again, the title is still there and plays.
	g = boot("boot2", []string{hdd})
	m = waitSerial(t, g, 5*time.Minute, storeLine.String())
	if m[1] != "hard-disk" || m[3] != "ok" || strings.Contains(g.Serial(), "formatting") {
		t.Fatalf("reboot: store %q state %q (formatting again: %v)", m[1], m[3], strings.Contains(g.Serial(), "formatting"))
	}
	waitSerial(t, g, 5*time.Minute, `msg="box up"`)
	note("boot 2 (same disks): qemu start to box up %s", time.Since(g.Started()).Round(10*time.Millisecond))
	conn = guestBus(t, g, time.Minute)
	waitFor(t, "the title complete after the reboot", 2*time.Minute, func() bool {
		s, err := callStatus(conn)
		if err != nil {
			return false
		}
		for _, it := range s.Items {
			if it.ID == film && it.Complete {
				return true
			}
		}
		return false
	})
	if _, free2, state, _ := diskProps(t, conn); state != boxbus.DiskOK || free2 > free1+(64<<20) || free2 < free1-(64<<20) {
		t.Errorf("after the reboot: %d free (before: %d), state %q", free2, free1, state)
	}
	const head = 16 << 20
	wantHead := sha256.New()
	f, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	io.CopyN(wantHead, f, min(head, size))
	f.Close()
	if out := guestShell(t, g, 10*time.Minute, fmt.Sprintf("swarmboxd play -dir /var/lib/swarmbox %s | head -c %d | sha256sum", film, head)); !strings.HasPrefix(strings.TrimSpace(out), hex.EncodeToString(wantHead.Sum(nil))) {
		t.Errorf("after the reboot the title's first %d bytes hash to %q", head, out)
	}
	g.Stop()

	// Without its hard disk: missing, on the internal store, still answering.
	g = boot("boot3-no-disk", nil)
	m = waitSerial(t, g, 5*time.Minute, storeLine.String())
	if m[1] != "internal" || m[3] != "missing" {
		t.Fatalf("without the hard disk: store %q state %q, want internal, missing", m[1], m[3])
	}
	waitSerial(t, g, 5*time.Minute, `msg="box up"`)
	conn = guestBus(t, g, time.Minute)
	waitStatus(t, conn, time.Minute)
	if _, _, state, reason := diskProps(t, conn); state != boxbus.DiskMissing || reason == "" {
		t.Errorf("without the hard disk D-Bus says state %q (%q), want missing with a reason", state, reason)
	}
	if err := os.WriteFile(filepath.Join(t.ArtifactDir(), "hard-disk.txt"), []byte(report.String()), 0o644); err != nil {
		t.Error(err)
	}
}

func testSingleDiskGrows(t *testing.T, img string) {
	c := startCloud(t)
	c.cmd(t, "account", "create", "-region", "eu-west", "-credit", "2000", "household-sd")
	disk := guestDisk(t, img)
	before, err := os.Stat(disk)
	if err != nil {
		t.Fatal(err)
	}
	const bigger = 2 << 30
	if err := os.Truncate(disk, bigger); err != nil {
		t.Fatal(err)
	}
	g := bootGuest(t, emulator.Config{ImageDir: img, Disk: disk, DBusTCP: true, Dir: filepath.Join(t.ArtifactDir(), "single"),
		Append: []string{"swarmbox.headend=" + guestHeadend(t, c), "swarmbox.enroll=" + c.enroll(t, "household-sd")}})
	grew := waitSerial(t, g, 5*time.Minute, `swarmbox: disk: grew (\S+) to (\d+) MiB`)
	m := waitSerial(t, g, 5*time.Minute, storeLine.String())
	if m[1] != "internal" || m[3] != "ok" {
		t.Fatalf("single disk: store %q state %q, want internal, ok", m[1], m[3])
	}
	if mib, _ := strconv.Atoi(grew[2]); int64(mib) < (bigger-before.Size())>>20 {
		t.Errorf("the media partition grew to %d MiB on a disk grown from %d to %d bytes", mib, before.Size(), int64(bigger))
	}
	t.Logf("single disk %d → %d bytes: media partition %s grew to %s MiB, %s after qemu start", before.Size(), int64(bigger), grew[1], grew[2], time.Since(g.Started()).Round(10*time.Millisecond))
	waitSerial(t, g, 5*time.Minute, `msg="box up"`)
	conn := guestBus(t, g, time.Minute)
	waitStatus(t, conn, time.Minute)
	if size, _, state, _ := diskProps(t, conn); state != boxbus.DiskOK || size < (bigger-before.Size())*9/10 {
		t.Errorf("D-Bus after growing: %d bytes, state %q", size, state)
	}
	g.Stop()
	// A second boot grows nothing more.
	g = bootGuest(t, emulator.Config{ImageDir: img, Disk: disk, Dir: filepath.Join(t.ArtifactDir(), "single-again")})
	waitSerial(t, g, 5*time.Minute, storeLine.String())
	if strings.Contains(g.Serial(), "growing") {
		t.Errorf("the second boot grew the partition again:\n%s", tail(g.Serial(), 20))
	}
}
