package firmware

import (
	"bufio"
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"swarmbox/cloud/headend/headendtest"
	"swarmbox/firmware/boxbus"
	"swarmbox/internal/testenv"
)

// TestDBusWithStandardTools: the service works with busctl, gdbus and dbus-monitor on a real
// bus daemon, and busctl works on the daemon's own socket too: introspection shows named
// arguments, a property reads, methods answer, and dbus-monitor sees ItemChanged after a
// wishlist change.
func TestDBusWithStandardTools(t *testing.T) {
	busctl := testenv.RequireTool(t, "busctl")
	gdbus := testenv.RequireTool(t, "gdbus")
	monitor := testenv.RequireTool(t, "dbus-monitor")
	h := headendtest.New(t, headendtest.Title{Name: "Film", Data: make([]byte, 50_000)})
	api := boxWithTitle(t, h)
	id := h.Items[0].ID.String()
	addr := testenv.DBusDaemon(t)
	conn, err := dbus.Connect(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	svc, err := ServeDBus(conn, api, "")
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sockPath := filepath.Join(t.TempDir(), "api.sock")
	sock, err := ServeSocket(ctx, sockPath, api)
	if err != nil {
		t.Fatal(err)
	}
	defer sock.Close()

	run := func(name string, args ...string) string {
		t.Helper()
		out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	obj := []string{boxbus.Name, string(boxbus.Path), boxbus.Interface}

	out := run(gdbus, "introspect", "--address", addr, "--dest", boxbus.Name, "--object-path", string(boxbus.Path))
	for _, want := range []string{"Item(in  s item,", "out (sssxxssiiixxxss) info);", "ItemChanged(s item,", "readonly as Wishlist"} {
		if !strings.Contains(out, want) {
			t.Errorf("gdbus introspect lacks %q:\n%s", want, out)
		}
	}
	if out := run(busctl, append([]string{"--address=" + addr, "get-property"}, append(obj, boxbus.PropAccount)...)...); strings.TrimSpace(out) != `s "`+headendtest.Account+`"` {
		t.Errorf("busctl get-property Account: %q", out)
	}
	if out := run(busctl, append([]string{"--address=" + addr, "call"}, append(obj, "Item", "s", id)...)...); !strings.Contains(out, `"ready to buy"`) {
		t.Errorf("busctl call Item: %q", out)
	}
	// The daemon's own socket, no bus daemon between.
	if out := run(busctl, append([]string{"--address=unix:path=" + sockPath, "call"}, append(obj, "Wishlist")...)...); strings.TrimSpace(out) != "as 0" {
		t.Errorf("busctl call Wishlist on the socket: %q", out)
	}

	mon := exec.CommandContext(ctx, monitor, "--address", addr, "type='signal',interface='"+boxbus.Interface+"'")
	stdout, err := mon.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := mon.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { mon.Process.Kill(); mon.Wait() }()
	lines := make(chan string, 64)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	// dbus-monitor is listening once it reports its own NameAcquired signal.
	waitLine(t, lines, "NameAcquired")
	run(busctl, append([]string{"--address=" + addr, "call"}, append(obj, "SetWishlist", "as", "1", id)...)...)
	waitLine(t, lines, "member="+boxbus.SignalItemChanged)
	waitLine(t, lines, `string "`+id+`"`)
}

// waitLine reads lines until one contains want.
func waitLine(t *testing.T, lines <-chan string, want string) {
	t.Helper()
	var seen []string
	for l := range lines {
		if strings.Contains(l, want) {
			return
		}
		seen = append(seen, l)
	}
	t.Fatalf("dbus-monitor never printed %q; it printed:\n%s", want, strings.Join(seen, "\n"))
}
