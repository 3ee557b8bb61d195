package firmware

import (
	"bufio"
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"swarmbox/cloud/headend/headendtest"
	"swarmbox/firmware/boxbus"
	"swarmbox/media"
)

// TestSocket: the daemon's own socket serves the API peer-to-peer, signals included; a socket
// file nobody answers on is replaced, one a daemon answers on is not.
func TestSocket(t *testing.T) {
	h := headendtest.New(t, headendtest.Title{Name: "Film", Data: make([]byte, 50_000)})
	api := boxWithTitle(t, h)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	path := filepath.Join(t.TempDir(), "api.sock")
	// A dead daemon's socket file.
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
	sock, err := ServeSocket(ctx, path, api)
	if err != nil {
		t.Fatalf("over a stale socket file: %v", err)
	}
	defer sock.Close()
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket mode: %v, %v", fi.Mode(), err)
	}
	if _, err := ServeSocket(ctx, path, api); err == nil || !strings.Contains(err.Error(), "another swarmboxd") {
		t.Fatalf("a second daemon on a live socket: %v", err)
	}

	box, err := boxbus.DialSocket(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer box.Close()
	if !box.Running(ctx) {
		t.Fatal("Running is false on a live socket")
	}
	s, err := box.Status(ctx)
	if err != nil || s.Account != headendtest.Account {
		t.Fatalf("Status over the socket: %+v, %v", s, err)
	}
	events, err := box.Follow(ctx)
	if err != nil {
		t.Fatal(err)
	}
	id := h.Items[0].ID
	if err := api.SetWishlist(ctx, []media.ItemID{id}); err != nil {
		t.Fatal(err)
	}
	for ev := range events {
		if ev.Item != nil && ev.Item.Item == id.String() {
			if ev.Item.State != boxbus.ReadyToBuy {
				t.Fatalf("ItemChanged %+v, want ready to buy", ev.Item)
			}
			break
		}
	}
	if ctx.Err() != nil {
		t.Fatal("no ItemChanged over the socket")
	}

	sock.Close()
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("socket file left after Close: %v", err)
	}
	if _, err := boxbus.DialSocket(ctx, path); err == nil {
		t.Error("dialled a closed socket")
	}
}

// FuzzHandshake feeds the API socket's authentication arbitrary bytes: it ends (accepting,
// or refusing with an error) without panicking, and never answers more than its 16 lines.
func FuzzHandshake(f *testing.F) {
	f.Add([]byte("\x00AUTH EXTERNAL 30\r\nBEGIN\r\n"))
	f.Add([]byte("\x00AUTH EXTERNAL\r\nDATA\r\nNEGOTIATE_UNIX_FD\r\nBEGIN\r\n"))
	f.Add([]byte("\x00AUTH DBUS_COOKIE_SHA1 726f6f74\r\nCANCEL\r\n"))
	f.Add([]byte("AUTH EXTERNAL 30\r\n"))
	f.Add([]byte("\x00\r\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		var out bytes.Buffer
		err := handshake(bufio.NewReader(bytes.NewReader(in)), &out)
		if err == nil && !bytes.Contains(in, []byte("BEGIN")) {
			t.Fatalf("accepted %q without BEGIN", in)
		}
		if n := bytes.Count(out.Bytes(), []byte("\r\n")); n > 16 {
			t.Fatalf("%d answers to %q", n, in)
		}
	})
}
