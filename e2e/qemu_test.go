package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"swarmbox/emulator"
	"swarmbox/firmware/boxbus"
	"swarmbox/internal/testenv"
	"swarmbox/media"
)

// The QEMU tests boot the real arm64 firmware image (scripts/image, built once per run and
// cached) on qemu-system-aarch64 against a head-end on the host's loopback. `make qemu-test`
// runs only them, with -artifacts so serial logs and screen dumps are kept under out/qemu-test.

var (
	imageOnce sync.Once
	imageDir  string
	imageErr  error
	imageLog  []byte
)

// boxImage builds (or refreshes) the firmware image once per test binary and returns its folder.
func boxImage(t *testing.T) string {
	t.Helper()
	for _, tool := range []string{"qemu-system-aarch64", "mke2fs", "cpio", "depmod", "sfdisk", "dpkg-deb"} {
		testenv.RequireTool(t, tool)
	}
	imageOnce.Do(func() {
		root, err := filepath.Abs("..")
		if err != nil {
			imageErr = err
			return
		}
		imageDir = filepath.Join(root, "out", "image")
		cmd := exec.Command("bash", filepath.Join(root, "scripts", "image"))
		cmd.Env = append(os.Environ(), "OUT="+imageDir)
		imageLog, imageErr = cmd.CombinedOutput()
	})
	if imageErr != nil {
		t.Fatalf("make image: %v\n%s", imageErr, imageLog)
	}
	return imageDir
}

// guestDisk is a private, writable copy of the image's disk (sparse, so cheap).
func guestDisk(t *testing.T, img string) string {
	t.Helper()
	disk := filepath.Join(t.TempDir(), emulator.Disk)
	if out, err := exec.Command("cp", "--sparse=always", filepath.Join(img, emulator.Disk), disk).CombinedOutput(); err != nil {
		t.Fatalf("copy disk: %v %s", err, out)
	}
	return disk
}

// guestHeadend is the head-end's URL as a guest sees it (the host's loopback is 10.0.2.2).
func guestHeadend(t *testing.T, c *cloud) string {
	t.Helper()
	u, err := url.Parse(c.url)
	if err != nil {
		t.Fatal(err)
	}
	return "http://10.0.2.2:" + u.Port()
}

func bootGuest(t *testing.T, cfg emulator.Config) *emulator.Guest {
	t.Helper()
	qemu := testenv.RequireTool(t, "qemu-system-aarch64")
	if cfg.Dir == "" {
		cfg.Dir = t.ArtifactDir()
	}
	g, err := emulator.Start(context.Background(), qemu, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		g.Stop()
		if t.Failed() {
			t.Logf("--- serial console:\n%s", tail(g.Serial(), 80))
		}
	})
	return g
}

