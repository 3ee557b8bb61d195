package netmap

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// File is a prefix map read from a file, and read again when the file changes (Watch) or when
// asked (Reload: the head-end does so on SIGHUP). A read that fails — the file is gone, or a
// line does not parse — leaves the last good map in force and is logged; the next change of
// the file is read again.
type File struct {
	path string
	log  *slog.Logger
	cur  atomic.Pointer[Map]

	mu   sync.Mutex  // one read at a time
	seen os.FileInfo // the file as last read, good or bad: Watch reads it again once it differs
	err  error       // the last read's; nil when it loaded
}

// Open reads the prefix map at path. Unlike a later reload, a first read that fails is an
// error: a head-end started with a bad map says so at once.
func Open(path string, log *slog.Logger) (*File, error) {
	if log == nil {
		log = slog.Default()
	}
	f := &File{path: path, log: log}
	if err := f.Reload(); err != nil {
		return nil, err
	}
	return f, nil
}

// Lookup finds a in the map in force (see Map.Lookup).
func (f *File) Lookup(a netip.Addr) (Location, bool) { return f.Map().Lookup(a) }

// Map is the map in force: the last one that loaded (none for a nil *File).
func (f *File) Map() *Map {
	if f == nil {
		return nil
	}
	return f.cur.Load()
}

// Err is the error of the last read, nil when it loaded.
func (f *File) Err() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err
}

// Reload reads the file now. On an error the map in force stays.
func (f *File) Reload() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.read()
}

// read loads the file; f.mu must be held. The file is examined before it is read, so a change
// made while reading makes it differ from seen and Watch reads it again.
func (f *File) read() error {
	fi, err := os.Stat(f.path)
	f.seen = fi
	if err == nil {
		var data []byte
		if data, err = os.ReadFile(f.path); err == nil {
			var m *Map
			if m, err = Parse(bytes.NewReader(data), f.path); err == nil {
				f.cur.Store(m)
				f.err = nil
				f.log.Info("prefix map loaded", "file", f.path, "prefixes", m.Len())
				return nil
			}
		}
	}
	f.err = fmt.Errorf("prefix map: %w (fix the file; the last good map stays in force until it loads)", err)
	if f.cur.Load() != nil {
		f.log.Error("prefix map not reloaded: keeping the last good map", "file", f.path, "err", err)
	}
	return f.err
}

// changed says whether the file differs from the one last read: another file put in its place
// (the safe way to edit it: write a new file and rename it over), or a new size or time.
func (f *File) changed() bool {
	fi, err := os.Stat(f.path)
	switch {
	case err != nil || f.seen == nil:
		return err == nil // gone: nothing to read; back: read it
	case !os.SameFile(fi, f.seen):
		return true
	}
	return fi.Size() != f.seen.Size() || !fi.ModTime().Equal(f.seen.ModTime())
}

// Watch checks the file every interval until ctx ends, and reads it when it changed.
func (f *File) Watch(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		f.mu.Lock()
		if f.changed() {
			f.read()
		}
		f.mu.Unlock()
	}
}
