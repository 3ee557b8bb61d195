// Package disk is the box's media disk as the daemon sees it: its size and free space (statfs of
// the media folder), its state (ok, missing, failing) from what the init found at boot
// (scripts/image.d/media-disk writes /run/swarmbox/disk), from the file system turning read-only,
// and from the I/O errors the box's writers report, and the split of its space among the
// storage areas (Split, read from disk.conf on the state partition).
package disk

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// State is the disk's health in the words of the D-Bus property DiskState.
type State string

// The disk's states.
const (
	OK      State = "ok"      // the store is mounted and answers
	Missing State = "missing" // the hard disk the box had is gone: the box runs on what it has
	Failing State = "failing" // I/O errors, or the file system went read-only (errors=remount-ro)
)

// Report is one look at the disk.
type Report struct {
	Bytes     int64 // the media file system's size
	FreeBytes int64 // what can still be written there
	State     State
	Reason    string // for Missing and Failing: what was seen, in a sentence
	Device    string // the block device, as the init found it; "" when unknown
	Kind      string // "hard-disk", "internal" or "" (not set up by the init, e.g. tests)
	IOErrors  int64  // I/O errors reported since the daemon started
}

// Boot is what the init found at boot (the key=value lines of /run/swarmbox/disk).
type Boot struct {
	State  State
	Kind   string
	Device string
	Size   int64
}

// ParseBoot reads the init's status file. Unknown keys are ignored (a newer init may add
// some); a bad state or size is an error that names the line.
func ParseBoot(r io.Reader) (Boot, error) {
	var b Boot
	sc := bufio.NewScanner(io.LimitReader(r, 64<<10))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return Boot{}, fmt.Errorf("disk status line %d %q is not key=value", n, line)
		}
		switch k {
		case "state":
			switch s := State(v); s {
			case OK, Missing, Failing:
				b.State = s
			default:
				return Boot{}, fmt.Errorf("disk status line %d: state %q is not ok, missing or failing", n, v)
			}
		case "kind":
			b.Kind = v
		case "device":
			b.Device = v
		case "size":
			sz, err := strconv.ParseInt(v, 10, 64)
			if err != nil || sz < 0 {
				return Boot{}, fmt.Errorf("disk status line %d: size %q is not a byte count", n, v)
			}
			b.Size = sz
		}
	}
	if err := sc.Err(); err != nil {
		return Boot{}, fmt.Errorf("read the disk status: %w", err)
	}
	return b, nil
}

// Monitor watches the media disk. Its methods are safe for concurrent use.
type Monitor struct {
	dir  string
	boot Boot
	// statfs and exists are the system calls; tests replace them.
	statfs func(dir string) (fsStat, error)
	exists func(path string) bool

	now func() time.Time

	mu       sync.Mutex
	ioErrors int64
	lastErr  time.Time // when Record last counted an error
	failing  string
}

// FailingFor is how long a disk stays "failing" after its last I/O error: long enough for the
// TV and the head-end to see it, short enough that one error on a good disk does not stay.
const FailingFor = 10 * time.Minute

// fsStat is the part of statfs the monitor uses.
type fsStat struct {
	Bytes, Free int64
	ReadOnly    bool
}

// New watches the media folder dir. bootStatus is the init's status file; "" or a missing file
// means no init set the disk up (a box run by hand or in tests): the state then comes from dir
// alone.
func New(dir, bootStatus string) (*Monitor, error) {
	m := &Monitor{dir: dir, statfs: statfs, now: time.Now, exists: func(p string) bool { _, err := os.Stat(p); return err == nil }}
	if bootStatus != "" {
		f, err := os.Open(bootStatus)
		switch {
		case errors.Is(err, os.ErrNotExist):
		case err != nil:
			return nil, fmt.Errorf("the init's disk status: %w", err)
		default:
			defer f.Close()
			if m.boot, err = ParseBoot(f); err != nil {
				return nil, fmt.Errorf("%s: %w", bootStatus, err)
			}
		}
	}
	return m, nil
}

// Record counts err if it is an I/O error of the disk (EIO, EROFS, ENODEV, ENXIO); a caller
// that reads or writes the media folder hands it every error it gets. It reports whether err
// was counted.
func (m *Monitor) Record(err error) bool {
	if !IsIOError(err) {
		return false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.ioErrors++
	m.lastErr = m.now()
	m.failing = err.Error()
	return true
}

// IsIOError says whether err is the disk failing rather than, say, a full disk or a missing file.
func IsIOError(err error) bool {
	return errors.Is(err, syscall.EIO) || errors.Is(err, syscall.EROFS) || errors.Is(err, syscall.ENODEV) || errors.Is(err, syscall.ENXIO)
}

// Probe looks at the disk now. A disk that was missing at boot stays missing (the init mounted
// the internal partition instead); a block device that has gone since is missing; a read-only
// file system, a failed statfs or an I/O error in the last FailingFor is failing.
func (m *Monitor) Probe() Report {
	st, err := m.statfs(m.dir)
	m.mu.Lock()
	defer m.mu.Unlock()
	r := Report{Bytes: st.Bytes, FreeBytes: st.Free, State: OK, Device: m.boot.Device, Kind: m.boot.Kind, IOErrors: m.ioErrors}
	switch {
	case m.boot.State == Missing:
		r.State, r.Reason = Missing, "the hard disk was not found at start: the box uses its small internal store"
	case m.boot.Device != "" && !m.exists(m.boot.Device):
		r.State, r.Reason = Missing, fmt.Sprintf("the disk %s has gone", m.boot.Device)
	case m.boot.State == Failing:
		r.State, r.Reason = Failing, "the disk could not be mounted at start"
	case err != nil:
		r.State, r.Reason = Failing, fmt.Sprintf("the media folder does not answer: %v", err)
		if IsIOError(err) {
			m.ioErrors++
			m.lastErr, m.failing = m.now(), err.Error()
			r.IOErrors = m.ioErrors
		}
	case st.ReadOnly:
		r.State, r.Reason = Failing, "the disk's file system went read-only after errors"
	case !m.lastErr.IsZero() && m.now().Sub(m.lastErr) < FailingFor:
		r.State, r.Reason = Failing, fmt.Sprintf("I/O errors (%d since start), the last: %s", m.ioErrors, m.failing)
	}
	if r.State != OK {
		// A disk that does not answer has no free space to offer.
		r.FreeBytes = 0
	}
	return r
}

func statfs(dir string) (fsStat, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return fsStat{}, fmt.Errorf("statfs %s: %w", dir, err)
	}
	const rdonly = 0x1 // ST_RDONLY
	return fsStat{Bytes: int64(st.Blocks) * int64(st.Bsize), Free: int64(st.Bavail) * int64(st.Bsize), ReadOnly: st.Flags&rdonly != 0}, nil
}
