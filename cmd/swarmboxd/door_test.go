package main

import (
	"context"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"swarmbox/firmware"
	"swarmbox/storage"
)

// TestOpenBox: with no daemon (no socket, or one a dead daemon left) the subcommands use the
// API in process; with a daemon answering on the socket, they use it.
func TestOpenBox(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	dir := t.TempDir()
	if _, err := openBox(ctx, dir); err == nil || !strings.Contains(err.Error(), "start the box first") {
		t.Fatalf("an empty folder: %v", err)
	}
	st, err := storage.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.EnsureIdentity(ctx, "http://127.0.0.1:1", "household"); err != nil {
		t.Fatal(err)
	}
	via := func() string {
		t.Helper()
		box, err := openBox(ctx, dir)
		if err != nil {
			t.Fatal(err)
		}
		defer box.Close()
		s, err := box.Status(ctx)
		if err != nil || s.Account != "household" {
			t.Fatalf("Status %+v, %v", s, err)
		}
		return box.Via()
	}
	if v := via(); !strings.Contains(v, "in process") {
		t.Errorf("no socket: via %q", v)
	}
	// A socket file nobody listens on, as a killed daemon leaves it.
	ln, err := net.Listen("unix", firmware.SocketPath(dir))
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
	if v := via(); !strings.Contains(v, "in process") {
		t.Errorf("a stale socket: via %q", v)
	}
	sock, err := firmware.ServeSocket(ctx, firmware.SocketPath(dir), firmware.NewAPI(st, firmware.Options{}))
	if err != nil {
		t.Fatal(err)
	}
	defer sock.Close()
	if v := via(); !strings.Contains(v, "running daemon") || !strings.Contains(v, filepath.Join(dir, "api.sock")) {
		t.Errorf("a daemon on the socket: via %q", v)
	}
}
