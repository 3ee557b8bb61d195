package ui

import (
	"strings"
	"testing"

	"swarmbox/firmware/boxbus"
)

// TestDownloadsSaysWhatTheDiskIs: the Downloads screen's disk line gives the size and free space,
// and says plainly when the hard disk is missing or failing; the properties' changes reach it.
func TestDownloadsSaysWhatTheDiskIs(t *testing.T) {
	var d diskInfo
	if d.line() != "" {
		t.Errorf("a box that told nothing of its disk: %q, want no line", d.line())
	}
	for name, v := range map[string]any{boxbus.PropDiskBytes: int64(8 << 30), boxbus.PropDiskFreeBytes: int64(6 << 30), boxbus.PropDiskState: boxbus.DiskOK, boxbus.PropDiskReason: ""} {
		if !d.apply(name, v) {
			t.Errorf("%s not taken as a disk property", name)
		}
	}
	if d.apply(boxbus.PropNowPlaying, "x") {
		t.Error("NowPlaying taken as a disk property")
	}
	for _, c := range []struct {
		state string
		want  []string
	}{
		{boxbus.DiskOK, []string{"Disk: 6.0 GB free of 8.0 GB"}},
		{boxbus.DiskMissing, []string{"The hard disk is missing", "still play", "6.0 GB free of 8.0 GB"}},
		{boxbus.DiskFailing, []string{"The hard disk is failing", "Replace the disk"}},
	} {
		d.apply(boxbus.PropDiskState, c.state)
		for _, w := range c.want {
			if !strings.Contains(d.line(), w) {
				t.Errorf("state %s: %q lacks %q", c.state, d.line(), w)
			}
		}
	}
}
