package storage

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// TestBoxStateIsPrivate: the box's state folder is 0700 and box.db (which holds its private
// keys) 0600, both when the box starts for the first time and when an older version left them
// 0755 and 0644.
func TestBoxStateIsPrivate(t *testing.T) {
	ctx := context.Background()
	for _, old := range []bool{false, true} {
		dir := filepath.Join(t.TempDir(), "state")
		if old {
			s, err := Open(ctx, dir)
			if err != nil {
				t.Fatal(err)
			}
			s.Close()
			if err := os.Chmod(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(filepath.Join(dir, "box.db"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		s, err := Open(ctx, dir)
		if err != nil {
			t.Fatal(err)
		}
		for p, want := range map[string]os.FileMode{dir: 0o700, filepath.Join(dir, "box.db"): 0o600} {
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if m := fi.Mode().Perm(); m&^want != 0 {
				t.Errorf("older state %v: %s has mode %o, want at most %o", old, filepath.Base(p), m, want)
			}
		}
		s.Close()
	}
}
