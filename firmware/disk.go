package firmware

import (
	"context"
	"time"

	"swarmbox/firmware/boxbus"
	"swarmbox/storage/disk"
)

// DiskProbeInterval is how often the D-Bus service looks at the media disk to update its
// Disk* properties.
var DiskProbeInterval = 5 * time.Second

// Disk is the media disk now: its size, free space and state.
func (a *API) Disk() disk.Report { return a.mediaDisk.Probe() }

// RecordDiskError hands an error from reading or writing the media folder to the disk's
// health: an I/O error makes the disk "failing" for a while (disk.FailingFor).
func (a *API) RecordDiskError(err error) bool { return a.mediaDisk.Record(err) }

// followDisk probes the disk every interval and announces what changed, until ctx
// ends. Free space is announced when it moved by at least a MiB, so a download in progress
// does not send a signal every probe for every block.
func (s *DBusService) followDisk(ctx context.Context, api *API, every time.Duration) {
	last := api.Disk()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		d := api.Disk()
		if d.Bytes != last.Bytes {
			s.set(boxbus.PropDiskBytes, d.Bytes)
		}
		if diff := d.FreeBytes - last.FreeBytes; diff >= 1<<20 || diff <= -(1<<20) || (d.FreeBytes != last.FreeBytes && d.FreeBytes == 0) {
			s.set(boxbus.PropDiskFreeBytes, d.FreeBytes)
		} else {
			d.FreeBytes = last.FreeBytes
		}
		if d.State != last.State || d.Reason != last.Reason {
			s.set(boxbus.PropDiskState, string(d.State))
			s.set(boxbus.PropDiskReason, d.Reason)
		}
		last = d
	}
}
