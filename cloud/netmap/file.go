package netmap

import (
	"context"
	"io"
	"log/slog"
	"net/netip"
	"time"

	"swarmbox/internal/livefile"
)

// File is a prefix map read from a file, and read again when the file changes (Watch) or when
// asked (Reload: the head-end does so on SIGHUP). A read that fails — the file is gone, or a
// line does not parse — leaves the last good map in force and is logged; the next change of
// the file is read again.
type File struct{ f *livefile.File[*Map] }

// Open reads the prefix map at path. Unlike a later reload, a first read that fails is an
// error: a head-end started with a bad map says so at once.
func Open(path string, log *slog.Logger) (*File, error) {
	parse := func(name string, r io.Reader) (*Map, error) { return Parse(r, name) }
	f, err := livefile.Open(path, "prefix map", parse, log)
	if err != nil {
		return nil, err
	}
	return &File{f}, nil
}

// Lookup finds a in the map in force (see Map.Lookup).
func (f *File) Lookup(a netip.Addr) (Location, bool) { return f.Map().Lookup(a) }

// Map is the map in force: the last one that loaded (none for a nil *File).
func (f *File) Map() *Map {
	if f == nil {
		return nil
	}
	return f.f.Value()
}

// Err is why the file as it is now is not in force, nil when it is.
func (f *File) Err() error { return f.f.Err() }

// Reload reads the file now. On an error the map in force stays.
func (f *File) Reload() error { return f.f.Reload() }

// Watch checks the file every interval until ctx ends, and reads it when it changed.
func (f *File) Watch(ctx context.Context, every time.Duration) { f.f.Watch(ctx, every) }
