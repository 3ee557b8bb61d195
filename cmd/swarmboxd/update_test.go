package main

import (
	"strings"
	"testing"

	"swarmbox/firmware/bootctl"
	"swarmbox/firmware/bootctl/bootctltest"
)

// TestConfirmMakesTheTrialSlotActive: confirm on a box booted from slot b on trial makes b
// active; the status says so; a second confirm does nothing.
func TestConfirmMakesTheTrialSlotActive(t *testing.T) {
	sys, f := bootctltest.Disk(t, bootctl.B)
	r, _ := bootctl.Init(f, bootctl.A, "1")
	n, _ := r.Try(bootctl.B, "2", 3)
	if _, err := bootctl.Write(f, r, n); err != nil {
		t.Fatal(err)
	}
	s, err := readSlotStatus(sys)
	if err != nil || s.Booted != "b" || s.Active != "a" || s.Trying != "b" || s.Running != "2" {
		t.Fatalf("status before confirm: %+v %v", s, err)
	}
	for range 2 {
		if err := updateConfirm(sys); err != nil {
			t.Fatal(err)
		}
	}
	s, err = readSlotStatus(sys)
	if err != nil || s.Active != "b" || s.Trying != "none" || !strings.Contains(s.Note, "came up healthy") {
		t.Fatalf("status after confirm: %+v %v", s, err)
	}
}
