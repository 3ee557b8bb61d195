package firmware

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"swarmbox/firmware/boxbus"
	"swarmbox/storage"
	"swarmbox/storage/disk"
)

// TestDiskOverDBus: the media disk's size, free space and state are properties on the bus, and
// a disk that starts failing (an I/O error reported by a writer) is announced with
// PropertiesChanged while the box keeps answering.
func TestDiskOverDBus(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	old := DiskProbeInterval
	DiskProbeInterval = 20 * time.Millisecond
	t.Cleanup(func() { DiskProbeInterval = old })
	dir := t.TempDir()
	st, err := storage.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	status := filepath.Join(dir, "disk-status")
	os.WriteFile(status, []byte("state=ok\nkind=hard-disk\ndevice="+dir+"\n"), 0o644)
	dm, err := disk.New(st.MediaDir(), status)
	if err != nil {
		t.Fatal(err)
	}
	api := NewAPI(st, Options{Disk: dm})
	box, _ := serveOnBus(t, api)
	events, err := box.Follow(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var size, free int64
	var state string
	for name, dst := range map[string]any{boxbus.PropDiskBytes: &size, boxbus.PropDiskFreeBytes: &free, boxbus.PropDiskState: &state} {
		v, err := box.Property(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if err := v.Store(dst); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	if size <= 0 || free <= 0 || free > size || state != boxbus.DiskOK {
		t.Fatalf("disk over D-Bus: %d bytes, %d free, state %q", size, free, state)
	}
	if !api.RecordDiskError(&os.PathError{Op: "write", Path: "x.sbx", Err: syscall.EIO}) {
		t.Fatal("an EIO was not counted")
	}
	for {
		select {
		case ev := <-events:
			if v, ok := ev.Properties[boxbus.PropDiskState]; ok && v.Value() == boxbus.DiskFailing {
				if v, err := box.Property(ctx, boxbus.PropDiskFreeBytes); err != nil || v.Value() != int64(0) {
					t.Fatalf("a failing disk: DiskFreeBytes %v, %v; want 0 (nothing to offer), answered", v, err)
				}
				return
			}
		case <-ctx.Done():
			t.Fatal("no PropertiesChanged saying the disk is failing")
		}
	}
}
