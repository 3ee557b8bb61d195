package regions

import (
	"log/slog"

	"swarmbox/internal/livefile"
)

// File is a region file that is read again when it changes, so the operator edits windows
// without restarting the head-end. A file that no longer parses keeps the last good policies
// and logs why, once per change.
type File struct{ f *livefile.File[Policies] }

// Open reads the region file at path; it must parse (a head-end should not start without the
// policies its operator gave it).
func Open(path string, log *slog.Logger) (*File, error) {
	f, err := livefile.Open(path, "region file", Parse, log)
	if err != nil {
		return nil, err
	}
	return &File{f}, nil
}

// Current reloads the file when it changed since the last look and returns the policies in
// force and their version (it grows with each successful reload).
func (f *File) Current() (Policies, int64) { return f.f.Current() }

// Err says why the file as it is now was refused (nil: the policies in force are the file's).
func (f *File) Err() error { return f.f.Err() }
