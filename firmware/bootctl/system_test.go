package bootctl_test

import (
	"strings"
	"testing"

	"swarmbox/firmware/bootctl"
	"swarmbox/firmware/bootctl/bootctltest"
)

// TestSystemFindsPartitionsAndTheBootedSlot reads a look-alike sysfs and mountinfo.
func TestSystemFindsPartitionsAndTheBootedSlot(t *testing.T) {
	sys, _ := bootctltest.Disk(t, bootctl.B)
	if d, err := sys.Partition("bootctl"); err != nil || !strings.HasSuffix(d, "/vda3") {
		t.Fatalf("Partition(bootctl) = %q, %v", d, err)
	}
	if _, err := sys.Partition("nothere"); err == nil || !strings.Contains(err.Error(), "no partition named") {
		t.Fatalf("Partition(nothere): %v", err)
	}
	if sl, err := sys.BootedSlot(); err != nil || sl != bootctl.B {
		t.Fatalf("BootedSlot = %v, %v; want b", sl, err)
	}
	other, _ := bootctltest.Disk(t, bootctl.NoSlot)
	if _, err := other.BootedSlot(); err == nil || !strings.Contains(err.Error(), "not a root slot") {
		t.Fatalf("BootedSlot from the state partition: %v", err)
	}
	if _, _, _, err := other.Current(); err == nil {
		t.Fatal("Current on a box not booted from a slot: no error")
	}
}
