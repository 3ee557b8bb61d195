package ui

import (
	"context"
	"fmt"

	"github.com/godbus/dbus/v5"

	"swarmbox/firmware/boxbus"
)

// diskInfo is the box's media disk as the TV shows it (the box's Disk* properties).
type diskInfo struct {
	known       bool // the box told its disk's figures
	bytes, free int64
	state       string // boxbus.DiskOK, DiskMissing, DiskFailing
	reason      string
}

// propertyReader is the part of *boxbus.Client that reads properties; a Box without it (an
// older box, a test fake) shows no disk line.
type propertyReader interface {
	Property(ctx context.Context, name string) (dbus.Variant, error)
}

// loadDisk reads the disk's properties, when the box can tell them.
func loadDisk(ctx context.Context, box Box) (diskInfo, error) {
	pr, ok := box.(propertyReader)
	if !ok {
		return diskInfo{}, nil
	}
	d := diskInfo{known: true}
	for _, name := range []string{boxbus.PropDiskBytes, boxbus.PropDiskFreeBytes, boxbus.PropDiskState, boxbus.PropDiskReason} {
		v, err := pr.Property(ctx, name)
		if err != nil {
			// A box from before the disk properties: no disk line rather than no TV.
			return diskInfo{}, nil
		}
		d.apply(name, v.Value())
	}
	return d, nil
}

// apply takes one property's new value; it reports whether name was a disk property.
func (d *diskInfo) apply(name string, val any) bool {
	switch name {
	case boxbus.PropDiskBytes:
		d.bytes, _ = val.(int64)
	case boxbus.PropDiskFreeBytes:
		d.free, _ = val.(int64)
	case boxbus.PropDiskState:
		d.state, _ = val.(string)
	case boxbus.PropDiskReason:
		d.reason, _ = val.(string)
	default:
		return false
	}
	d.known = true
	return true
}

// line is what the Downloads screen says about the disk: its size and free space, and a
// sentence when it is missing or failing.
func (d diskInfo) line() string {
	if !d.known {
		return ""
	}
	switch d.state {
	case boxbus.DiskMissing:
		return fmt.Sprintf("  [::b]The hard disk is missing.[::-] Titles already on the box still play; new downloads use the small internal store (%s free of %s). Reconnect the disk and restart the box.\n", size(d.free), size(d.bytes))
	case boxbus.DiskFailing:
		return "  [::b]The hard disk is failing.[::-] Titles already on the box still play while it lasts; new downloads wait. Replace the disk.\n"
	}
	return fmt.Sprintf("  Disk: %s free of %s\n", size(d.free), size(d.bytes))
}
