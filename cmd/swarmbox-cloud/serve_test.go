package main

import (
	"context"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"swarmbox/cloud/netmap"
)

// TestSIGHUPReloadsPrefixes: SIGHUP reads the prefix file at once, even an edit that kept its
// size and modification time (which polling cannot see), and does not stop serve (SCHED-15).
func TestSIGHUPReloadsPrefixes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "prefixes")
	if err := os.WriteFile(path, []byte("10.0.0.0/8 isp-a north\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := netmap.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { watchPrefixes(ctx, f, hup); close(done) }()
	defer func() { cancel(); <-done }()

	// Same size, same time, same file: only a reload on demand sees it.
	if err := os.WriteFile(path, []byte("10.0.0.0/8 isp-b south\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	addr := netip.MustParseAddr("10.1.2.3")
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if loc, _ := f.Lookup(addr); loc == (netmap.Location{Network: "isp-b", Region: "south"}) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("SIGHUP did not reload the prefix file within 20 s")
		}
	}
}