func waitSerial(t *testing.T, g *emulator.Guest, timeout time.Duration, re string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	m, err := g.WaitSerial(ctx, regexp.MustCompile(re))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// guestBus connects to the guest's D-Bus, retrying while the guest is still booting.
func guestBus(t *testing.T, g *emulator.Guest, timeout time.Duration) *dbus.Conn {
	t.Helper()
	var conn *dbus.Conn
	var err error
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		conn, err = g.DBus(ctx)
		cancel()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("guest D-Bus: %v", err)
		}
		time.Sleep(300 * time.Millisecond)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// busStatus is what the box's Status method answers over D-Bus.
type busStatus struct {
	Box, Account, Headend string
	Items                 []boxbus.Local
	Disk                  string // "" while the disk takes what the box writes
}

func callStatus(conn *dbus.Conn) (busStatus, error) {
	var s busStatus
	err := conn.Object(boxbus.Name, boxbus.Path).Call(boxbus.Interface+".Status", 0).Store(&s.Box, &s.Account, &s.Headend, &s.Items, &s.Disk)
	return s, err
}

// waitStatus polls Status until the box owns its name (it does after registering).
func waitStatus(t *testing.T, conn *dbus.Conn, timeout time.Duration) busStatus {
	t.Helper()
	var s busStatus
	var err error
	deadline := time.Now().Add(timeout)
	for {
		if s, err = callStatus(conn); err == nil {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("the box's Status over D-Bus: %v", err)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// busPIDs lists the process id behind every connection on the guest's bus.
func busPIDs(t *testing.T, conn *dbus.Conn) map[uint32]string {
	t.Helper()
	var names []string
	if err := conn.BusObject().Call("org.freedesktop.DBus.ListNames", 0).Store(&names); err != nil {
		t.Fatal(err)
	}
	pids := map[uint32]string{}
	for _, n := range names {
		if !strings.HasPrefix(n, ":") {
			continue
		}
		var pid uint32
		if err := conn.BusObject().Call("org.freedesktop.DBus.GetConnectionUnixProcessID", 0, n).Store(&pid); err == nil {
			pids[pid] = n
		}
	}
	return pids
}

// TestQEMUBoot boots the arm64 image: the serial console says the supervisor and the UI are
// up, and the box's D-Bus API agrees (same box id as logged, registered with the head-end
// given on the kernel command line, the UI's process connected to the bus, its home screen on
// the TV). Boot times go to
// the log and to boot-time.txt among the artifacts.
func TestQEMUBoot(t *testing.T) {
	img := boxImage(t)
	c := startCloud(t)
	c.cmd(t, "account", "create", "-region", "eu-west", "-credit", "2000", "household-q1")
	headend := guestHeadend(t, c)
	g := bootGuest(t, emulator.Config{
		ImageDir: img, Disk: guestDisk(t, img), DBusTCP: true, DebugShell: true,
		Append: []string{"swarmbox.headend=" + headend, "swarmbox.enroll=" + c.enroll(t, "household-q1")},
	})
	uiPID := waitSerial(t, g, 90*time.Second, `swarmbox: ui up pid (\d+)`)[1]
	uiAt := time.Since(g.Started())
	// The TV shows the UI's home screen (read as text from the console, /dev/vcs1).
	waitFor(t, "the UI's home screen on tty1", 30*time.Second, func() bool {
		return strings.Contains(tvText(t, g), "Browse the catalog")
	})
	screenAt := time.Since(g.Started())
	boxUp := waitSerial(t, g, 90*time.Second, `msg="box up" box=\S+ id=([0-9a-f]+)`)
	boxAt := time.Since(g.Started())
	conn := guestBus(t, g, 30*time.Second)
	st := waitStatus(t, conn, 30*time.Second)
	apiAt := time.Since(g.Started())
	// The box registers in the background after "box up": its account is known once it has.
	waitSerial(t, g, 90*time.Second, `msg="head-end reached"`)
	st = waitStatus(t, conn, 30*time.Second)
	if st.Box != boxUp[1] {
		t.Errorf("D-Bus Status says box %s, the serial log says %s", st.Box, boxUp[1])
	}
	if st.Account != "household-q1" || st.Headend != headend {
		t.Errorf("D-Bus Status: account %q head-end %q, want household-q1 %s", st.Account, st.Headend, headend)
	}
	var pid uint32
	fmt.Sscan(uiPID, &pid)
	if _, ok := busPIDs(t, conn)[pid]; !ok {
		t.Errorf("the serial log says the UI is pid %d, but no connection on the box's bus belongs to it: %v", pid, busPIDs(t, conn))
	}
	if err := g.Screendump(filepath.Join(t.ArtifactDir(), "boot.png")); err != nil {
		t.Error(err)
	}
	health := waitSerial(t, g, 40*time.Second, `health pid \d+ run VmRSS: (\d+) kB`)
	report := fmt.Sprintf("qemu start to UI process up: %s\nqemu start to the box's API up (box up): %s\nqemu start to D-Bus Status answered: %s\nqemu start to home screen on the TV (polled): %s\nswarmboxd run RSS after boot: %s kB\n",
		uiAt.Round(10*time.Millisecond), boxAt.Round(10*time.Millisecond), apiAt.Round(10*time.Millisecond), screenAt.Round(10*time.Millisecond), health[1])
	t.Log("\n" + report)
	if err := os.WriteFile(filepath.Join(t.ArtifactDir(), "boot-time.txt"), []byte(report), 0o644); err != nil {
		t.Error(err)
	}
}

var (
	preloadOnce sync.Once
	preloadErr  error
	preloadOut  []byte
)

// buildPreload adds swarmbox-preload to the test binaries.
func buildPreload(t *testing.T) {
	t.Helper()
	preloadOnce.Do(func() {
		cmd := exec.Command("go", "build", "-o", binDir+"/", "swarmbox/cmd/swarmbox-preload")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		preloadOut, preloadErr = cmd.CombinedOutput()
	})
	if preloadErr != nil {
		t.Fatalf("building swarmbox-preload: %v\n%s", preloadErr, preloadOut)
	}
}

// TestQEMUPreloadedBoot: swarmbox-preload writes the customer's chosen title and the region's
// most wanted other title (another household wishes for it) into a copy of the image; the box
// boots without being told its head-end or account and lists both titles as held, complete and
// ready to buy, over its D-Bus API on first boot. It boots as a real board does
// (swarmbox.net=dhcp): its address and route to the head-end come from QEMU's DHCP server.
func TestQEMUPreloadedBoot(t *testing.T) {
	img := boxImage(t)
	buildPreload(t)
	c := startCloud(t)
	ids := map[string]string{}
	for i, title := range []string{"Chosen Film", "Popular Film", "Other Film"} {
		src := filepath.Join(t.TempDir(), "title.bin")
		data := []byte(strings.Repeat(fmt.Sprintf("%d-%s|", i, title), 40_000))
		if err := os.WriteFile(src, data, 0o600); err != nil {
			t.Fatal(err)
		}
		ids[title], _ = c.ingest(t, src, title, "file")
	}
	// Another household of the region wants "Popular Film": the forecast's first pick.
	other := startBox(t, c, 2)
	other.cmd(t, "wish", "Popular Film")
	waitFor(t, "the forecast to rank Popular Film", 30*time.Second, func() bool {
		resp, err := http.Get(c.url + "/v1/forecast?region=eu-west")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return strings.Contains(string(body), ids["Popular Film"])
	})
	c.cmd(t, "account", "create", "-region", "eu-west", "-credit", "2000", "household-q4")
	disk := guestDisk(t, img)
	out := must(t, "swarmbox-preload", "-image", disk, "-headend", c.url, "-box-headend", guestHeadend(t, c),
		"-enroll", c.enroll(t, "household-q4"), "-account", "household-q4", "-repository", filepath.Join(c.state, "repository"), "-extra", "1", "Chosen Film")
	for _, want := range []string{"[1/2] Chosen Film", "[2/2] Popular Film", "writing the preload partition"} {
		if !strings.Contains(out, want) {
			t.Fatalf("swarmbox-preload output lacks %q:\n%s", want, out)
		}
	}
	g := bootGuest(t, emulator.Config{ImageDir: img, Disk: disk, DBusTCP: true, Append: []string{"swarmbox.net=dhcp"}})
	waitSerial(t, g, 60*time.Second, `swarmbox: eth0 leased 10\.0\.2\.15/24 router 10\.0\.2\.2 `)
	waitSerial(t, g, 90*time.Second, `msg="box up"`)
	conn := guestBus(t, g, 30*time.Second)
	st := waitStatus(t, conn, 30*time.Second)
	if st.Account != "household-q4" || st.Headend != guestHeadend(t, c) {
		t.Errorf("provisioned identity: account %q head-end %q", st.Account, st.Headend)
	}
	held := map[string]boxbus.Local{}
	for _, it := range st.Items {
		held[it.ID] = it
	}
	box := conn.Object(boxbus.Name, boxbus.Path)
	for _, title := range []string{"Chosen Film", "Popular Film"} {
		it, ok := held[ids[title]]
		if !ok || !it.Complete || it.Pieces != it.Total || it.Total == 0 || it.BytesFromServer != 0 || it.BytesFromPeers != 0 {
			t.Errorf("%s on first boot: %+v (held %v), want complete from the factory", title, it, ok)
		}
		var e boxbus.Item
		if err := box.Call(boxbus.Interface+".Item", 0, ids[title]).Store(&e); err != nil {
			t.Fatal(err)
		}
		if e.Title != title || e.State != boxbus.ReadyToBuy {
			t.Errorf("Item(%s) over D-Bus: title %q state %q, want %q %q", ids[title], e.Title, e.State, title, boxbus.ReadyToBuy)
		}
	}
	if _, ok := held[ids["Other Film"]]; ok {
		t.Errorf("Other Film was preloaded though neither chosen nor forecast")
	}
	// Still complete after the supervisor's first refresh from the torrent engine (it re-reads
	// what the engine says about the preloaded files).
	time.Sleep(3 * time.Second)
	st = waitStatus(t, conn, 10*time.Second)
	for _, it := range st.Items {
		if !it.Complete {
			t.Errorf("item %s is no longer complete after the first refresh: %+v", it.ID, it)
		}
	}
	if err := g.Screendump(filepath.Join(t.ArtifactDir(), "preloaded.png")); err != nil {
		t.Error(err)
	}
}

// tvText returns what tty1 (the TV) shows, as text, read through the guest's debug shell.
func tvText(t *testing.T, g *emulator.Guest) string {
	t.Helper()
	var out string
	var err error
	for range 20 {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		out, err = g.Shell(ctx, "cat /dev/vcs1")
		cancel()
		if err == nil {
			return out
		}
	}
	t.Fatalf("reading the TV's text: %v", err)
	return ""
}

// TestQEMURemote drives the UI on the TV with the remote (QEMU sendkey on the virtio keyboard):
// home → catalog → a title → add to wishlist. After each step the screen is saved as PNG
// among the artifacts, its text (/dev/vcs1) shows the step, and the box's state read over
// D-Bus matches: no wish until the last step, then the title on the wishlist.
func TestQEMURemote(t *testing.T) {
	img := boxImage(t)
	c := startCloud(t)
	src := filepath.Join(t.TempDir(), "film.bin")
	os.WriteFile(src, []byte(strings.Repeat("remote", 50_000)), 0o600)
	film, _ := c.ingest(t, src, "Remote Film", "video")
	c.cmd(t, "account", "create", "-region", "eu-west", "-credit", "2000", "household-q2")
	g := bootGuest(t, emulator.Config{
		ImageDir: img, Disk: guestDisk(t, img), DBusTCP: true, DebugShell: true,
		Append: []string{"swarmbox.headend=" + guestHeadend(t, c), "swarmbox.enroll=" + c.enroll(t, "household-q2")},
	})
	waitSerial(t, g, 90*time.Second, `msg="box up"`)
	waitSerial(t, g, 90*time.Second, `msg="head-end reached"`) // the catalog is in
	conn := guestBus(t, g, 30*time.Second)
	waitStatus(t, conn, 30*time.Second)
	box := conn.Object(boxbus.Name, boxbus.Path)
	wishlist := func() []string {
		var w []string
		if err := box.Call(boxbus.Interface+".Wishlist", 0).Store(&w); err != nil {
			t.Fatal(err)
		}
		return w
	}
	steps := []struct {
		name   string
		keys   []string
		screen []string // text the TV shows after the step
		wished bool     // the title is on the wishlist over D-Bus
	}{
		{"home", nil, []string{"Browse the catalog", "My wishlist"}, false},
		{"catalog", []string{"ret"}, []string{"Remote Film"}, false},
		{"item", []string{"ret"}, []string{"Add to wishlist"}, false},
		{"wished", []string{"ret"}, []string{"On your wishlist"}, true},
	}
	for i, s := range steps {
		for _, k := range s.keys {
			if err := g.SendKey(k); err != nil {
				t.Fatal(err)
			}
			time.Sleep(300 * time.Millisecond)
		}
		var text string
		deadline := time.Now().Add(30 * time.Second)
		for {
			text = tvText(t, g)
			ok := true
			for _, w := range s.screen {
				ok = ok && strings.Contains(text, w)
			}
			if ok {
				break
			}
			if time.Now().After(deadline) {
				g.Screendump(filepath.Join(t.ArtifactDir(), fmt.Sprintf("%d-%s-failed.png", i+1, s.name)))
				t.Fatalf("step %s: the TV does not show %q:\n%s", s.name, s.screen, text)
			}
			time.Sleep(500 * time.Millisecond)
		}
		if err := g.Screendump(filepath.Join(t.ArtifactDir(), fmt.Sprintf("%d-%s.png", i+1, s.name))); err != nil {
			t.Fatal(err)
		}
		w := wishlist()
		if got := len(w) == 1 && w[0] == film; got != s.wished || (!s.wished && len(w) != 0) {
			t.Fatalf("step %s: wishlist over D-Bus is %v, want the film on it: %v", s.name, w, s.wished)
		}
		var e boxbus.Item
		if err := box.Call(boxbus.Interface+".Item", 0, film).Store(&e); err != nil {
			t.Fatal(err)
		}
		want := boxbus.NotWished
		if s.wished {
			want = boxbus.Wished
		}
		if e.State != want && !(s.wished && e.State == boxbus.Downloading) {
			t.Fatalf("step %s: Item over D-Bus says %q, want %q", s.name, e.State, want)
		}
	}
}

// TestImageReproducible builds the image a second time into another folder: every artefact has
// the same SHA-256 (fixed times, UUIDs, hash seeds, sorted cpio, stripped build ids).
func TestImageReproducible(t *testing.T) {
	img := boxImage(t)
	again := t.TempDir()
	cmd := exec.Command("bash", "../scripts/image")
	cmd.Env = append(os.Environ(), "OUT="+again)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("second build: %v\n%s", err, out)
	}
	first, err := os.ReadFile(filepath.Join(img, "SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	second, err := os.ReadFile(filepath.Join(again, "SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	if string(first) != string(second) || strings.Count(string(first), "\n") != 5 {
		t.Fatalf("the same inputs gave different images:\nfirst:\n%s\nsecond:\n%s", first, second)
	}
}

// vdeSwitch starts an emulated LAN switch on a unix socket folder; it ends with the test.
func vdeSwitch(t *testing.T) string {
	t.Helper()
	bin := testenv.RequireTool(t, "vde_switch")
	sock := filepath.Join(t.TempDir(), "lan")
	cmd := exec.Command(bin, "-sock", sock)
	stdin, err := cmd.StdinPipe() // its console ends on EOF: keep stdin open
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait(); stdin.Close() })
	waitFor(t, "the vde switch socket", 10*time.Second, func() bool {
		_, err := os.Stat(filepath.Join(sock, "ctl"))
		return err == nil
	})
	return sock
}

// TestQEMULANFetch puts two emulated boxes on one emulated LAN (vde_switch; nothing on the
// host's interfaces): box 1 was preloaded at the factory with a title, box 2 wishes for it and
// fetches it from box 1 across the LAN; the head-end's server sends none of it. Each box's init
// runs mDNS on its LAN NIC (eth1) only, and box 2 ignores the peers the head-end's plan names
// (swarmbox.plan_peers=0), so the only way it can learn box 1's address is by mDNS: its serial log
// shows box 1 found on the LAN, it reported box 1 as a LAN neighbour to the head-end, and the
// whole title came from peers (any sender its log names is box 1), none from the server.
func TestQEMULANFetch(t *testing.T) {
	img := boxImage(t)
	buildPreload(t)
	lan := vdeSwitch(t)
	c := startCloud(t)
	src := filepath.Join(t.TempDir(), "title.bin")
	os.WriteFile(src, []byte(strings.Repeat("shared over the LAN|", 30_000)), 0o600)
	film, size := c.ingest(t, src, "LAN Film", "file")
	for _, a := range []string{"household-l1", "household-l2"} {
		c.cmd(t, "account", "create", "-region", "eu-west", "-credit", "2000", a)
	}
	disk1 := guestDisk(t, img)
	must(t, "swarmbox-preload", "-image", disk1, "-headend", c.url, "-box-headend", guestHeadend(t, c),
		"-enroll", c.enroll(t, "household-l1"), "-account", "household-l1", "-repository", filepath.Join(c.state, "repository"), "LAN Film")
	g1 := bootGuest(t, emulator.Config{ImageDir: img, Disk: disk1, Dir: filepath.Join(t.ArtifactDir(), "box1"),
		LAN: lan, LANAddr: "198.18.0.1/24", MAC: "52:54:00:12:34:01"})
	g2 := bootGuest(t, emulator.Config{ImageDir: img, Disk: guestDisk(t, img), Dir: filepath.Join(t.ArtifactDir(), "box2"), DBusTCP: true,
		LAN: lan, LANAddr: "198.18.0.2/24", MAC: "52:54:00:12:34:02",
		Append: []string{"swarmbox.headend=" + guestHeadend(t, c), "swarmbox.enroll=" + c.enroll(t, "household-l2"), "swarmbox.plan_peers=0"}})
	box1 := waitSerial(t, g1, 120*time.Second, `msg="box up" box=\S+ id=([0-9a-f]+)`)[1]
	box2 := waitSerial(t, g2, 120*time.Second, `msg="box up" box=\S+ id=([0-9a-f]+)`)[1]
	var on []string
	for _, g := range []*emulator.Guest{g1, g2} {
		on = waitSerial(t, g, 10*time.Second, `time=(\S+) level=INFO msg="LAN discovery on" .*interfaces=eth1 `)
	}
	found := waitSerial(t, g2, 90*time.Second, `time=(\S+) level=INFO msg="LAN neighbour found" box=\S+ neighbor=`+box1+` addr=198\.18\.0\.1:6881`)
	var foundAfter time.Duration // on box 2's clock, from its first browse
	if a, err := time.Parse(time.RFC3339Nano, on[1]); err == nil {
		if b, err := time.Parse(time.RFC3339Nano, found[1]); err == nil {
			foundAfter = b.Sub(a)
		}
	}
	waitSerial(t, g1, 90*time.Second, `msg="LAN neighbour found" box=\S+ neighbor=`+box2+` addr=198\.18\.0\.2:6881`)
	// "box up" is the API on the bus; the catalog, which a wish is checked against, arrives
	// when the box reaches the head-end.
	waitSerial(t, g2, 90*time.Second, `msg="head-end reached"`)
	conn := guestBus(t, g2, 30*time.Second)
	waitStatus(t, conn, 30*time.Second)
	box := conn.Object(boxbus.Name, boxbus.Path)
	if err := box.Call(boxbus.Interface+".SetWishlist", 0, []string{film}).Err; err != nil {
		t.Fatal(err)
	}
	wishedAt := time.Now()
	var got boxbus.Local
	var plannedAfter time.Duration // until the head-end's plan gave box 2 the title to fetch
	deadline := time.Now().Add(3 * time.Minute)
	for {
		st, err := callStatus(conn)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range st.Items {
			if it.ID == film {
				got = it
				if plannedAfter == 0 {
					plannedAfter = time.Since(wishedAt)
				}
			}
		}
		if got.Complete {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("box 2 did not complete %s: %+v", film, got)
		}
		time.Sleep(time.Second)
	}
	report := fmt.Sprintf("box 2's LAN discovery on to box 1 found by mDNS (box 2's log): %s\nwish over D-Bus to the title on box 2 (planned, polled each second): %s\nwish over D-Bus to %d bytes complete over the LAN (polled each second): %s\n",
		foundAfter.Round(10*time.Millisecond), plannedAfter.Round(10*time.Millisecond), size, time.Since(wishedAt).Round(10*time.Millisecond))
	t.Log("\n" + report)
	if err := os.WriteFile(filepath.Join(t.ArtifactDir(), "lan-time.txt"), []byte(report), 0o644); err != nil {
		t.Error(err)
	}
	if err := os.WriteFile(filepath.Join(t.ArtifactDir(), "headend.log"), []byte(c.proc.Log()), 0o644); err != nil {
		t.Error(err)
	}
	if got.BytesFromServer != 0 || got.BytesFromPeers < size {
		t.Errorf("box 2 got %d bytes from the server and %d from peers; want 0 and the whole %d", got.BytesFromServer, got.BytesFromPeers, size)
	}
	// Who sent it: box 1 (named from its mDNS announcement) or, at least, box 1's LAN address.
	// The per-connection count is sampled each second and a short transfer's connection can
	// close before it is seen, so an empty list proves nothing either way; any sender named
	// must be box 1.
	done := waitSerial(t, g2, 10*time.Second, `msg="item complete, every piece verified" box=\S+ item=`+film+` .*from="?([^"\n]*)`)
	if from := done[1]; from != "" && !strings.Contains(from, box1[:8]+":") && !strings.Contains(from, "198.18.0.1:") {
		t.Errorf("box 2 logs the title as sent by %q, not by box 1 (%s, 198.18.0.1) on the LAN", from, box1[:8])
	}
	// The head-end learnt of the pair from box 2's report: the neighbours it found by mDNS.
	waitFor(t, "the head-end to record box 1 as box 2's LAN neighbour", 30*time.Second, func() bool {
		hs, err := openCloudStore(t, c)
		if err != nil {
			t.Fatal(err)
		}
		defer hs.Close()
		id, err := media.ParseBoxID(box2)
		if err != nil {
			t.Fatal(err)
		}
		rep, err := hs.Report(context.Background(), id)
		return err == nil && slices.ContainsFunc(rep.Neighbors, func(n media.BoxID) bool { return n.String() == box1 })
	})
	// The head-end's own count of what its web seed sent is the server's bytes for the title.
	var row []string
	waitFor(t, "the head-end to list box 2's transfer", 30*time.Second, func() bool {
		for _, line := range strings.Split(c.cmd(t, "transfers"), "\n") {
			if f := strings.Fields(line); len(f) >= 7 && f[1] == film[:8] {
				row = f
				return f[len(f)-1] == "true"
			}
		}
		return false
	})
	if fromServer, counted := row[len(row)-4], row[len(row)-2]; fromServer != "0" || counted != "0" {
		t.Errorf("head-end transfers row %v: want 0 bytes from the server, 0 counted by its web seed", row)
	}
}
