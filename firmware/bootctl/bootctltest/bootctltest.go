// Package bootctltest makes look-alike /sys, /proc and /dev trees of a box disk with the A/B
// root slots, for the tests of the packages that find and use them.
package bootctltest

import (
	"os"
	"path/filepath"
	"testing"

	"swarmbox/firmware/bootctl"
)

// Disk makes a disk vda with root_a (vda1), root_b (vda2) and bootctl (vda3, a blank 1 MiB
// file, returned open), the root mounted from booted (NoSlot: from vda4, not a slot).
func Disk(t testing.TB, booted bootctl.Slot) (bootctl.System, *os.File) {
	t.Helper()
	dir := t.TempDir()
	sys := bootctl.System{Sys: filepath.Join(dir, "sys"), Proc: filepath.Join(dir, "proc"), Dev: filepath.Join(dir, "dev")}
	put := func(p string, data []byte) {
		p = filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for i, name := range []string{"root_a", "root_b", "bootctl", "state"} {
		n := string(rune('1' + i))
		ev := []byte("MAJOR=254\nMINOR=" + n + "\nDEVNAME=vda" + n + "\nDEVTYPE=partition\nPARTNAME=" + name + "\n")
		put("sys/class/block/vda"+n+"/uevent", ev)
		put("sys/dev/block/254:"+n+"/uevent", ev)
	}
	root := "254:4"
	if booted == bootctl.A || booted == bootctl.B {
		root = "254:" + string(rune('1'+booted))
	}
	put("proc/self/mountinfo", []byte("20 1 0:5 / /dev rw - devtmpfs dev rw\n22 1 "+root+" / / ro,relatime - ext4 /dev/vdaX ro\n"))
	put("dev/vda3", make([]byte, 1<<20))
	f, err := os.OpenFile(filepath.Join(sys.Dev, "vda3"), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return sys, f
}
