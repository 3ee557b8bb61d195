package main

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"swarmbox/firmware/bootctl"
	"swarmbox/firmware/bootctl/bootctltest"
)

// fakeDisk is a look-alike disk with the slots; the record partition's path.
func fakeDisk(t *testing.T) (bootctl.System, string) {
	t.Helper()
	sys, f := bootctltest.Disk(t, bootctl.A)
	return sys, f.Name()
}

func captureStdout(t *testing.T, f func() error) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stdout
	os.Stdout = w
	err = f()
	os.Stdout = old
	w.Close()
	b := make([]byte, 4096)
	n, _ := r.Read(b)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b[:n]))
}

// TestBootPicksTheTrialSlotThenFallsBack runs the initramfs's step over a record with slot b
// on trial for one boot: b, then a with the reason kept.
func TestBootPicksTheTrialSlotThenFallsBack(t *testing.T) {
	sys, recPath := fakeDisk(t)
	f, err := os.OpenFile(recPath, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := bootctl.Init(f, bootctl.A, "1")
	if err != nil {
		t.Fatal(err)
	}
	n, _ := r.Try(bootctl.B, "2", 1)
	if _, err := bootctl.Write(f, r, n); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"vda2 b trial", "vda1 a normal", "vda1 a normal"} {
		got := captureStdout(t, func() error { return boot(sys) })
		if !strings.Contains(got, want) {
			t.Fatalf("boot printed %q, want …%q", got, want)
		}
	}
	rec, err := bootctl.Read(f)
	if err != nil || !strings.Contains(rec.Note, "fell back") {
		t.Fatalf("record after the fall back: %+v %v", rec, err)
	}
}

// TestBootWithADamagedRecordBootsSlotA: both copies unreadable, the box still boots.
func TestBootWithADamagedRecordBootsSlotA(t *testing.T) {
	sys, _ := fakeDisk(t)
	if got := captureStdout(t, func() error { return boot(sys) }); !strings.Contains(got, "vda1 a normal") {
		t.Fatalf("boot printed %q", got)
	}
}

func TestWaitConfirmed(t *testing.T) {
	_, recPath := fakeDisk(t)
	f, err := os.OpenFile(recPath, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, _ := bootctl.Init(f, bootctl.A, "1")
	n, _ := r.Try(bootctl.B, "2", 1)
	r, _ = bootctl.Write(f, r, n)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if waitConfirmed(ctx, f, bootctl.B, 10*time.Millisecond) {
		t.Fatal("waitConfirmed returned true for an unconfirmed trial")
	}
	go func() {
		time.Sleep(50 * time.Millisecond)
		c, _ := r.Confirm(bootctl.B)
		bootctl.Write(f, r, c)
	}()
	ctx2, cancel2 := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel2()
	if !waitConfirmed(ctx2, f, bootctl.B, 10*time.Millisecond) {
		t.Fatal("waitConfirmed missed the confirmation")
	}
}
