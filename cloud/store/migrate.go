package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strconv"
)

// The head-end's schema is one ordered list of numbered SQL files, migrations/NNNN_name.sql,
// embedded in the program. A database records how many of them it has run: PRAGMA user_version
// on SQLite, the one row of the schema_version table on PostgreSQL (the same records the store
// kept when the steps were strings appended by init functions, so databases made then upgrade
// without running anything twice). A new step is a new file with the next number; a file that
// has shipped is never edited, renumbered or removed.
//
// The files are written in the SQL SQLite speaks; ddl (dialect.go) translates them for
// PostgreSQL (BIGINT, BYTEA, identity columns, no WITHOUT ROWID). No step so far needs more; one
// that did would need its own convention (say, a NNNN_name.postgres.sql beside the file), which
// loadMigrations refuses today rather than ignore.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// migration is one schema step.
type migration struct {
	Version int    // 1, 2, 3, … in the order they run
	Name    string // the file name, for errors
	SQL     string
}

var migrations = mustLoadMigrations(migrationFiles, "migrations")

func mustLoadMigrations(fsys fs.FS, dir string) []migration {
	m, err := loadMigrations(fsys, dir)
	if err != nil {
		panic(err) // the embedded files are part of the program: a test catches this first
	}
	return m
}

var migrationName = regexp.MustCompile(`^([0-9]{4})_[a-z0-9_]+\.sql$`)

// loadMigrations reads dir's NNNN_name.sql files and orders them by number. The numbers must
// run 1, 2, 3, … without gap or repeat, and every file in dir must be named so: a misnamed,
// missing or doubled file is an error, not a reordering of production's migrations.
func loadMigrations(fsys fs.FS, dir string) ([]migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, e := range entries {
		m := migrationName.FindStringSubmatch(e.Name())
		if m == nil || e.IsDir() {
			return nil, fmt.Errorf("migrations: %s is not named NNNN_name.sql (four digits, lower-case name)", e.Name())
		}
		v, _ := strconv.Atoi(m[1])
		b, err := fs.ReadFile(fsys, dir+"/"+e.Name())
		if err != nil {
			return nil, err
		}
		out = append(out, migration{Version: v, Name: e.Name(), SQL: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	for i, m := range out {
		switch {
		case i > 0 && m.Version == out[i-1].Version:
			return nil, fmt.Errorf("migrations: %s and %s have the same number", out[i-1].Name, m.Name)
		case m.Version != i+1:
			return nil, fmt.Errorf("migrations: %s comes where number %04d should", m.Name, i+1)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("migrations: none")
	}
	return out, nil
}

// migrate brings the schema up to date: every pending migration and the new version number in
// one transaction. All of them together rather than one transaction each: an upgrade that fails
// part way leaves the database exactly as the previous release left it, so that release still
// opens it (a program refuses a schema newer than it knows), and no instance on a shared
// PostgreSQL database ever sees a schema between two releases. Both engines run DDL inside
// transactions. On PostgreSQL an advisory lock makes head-end instances that start together take
// turns; on SQLite the transaction is BEGIN IMMEDIATE (sqlitedb), which does the same.
func migrate(ctx context.Context, d *sql.DB, postgres bool, list []migration) error {
	conn, err := d.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if !postgres {
		// Up to date, the common case: answer without taking SQLite's write lock, which a
		// command opening the store beside a running head-end would otherwise wait for.
		var have int
		if err := conn.QueryRowContext(ctx, "PRAGMA user_version").Scan(&have); err == nil && have == len(list) {
			return nil
		}
	}
	if postgres {
		const lockID = 0x5377_6172_6d00 // "Swarm"
		if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, lockID); err != nil {
			return fmt.Errorf("lock schema: %w", err)
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, lockID)
	}
	t, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer t.Rollback() // after Commit, a no-op
	have, err := schemaVersion(ctx, t, postgres)
	if err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if have > len(list) {
		return fmt.Errorf("schema version %d is newer than this program knows (%d): upgrade the program", have, len(list))
	}
	if have == len(list) {
		return nil
	}
	for _, m := range list[have:] {
		if _, err := t.ExecContext(ctx, ddl(m.SQL, postgres)); err != nil {
			return fmt.Errorf("migration %d (%s): %w", m.Version, m.Name, err)
		}
	}
	if postgres {
		_, err = t.ExecContext(ctx, `UPDATE schema_version SET version = $1`, len(list))
	} else {
		_, err = t.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", len(list)))
	}
	if err != nil {
		return fmt.Errorf("record schema version %d: %w", len(list), err)
	}
	if err := t.Commit(); err != nil {
		return fmt.Errorf("migrations %d to %d: %w", have+1, len(list), err)
	}
	return nil
}

// schemaVersion reads how many migrations the database has run (0 for a new one).
func schemaVersion(ctx context.Context, t *sql.Tx, postgres bool) (int, error) {
	var have int
	if !postgres {
		err := t.QueryRowContext(ctx, "PRAGMA user_version").Scan(&have)
		return have, err
	}
	if _, err := t.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)`); err != nil {
		return 0, err
	}
	err := t.QueryRowContext(ctx, `SELECT version FROM schema_version`).Scan(&have)
	if errors.Is(err, sql.ErrNoRows) {
		_, err = t.ExecContext(ctx, `INSERT INTO schema_version VALUES (0)`)
	}
	return have, err
}
