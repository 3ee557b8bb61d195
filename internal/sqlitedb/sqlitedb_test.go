package sqlitedb

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

func TestMigrateIsIncrementalAndRefusesNewerSchema(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "x.db")
	m1 := []string{"CREATE TABLE a (x INTEGER)"}
	db, err := Open(ctx, path, m1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("INSERT INTO a VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	db.Close()

	m2 := append(m1, "ALTER TABLE a ADD COLUMN y TEXT DEFAULT 'z'")
	db, err = Open(ctx, path, m2)
	if err != nil {
		t.Fatal(err)
	}
	var x int
	var y string
	if err := db.QueryRow("SELECT x, y FROM a").Scan(&x, &y); err != nil || x != 1 || y != "z" {
		t.Fatalf("after migration: x=%d y=%q err=%v", x, y, err)
	}
	db.Close()

	if _, err := Open(ctx, path, m1); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("opening a newer schema with older migrations: err = %v, want 'newer'", err)
	}
}

func TestFailedMigrationLeavesWholeVersion(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "x.db")
	bad := []string{"CREATE TABLE a (x INTEGER)", "CREATE TABLE b (y INTEGER); INSERT INTO nope VALUES (1)"}
	if _, err := Open(ctx, path, bad); err == nil {
		t.Fatal("want error from broken migration")
	}
	db, err := Open(ctx, path, bad[:1])
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow("SELECT count(*) FROM sqlite_master WHERE name = 'b'").Scan(&n); err != nil || n != 0 {
		t.Fatalf("table b from the failed migration exists: n=%d err=%v", n, err)
	}
}
