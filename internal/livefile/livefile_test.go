package livefile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// parseNumber reads one decimal number: a stand-in for a real file format.
func parseNumber(name string, r io.Reader) (int, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0, errors.New(name + ":1: not a number")
	}
	return n, nil
}

// TestFileFollowsEdits walks a file through the edits an operator makes: a good edit is taken,
// a bad one keeps the last good contents with an error naming the file, removal keeps them
// too, and the file put back is in force again.
func TestFileFollowsEdits(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "n")
	// write puts a new file in place, as an editor that renames does; the time moves on so
	// that a same-size edit is seen on file systems with coarse times.
	at := time.Now()
	write := func(s string) {
		tmp := filepath.Join(dir, "tmp")
		if err := os.WriteFile(tmp, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		at = at.Add(time.Second)
		os.Chtimes(tmp, at, at)
		if err := os.Rename(tmp, path); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := Open(path, "number", parseNumber, nil); err == nil {
		t.Fatal("a missing file opened")
	}
	write("x")
	if _, err := Open(path, "number", parseNumber, nil); err == nil || !strings.Contains(err.Error(), path+":1:") {
		t.Fatalf("a bad first file: %v, want an error naming the file", err)
	}
	write("1")
	f, err := Open(path, "number", parseNumber, nil)
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name    string
		edit    func()
		want    int
		version int64
		err     string // "" for none
	}{
		{"unchanged", func() {}, 1, 1, ""},
		{"edited", func() { write("2") }, 2, 2, ""},
		{"a bad edit", func() { write("two") }, 2, 2, path + ":1: not a number"},
		{"fixed", func() { write("3") }, 3, 3, ""},
		{"removed", func() { os.Rename(path, path+".away") }, 3, 3, "no such file"},
		{"put back as it was", func() { os.Rename(path+".away", path) }, 3, 3, ""},
	}
	for _, s := range steps {
		s.edit()
		v, version := f.Current()
		if v != s.want || version != s.version || f.Value() != s.want {
			t.Errorf("%s: %d v%d (value %d), want %d v%d", s.name, v, version, f.Value(), s.want, s.version)
		}
		switch err := f.Err(); {
		case s.err == "" && err != nil:
			t.Errorf("%s: error %v", s.name, err)
		case s.err != "" && (err == nil || !strings.Contains(err.Error(), s.err)):
			t.Errorf("%s: error %v, want one saying %q", s.name, err, s.err)
		}
	}
	if err := f.Reload(); err != nil || f.Value() != 3 {
		t.Errorf("a forced reload: %v, value %d", err, f.Value())
	}
}
