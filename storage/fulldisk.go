package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"syscall"
)

// ErrDiskFull is what Open's error wraps when the box's state folder is on a disk too full for
// SQLite to open box.db for writing.
var ErrDiskFull = errors.New("the disk is full")

// MinFree is the free space below which the box counts its state disk as full at start.
const MinFree = 4 << 20

// DiskFullError says, for the household and the log, that the state folder's disk is full:
// which folder, how much is free and what to do. It never shows SQLite's own words ("disk I/O
// error (4874)"): Cause keeps them for the log.
type DiskFullError struct {
	Dir   string
	Free  int64 // bytes free on Dir's disk
	Cause error // what opening box.db said
}

func (e *DiskFullError) Error() string {
	return fmt.Sprintf("the disk holding the box's state folder %s is full (%d bytes free): the box cannot write box.db there. "+
		"Free space on that disk (delete files that are not the box's, or move the state folder to a larger disk) and the box starts by itself; "+
		"until then it answers read-only", e.Dir, e.Free)
}

// Unwrap lets errors.Is find ErrDiskFull and the cause.
func (e *DiskFullError) Unwrap() []error { return []error{ErrDiskFull, e.Cause} }

// FreeIn is the space left for unprivileged writers on dir's disk, or -1 if it cannot be read.
func FreeIn(dir string) int64 {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return -1
	}
	return int64(st.Bavail) * int64(st.Bsize)
}

// explainOpen turns an error opening dir's database into a DiskFullError when the disk is full
// (or the error says so), and leaves any other error as it is.
func explainOpen(dir string, err error) error {
	if err == nil {
		return nil
	}
	free := FreeIn(dir)
	if free >= 0 && free < MinFree || errors.Is(err, syscall.ENOSPC) {
		return &DiskFullError{Dir: dir, Free: max(free, 0), Cause: err}
	}
	return err
}

// OpenReadOnly opens the box state in dir without writing anything, for a box whose disk is
// full: the household can still browse, see its titles and hear why nothing moves. Every write
// fails. Close it.
func OpenReadOnly(ctx context.Context, dir string) (*Store, error) {
	path := filepath.Join(dir, "box.db")
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("no box state in %s: %w", dir, err)
	}
	var last error
	// mode=ro reads a database with its write-ahead log; immutable=1 one whose log a clean
	// stop folded in, when SQLite cannot set up the log's index on a full disk.
	for _, mode := range []string{"mode=ro", "mode=ro&immutable=1"} {
		db, err := sql.Open("sqlite", "file:"+(&url.URL{Path: path}).EscapedPath()+"?"+mode+"&_pragma=busy_timeout(10000)")
		if err != nil {
			last = err
			continue
		}
		var n int
		if err = db.QueryRowContext(ctx, `SELECT COUNT(*) FROM identity`).Scan(&n); err != nil {
			db.Close()
			last = err
			continue
		}
		s := &Store{db: db, dir: dir, quotas: map[string]int64{}}
		s.diskFree = s.statfsFree
		s.readOnly = &DiskFullError{Dir: dir, Free: max(FreeIn(dir), 0)}
		return s, nil
	}
	return nil, fmt.Errorf("open %s read-only: %w", path, last)
}

// Writable says whether the store takes writes: nil, or (a store opened with OpenReadOnly on a
// full disk) a DiskFullError saying why not, for callers to refuse before they start what they
// could not record (a purchase whose licence could not be kept).
func (s *Store) Writable() error {
	if s.readOnly != nil {
		return s.readOnly
	}
	return nil
}
