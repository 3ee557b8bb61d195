package main

import (
	"context"
	"fmt"
	"syscall"

	"swarmbox/firmware/boxbus"
	"swarmbox/storage"
	"swarmbox/storage/disk"
)

// diskView is the media disk as `swarmboxd status` shows it.
type diskView struct {
	Bytes     int64  `json:"bytes"`
	FreeBytes int64  `json:"free_bytes"`
	State     string `json:"state"`
	Reason    string `json:"reason,omitempty"`
}

// diskOf reads the media disk through the door: the daemon's Disk* properties, or a probe of
// the state folder's media folder in process.
func diskOf(ctx context.Context, box boxDoor) (diskView, error) {
	switch d := box.(type) {
	case daemonDoor:
		var v diskView
		for name, dst := range map[string]any{boxbus.PropDiskBytes: &v.Bytes, boxbus.PropDiskFreeBytes: &v.FreeBytes, boxbus.PropDiskState: &v.State, boxbus.PropDiskReason: &v.Reason} {
			p, err := d.Property(ctx, name)
			if err != nil {
				return diskView{}, fmt.Errorf("the daemon's %s: %w (an older daemon? restart it)", name, err)
			}
			if err := p.Store(dst); err != nil {
				return diskView{}, fmt.Errorf("the daemon's %s: %w", name, err)
			}
		}
		return v, nil
	case localDoor:
		r := d.api.Disk()
		return diskView{r.Bytes, r.FreeBytes, string(r.State), r.Reason}, nil
	}
	return diskView{}, fmt.Errorf("no disk figures through %s", box.Via())
}

// diskQuotas sizes the storage areas from the media disk: the split in config (a missing file
// is disk.DefaultSplit) of the media folder's file system, for every area whose quota flag is 0.
// config "" leaves the flags as they are (quotas 0 = the disk bounds the area).
func diskQuotas(dir, config string, flags map[string]int64) (map[string]int64, error) {
	out := map[string]int64{}
	for a, q := range flags {
		out[a] = q
	}
	if config == "" {
		return out, nil
	}
	split, err := disk.LoadSplit(config, storage.Areas)
	if err != nil {
		return nil, err
	}
	var st syscall.Statfs_t
	media := dir + "/media"
	if err := syscall.Statfs(media, &st); err != nil {
		// No media folder yet (a first start outside the image): storage creates it, the
		// disk bounds the areas.
		return out, nil
	}
	size := int64(st.Blocks) * int64(st.Bsize)
	for a, q := range split.Quotas(size) {
		if out[a] == 0 {
			out[a] = q
		}
	}
	return out, nil
}

// gib writes a byte count for people: "7.8 GiB", "512.0 MiB".
func gib(n int64) string {
	if n >= 1<<30 {
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}
