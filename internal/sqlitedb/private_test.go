package sqlitedb

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// TestDatabaseFilesArePrivate: a new database and the -wal and -shm files SQLite makes beside
// it are readable by their owner only, and an existing database left world-readable (0644, as
// older versions made box.db, which holds the box's private keys) is narrowed to 0600 at open.
func TestDatabaseFilesArePrivate(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		prepare func(t *testing.T, path string)
	}{
		{"new", func(*testing.T, string) {}},
		{"existing world-readable", func(t *testing.T, path string) {
			db, err := Open(ctx, path, []string{"CREATE TABLE a (x INTEGER)"})
			if err != nil {
				t.Fatal(err)
			}
			db.Close()
			for _, p := range []string{path, path + "-wal", path + "-shm"} {
				if _, err := os.Stat(p); os.IsNotExist(err) {
					os.WriteFile(p, nil, 0o644) // SQLite removed it at close; an old crash leaves one
				}
				if err := os.Chmod(p, 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "box.db")
			tc.prepare(t, path)
			db, err := Open(ctx, path, []string{"CREATE TABLE a (x INTEGER)"})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if _, err := db.Exec("INSERT INTO a VALUES (1)"); err != nil { // the WAL is written
				t.Fatal(err)
			}
			for _, p := range []string{path, path + "-wal", path + "-shm"} {
				fi, err := os.Stat(p)
				if err != nil {
					t.Fatalf("%s: %v (want it to exist while the database is open in WAL mode)", filepath.Base(p), err)
				}
				if m := fi.Mode().Perm(); m&^PrivateMode != 0 {
					t.Errorf("%s has mode %o, want at most %o", filepath.Base(p), m, PrivateMode)
				}
			}
		})
	}
}

// TestNarrowNeverWidens: narrow leaves a missing path alone and never widens a mode.
func TestNarrowNeverWidens(t *testing.T) {
	dir := t.TempDir()
	if err := narrow(filepath.Join(dir, "missing"), PrivateMode); err != nil {
		t.Fatalf("missing file: %v", err)
	}
	p := filepath.Join(dir, "ro")
	if err := os.WriteFile(p, nil, 0o400); err != nil {
		t.Fatal(err)
	}
	if err := narrow(p, PrivateMode); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o400 {
		t.Fatalf("mode %o, want 0400 kept", fi.Mode().Perm())
	}
}
