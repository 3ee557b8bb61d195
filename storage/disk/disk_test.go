package disk

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// fakeMonitor is a monitor over fake system calls and a fake clock.
func fakeMonitor(boot Boot, st fsStat, stErr error, device bool) (*Monitor, *time.Time) {
	now := time.Date(2026, 12, 2, 5, 0, 0, 0, time.UTC)
	m := &Monitor{dir: "/media", boot: boot,
		statfs: func(string) (fsStat, error) { return st, stErr },
		exists: func(string) bool { return device },
		now:    func() time.Time { return now },
	}
	return m, &now
}

func TestProbeTellsOKMissingAndFailing(t *testing.T) {
	good := fsStat{Bytes: 8 << 30, Free: 7 << 30}
	for _, c := range []struct {
		name   string
		boot   Boot
		st     fsStat
		stErr  error
		device bool
		want   State
		free   int64
	}{
		{"a mounted hard disk", Boot{State: OK, Kind: "hard-disk", Device: "/dev/vdb1"}, good, nil, true, OK, 7 << 30},
		{"no init (tests, a box run by hand)", Boot{}, good, nil, false, OK, 7 << 30},
		{"missing at boot: the internal partition stands in", Boot{State: Missing, Kind: "internal", Device: "/dev/vda4"}, good, nil, true, Missing, 0},
		{"its block device has gone since boot", Boot{State: OK, Kind: "hard-disk", Device: "/dev/sda1"}, good, nil, false, Missing, 0},
		{"could not be mounted at boot", Boot{State: Failing, Kind: "internal"}, good, nil, false, Failing, 0},
		{"read-only after errors", Boot{State: OK}, fsStat{Bytes: 8 << 30, Free: 1 << 30, ReadOnly: true}, nil, true, Failing, 0},
		{"statfs fails with EIO", Boot{State: OK}, fsStat{}, fmt.Errorf("statfs: %w", syscall.EIO), true, Failing, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			m, _ := fakeMonitor(c.boot, c.st, c.stErr, c.device)
			r := m.Probe()
			if r.State != c.want || r.FreeBytes != c.free {
				t.Errorf("Probe = %+v, want state %s and %d free", r, c.want, c.free)
			}
			if (r.State == OK) != (r.Reason == "") {
				t.Errorf("state %s with reason %q: a reason is given exactly when the state is not ok", r.State, r.Reason)
			}
			if r.Bytes != c.st.Bytes {
				t.Errorf("Bytes %d, want the file system's %d", r.Bytes, c.st.Bytes)
			}
		})
	}
}

func TestIOErrorsMakeTheDiskFailingForAWhile(t *testing.T) {
	m, now := fakeMonitor(Boot{State: OK}, fsStat{Bytes: 100, Free: 50}, nil, true)
	for _, err := range []error{nil, errors.New("no space"), syscall.ENOSPC, fs.ErrNotExist, fmt.Errorf("wrapped: %w", syscall.EINVAL)} {
		if m.Record(err) {
			t.Errorf("Record(%v) counted it as an I/O error", err)
		}
	}
	if r := m.Probe(); r.State != OK || r.IOErrors != 0 {
		t.Fatalf("after errors that are not the disk's: %+v", r)
	}
	if !m.Record(&os.PathError{Op: "write", Path: "/media/x.sbx", Err: syscall.EIO}) {
		t.Fatal("EIO from a write was not counted")
	}
	r := m.Probe()
	if r.State != Failing || r.IOErrors != 1 || !strings.Contains(r.Reason, "input/output error") {
		t.Fatalf("after an EIO: %+v", r)
	}
	*now = now.Add(FailingFor - time.Second)
	if r := m.Probe(); r.State != Failing {
		t.Errorf("just before FailingFor passed: %+v", r)
	}
	*now = now.Add(2 * time.Second)
	if r := m.Probe(); r.State != OK || r.IOErrors != 1 {
		t.Errorf("after FailingFor without errors: %+v, want ok with the count kept", r)
	}
	m.Record(syscall.EROFS)
	if r := m.Probe(); r.State != Failing || r.IOErrors != 2 {
		t.Errorf("after EROFS: %+v", r)
	}
}

func TestProbeOfARealFolder(t *testing.T) {
	dir := t.TempDir()
	m, err := New(dir, filepath.Join(dir, "no-such-status"))
	if err != nil {
		t.Fatal(err)
	}
	r := m.Probe()
	if r.State != OK || r.Bytes <= 0 || r.FreeBytes <= 0 || r.FreeBytes > r.Bytes {
		t.Errorf("Probe of %s = %+v", dir, r)
	}
	m, err = New(filepath.Join(dir, "gone"), "")
	if err != nil {
		t.Fatal(err)
	}
	if r := m.Probe(); r.State != Failing || r.FreeBytes != 0 {
		t.Errorf("Probe of a folder that does not exist = %+v, want failing", r)
	}
}

func TestNewReadsTheInitsStatus(t *testing.T) {
	dir := t.TempDir()
	status := filepath.Join(dir, "disk")
	os.WriteFile(status, []byte("state=missing\nkind=internal\ndevice=/dev/vda4\nsize=134217728\n"), 0o644)
	m, err := New(dir, status)
	if err != nil {
		t.Fatal(err)
	}
	if r := m.Probe(); r.State != Missing || r.Kind != "internal" || r.Device != "/dev/vda4" {
		t.Errorf("Probe = %+v, want missing on the internal partition", r)
	}
	os.WriteFile(status, []byte("state=gone\n"), 0o644)
	if _, err := New(dir, status); err == nil || !strings.Contains(err.Error(), "gone") {
		t.Errorf("a bad state: %v", err)
	}
}

func TestParseBoot(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Boot
		err  string
	}{
		{"state=ok\nkind=hard-disk\ndevice=/dev/vdb1\nsize=8589934592\n", Boot{OK, "hard-disk", "/dev/vdb1", 8 << 30}, ""},
		{"# a comment\n\nstate=failing\nnew_key=later\n", Boot{State: Failing}, ""},
		{"", Boot{}, ""},
		{"state=broken\n", Boot{}, "not ok, missing or failing"},
		{"size=-1\n", Boot{}, "not a byte count"},
		{"size=lots\n", Boot{}, "not a byte count"},
		{"state ok\n", Boot{}, "not key=value"},
	} {
		got, err := ParseBoot(strings.NewReader(c.in))
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("ParseBoot(%q) error %v, want %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("ParseBoot(%q) = %+v, %v; want %+v", c.in, got, err, c.want)
		}
	}
}

func FuzzParseBoot(f *testing.F) {
	f.Add("state=ok\nkind=hard-disk\ndevice=/dev/vdb1\nsize=8589934592\n")
	f.Add("state=missing\nsize=0")
	f.Add("=\n==\nstate=\x00")
	f.Fuzz(func(t *testing.T, in string) {
		b, err := ParseBoot(strings.NewReader(in))
		if err != nil {
			return
		}
		if b.Size < 0 || (b.State != "" && b.State != OK && b.State != Missing && b.State != Failing) {
			t.Errorf("ParseBoot(%q) accepted %+v", in, b)
		}
	})
}
