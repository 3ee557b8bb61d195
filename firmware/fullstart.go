package firmware

import (
	"context"
	"errors"
	"time"

	"swarmbox/storage"
)

// fullDiskPoll is how often a box started on a full disk looks whether space has returned.
const fullDiskPoll = 2 * time.Second

// serveFullDisk runs a box whose state disk was too full to open box.db for writing (why, a
// storage.DiskFullError): it says so in words (the folder, the free space, what to do), serves
// the API read-only on its socket and D-Bus if it can, so the TV can browse and show why
// nothing moves, and once the disk has room again opens the store as usual and returns it for
// Run to carry on. It returns (nil, nil) when ctx ends first.
func serveFullDisk(ctx context.Context, cfg Config, why error) (*storage.Store, error) {
	var cause error
	if df := (*storage.DiskFullError)(nil); errors.As(why, &df) {
		cause = df.Cause
	}
	cfg.Log.Error("cannot start: the disk is full", "msg", why.Error(), "dir", cfg.Dir, "free", storage.FreeIn(cfg.Dir))
	cfg.Log.Debug("what SQLite said opening box.db on the full disk", "cause", cause) // its codes mean nothing to the household
	stop := func() {}
	if ro, err := storage.OpenReadOnly(ctx, cfg.Dir); err != nil {
		cfg.Log.Warn("the box's state cannot be read either; no API until space returns", "err", err)
	} else {
		api := NewAPI(ro, Options{Now: cfg.Now})
		api.setDiskNote(why.Error())
		stops := []func(){func() { api.Close(); ro.Close() }}
		if sock, err := ServeSocket(ctx, SocketPath(cfg.Dir), api); err != nil {
			cfg.Log.Warn("the read-only API is not served on the socket", "err", err)
		} else {
			stops = append(stops, func() { sock.Close() })
		}
		if cfg.DBus != "" {
			if conn, err := ConnectBus(cfg.DBus); err != nil {
				cfg.Log.Warn("the read-only API is not served on D-Bus", "err", err)
			} else if bus, err := ServeDBus(conn, api, cfg.DBusName); err != nil {
				conn.Close()
				cfg.Log.Warn("the read-only API is not served on D-Bus", "err", err)
			} else {
				stops = append(stops, func() { bus.Close(); conn.Close() })
			}
		}
		cfg.Log.Info("serving read-only until the disk has room", "dir", cfg.Dir)
		stop = func() {
			for i := len(stops) - 1; i >= 0; i-- {
				stops[i]()
			}
		}
	}
	defer func() { stop() }()
	tick := time.NewTicker(fullDiskPoll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil, nil
		case <-tick.C:
		}
		if storage.FreeIn(cfg.Dir) < storage.MinFree {
			continue
		}
		stop() // the socket and the bus name go to the box proper
		stop = func() {}
		st, err := storage.Open(ctx, cfg.Dir)
		if err == nil {
			cfg.Log.Info("the disk has room again: starting", "dir", cfg.Dir, "free", storage.FreeIn(cfg.Dir))
			return st, nil
		}
		if !errors.Is(err, storage.ErrDiskFull) {
			return nil, err
		}
		return serveFullDisk(ctx, cfg, err)
	}
}
