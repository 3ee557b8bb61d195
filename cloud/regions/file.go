package regions

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// File is a region file that is read again when it changes, so the operator edits windows
// without restarting the head-end. A file that no longer parses keeps the last good policies
// and logs why, once per change.
type File struct {
	path string
	log  *slog.Logger

	mu      sync.Mutex
	mtime   time.Time
	size    int64
	cur     Policies
	version int64 // counts the loads that changed the policies
	err     error // why the file as it is now was refused; nil when it was loaded
}

// Open reads the region file at path; it must parse (a head-end should not start without the
// policies its operator gave it).
func Open(path string, log *slog.Logger) (*File, error) {
	if log == nil {
		log = slog.Default()
	}
	f := &File{path: path, log: log}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("region file: %w", err)
	}
	p, err := read(path)
	if err != nil {
		return nil, err
	}
	f.mtime, f.size, f.cur, f.version = fi.ModTime(), fi.Size(), p, 1
	return f, nil
}

func read(path string) (Policies, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("region file: %w", err)
	}
	return Parse(path, bytes.NewReader(b))
}

// Current reloads the file when its modification time or size changed since the last look and
// returns the policies in force and their version (it grows with each successful reload).
func (f *File) Current() (Policies, int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fi, err := os.Stat(f.path)
	switch {
	case err != nil:
		if f.err == nil || f.err.Error() != err.Error() {
			f.log.Warn("region file unreadable; the last good one stays in force", "path", f.path, "err", err)
		}
		f.err = err
	case fi.ModTime().Equal(f.mtime) && fi.Size() == f.size:
		if _, gone := f.err.(*os.PathError); gone {
			f.err = nil // back as it was when last read
		}
	default:
		f.mtime, f.size = fi.ModTime(), fi.Size()
		p, err := read(f.path)
		if err != nil {
			f.err = err
			f.log.Warn("region file refused; the last good one stays in force", "err", err)
			break
		}
		f.cur, f.err = p, nil
		f.version++
		f.log.Info("region file reloaded", "path", f.path, "regions", len(p))
	}
	return f.cur, f.version
}

// Err says why the file as it is now was refused (nil: the policies in force are the file's).
func (f *File) Err() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err
}
