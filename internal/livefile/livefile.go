// Package livefile holds an operator's configuration file that is read again when it changes,
// so a head-end takes an edit without a restart, and keeps the last good contents when an
// edit does not parse.
package livefile

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// File is the parsed contents of one file. A read that fails (the file is gone, or it does
// not parse) leaves the last good contents in force and is logged once; the next change of
// the file is read again.
type File[T any] struct {
	path, what string
	parse      func(name string, r io.Reader) (T, error)
	log        *slog.Logger
	cur        atomic.Pointer[T]

	mu      sync.Mutex  // one look at the file at a time
	seen    os.FileInfo // the file as last read, good or bad: it is read again once it differs
	gone    bool        // err is the file's absence, not its contents
	err     error       // why the file as it is now is not in force; nil when it is
	version int64       // counts the loads
}

// Open reads the file at path, named what in errors and logs ("prefix map"). Unlike a later
// reload, a first read that fails is an error: a head-end started with a bad file says so at
// once.
func Open[T any](path, what string, parse func(name string, r io.Reader) (T, error), log *slog.Logger) (*File[T], error) {
	if log == nil {
		log = slog.Default()
	}
	f := &File[T]{path: path, what: what, parse: parse, log: log}
	if err := f.Reload(); err != nil {
		return nil, err
	}
	return f, nil
}

// Value is the contents in force, without looking at the file: cheap enough for every request.
func (f *File[T]) Value() T { return *f.cur.Load() }

// Current looks at the file, reads it again when it changed, and returns the contents in force
// and their version (it grows with each load).
func (f *File[T]) Current() (T, int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.check()
	return *f.cur.Load(), f.version
}

// Err says why the file as it is now is not in force (nil: the contents in force are the file's).
func (f *File[T]) Err() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err
}

// Reload reads the file now, changed or not (the head-end does so on SIGHUP). On an error the
// contents in force stay.
func (f *File[T]) Reload() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.read()
}

// Watch looks at the file every interval until ctx ends.
func (f *File[T]) Watch(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		f.Current()
	}
}

// check reads the file when it differs from the one last read: another file put in its place
// (the safe way to edit it: write a new file and rename it over), or a new size or time. A file
// that is gone is noted once; when it comes back unchanged, what was in force is its again.
// f.mu must be held.
func (f *File[T]) check() {
	fi, err := os.Stat(f.path)
	switch {
	case err != nil:
		if !f.gone {
			f.log.Warn(f.what+" unreadable: the last good one stays in force", "file", f.path, "err", err)
		}
		f.gone, f.err = true, f.refused(err)
	case f.seen != nil && os.SameFile(fi, f.seen) && fi.Size() == f.seen.Size() && fi.ModTime().Equal(f.seen.ModTime()):
		if f.gone {
			f.gone, f.err = false, nil
		}
	default:
		f.read()
	}
}

// read loads the file; f.mu must be held. The file is examined before it is read, so a change
// made while reading makes it differ from seen and the next look reads it again.
func (f *File[T]) read() error {
	fi, err := os.Stat(f.path)
	f.seen, f.gone = fi, err != nil
	if err == nil {
		var data []byte
		if data, err = os.ReadFile(f.path); err == nil {
			var v T
			if v, err = f.parse(f.path, bytes.NewReader(data)); err == nil {
				f.cur.Store(&v)
				f.err = nil
				f.version++
				f.log.Info(f.what+" loaded", "file", f.path, "bytes", len(data), "version", f.version)
				return nil
			}
		}
	}
	f.err = f.refused(err)
	if f.cur.Load() != nil {
		f.log.Error(f.what+" not reloaded: the last good one stays in force", "file", f.path, "err", err)
	}
	return f.err
}

func (f *File[T]) refused(err error) error {
	return fmt.Errorf("%s: %w (fix the file; the last good one stays in force until it loads)", f.what, err)
}
