package store

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"swarmbox/media"
)

// TestMigrationOrder: databases already migrated depend on the order of migrations. These are
// the steps as the store ran them before they were files (then appended by init functions in
// file name order); their numbers are the schema versions databases record.
func TestMigrationOrder(t *testing.T) {
	want := []string{"CREATE TABLE meta", "CREATE TABLE audit", "CREATE TABLE leases", "CREATE TABLE box_reports",
		"ADD COLUMN category", "CREATE TABLE signin_failures", "ADD COLUMN wish_hash", "ADD COLUMN range_begin",
		"CREATE TABLE pairing_codes"}
	if len(migrations) < len(want) {
		t.Fatalf("%d migrations, want at least %d", len(migrations), len(want))
	}
	for i, w := range want {
		if migrations[i].Version != i+1 || !strings.Contains(migrations[i].SQL, w) {
			t.Fatalf("migration %d (%s) does not hold %q", i+1, migrations[i].Name, w)
		}
	}
}

// TestLoadMigrations: the list is contiguous and ordered by number, whatever the directory's
// order; a gap, a repeat or a misnamed file is an error.
func TestLoadMigrations(t *testing.T) {
	files := func(names ...string) fstest.MapFS {
		m := fstest.MapFS{}
		for _, n := range names {
			m["m/"+n] = &fstest.MapFile{Data: []byte("-- " + n)}
		}
		return m
	}
	got, err := loadMigrations(files("0002_b.sql", "0010_j.sql", "0001_a.sql", "0003_c.sql", "0004_d.sql", "0005_e.sql",
		"0006_f.sql", "0007_g.sql", "0008_h.sql", "0009_i.sql"), "m")
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range got {
		if m.Version != i+1 || m.SQL != "-- "+m.Name {
			t.Fatalf("migration %d is %+v", i+1, m)
		}
	}
	if got[9].Name != "0010_j.sql" {
		t.Fatalf("last is %s", got[9].Name)
	}
	for _, c := range []struct {
		name  string
		files []string
		want  string
	}{
		{"gap", []string{"0001_a.sql", "0003_c.sql"}, "0003_c.sql comes where number 0002"},
		{"not from 1", []string{"0002_b.sql"}, "where number 0001"},
		{"repeat", []string{"0001_a.sql", "0002_b.sql", "0002_c.sql"}, "same number"},
		{"three digits", []string{"0001_a.sql", "002_b.sql"}, "002_b.sql is not named"},
		{"no name", []string{"0001.sql"}, "not named"},
		{"not sql", []string{"0001_a.sql", "0002_b.txt"}, "not named"},
		{"upper case", []string{"0001_Base.sql"}, "not named"},
		{"dialect file", []string{"0001_a.sql", "0001_a.postgres.sql"}, "not named"},
		{"none", nil, "none"},
	} {
		m := files(c.files...)
		if len(c.files) == 0 {
			m["m"] = &fstest.MapFile{Mode: fs.ModeDir | 0o755} // an empty directory
		}
		if _, err := loadMigrations(m, "m"); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want %q", c.name, err, c.want)
		}
	}
	// The embedded files load (mustLoadMigrations already ran), and are all there is.
	if len(migrations) < 8 || migrations[len(migrations)-1].Version != len(migrations) {
		t.Fatalf("embedded migrations: %d, last %+v", len(migrations), migrations[len(migrations)-1])
	}
}

func migrationSQL(list []migration) []string {
	out := make([]string, len(list))
	for i, m := range list {
		out[i] = m.SQL
	}
	return out
}

// upgradeDB is a fresh database (dsn) and how to bring it to an older schema the way the store
// did then.
type upgradeDB struct {
	dsn     string
	openOld func(old []migration) (*sql.DB, error)
}

// testUpgrades makes a database at every older version, writes a title and an account there,
// opens it with the current code and checks that the rows survived and that the schema is the
// current one, exactly as a new database gets it.
func testUpgrades(t *testing.T, fresh func(t *testing.T) upgradeDB) {
	ctx := context.Background()
	s, err := Open(ctx, fresh(t).dsn)
	if err != nil {
		t.Fatal(err)
	}
	want := schemaOf(t, s)
	s.Close()
	for n := 1; n < len(migrations); n++ {
		t.Run(fmt.Sprintf("from%d", n), func(t *testing.T) {
			db := fresh(t)
			old, err := db.openOld(migrations[:n])
			if err != nil {
				t.Fatal(err)
			}
			id := media.ItemID{1, 2, 3}
			oldBox := media.BoxID{4, 5, 6}
			for _, q := range []string{
				`INSERT INTO items (id, title, kind, price_cents, size, sealed_size, info_hash, pieces, torrent, added)
				VALUES ('` + id.String() + `', 'Old Film', 'video', 100, 1, 2, 'abc', 1, '', 0)`,
				`INSERT INTO accounts (id, status, region, balance_cents) VALUES ('old', 'active', 'eu', 1234)`,
				// a box registered under its account before pairing existed stays paired to it
				// (one registered since is paired when it registers)
				boxInsert(n, oldBox),
			} {
				if _, err := old.ExecContext(ctx, q); err != nil {
					t.Fatal(err)
				}
			}
			old.Close()
			s, err := Open(ctx, db.dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if v := schemaVersionOf(t, s); v != len(migrations) {
				t.Fatalf("schema version %d after the upgrade, want %d", v, len(migrations))
			}
			if got := schemaOf(t, s); !slices.Equal(got, want) {
				t.Fatalf("upgraded schema differs from a new database's:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			c, err := s.Catalog(ctx)
			if err != nil || len(c.Items) != 1 || c.Items[0].Title != "Old Film" || c.Items[0].Category != "" {
				t.Fatalf("after the upgrade: %+v %v", c, err)
			}
			if err := s.SetItemCategory(ctx, id, "documentary"); err != nil {
				t.Fatal(err)
			}
			if b, err := s.Box(ctx, oldBox); err != nil || b.Account != "old" || b.Paired.IsZero() {
				t.Fatalf("box after the upgrade: %+v %v, want paired to old", b, err)
			}
			if a, err := s.Account(ctx, "old"); err != nil || a.BalanceCents != 1234 || a.Region != "eu" {
				t.Fatalf("account after the upgrade: %+v %v", a, err)
			}
		})
	}
}

// boxInsert registers box under the account "old" in a database of the first n migrations:
// paired as registration pairs it once pairing exists (0009), else as boxes were before.
func boxInsert(n int, box media.BoxID) string {
	pairing := slices.IndexFunc(migrations, func(m migration) bool { return m.Name == "0009_box_pairing.sql" }) + 1
	if n >= pairing {
		return `INSERT INTO boxes (id, account, sign_key, kem_key, registered, paired) VALUES ('` + box.String() + `', 'old', '', '', 5000, 5000)`
	}
	return `INSERT INTO boxes (id, account, sign_key, kem_key, registered) VALUES ('` + box.String() + `', 'old', '', '', 5000)`
}

// testFailedUpgrade: pending migrations run in one transaction, so when one of them fails the
// database stays at the version it had, without the steps before the failing one.
func testFailedUpgrade(t *testing.T, d *sql.DB, postgres bool) {
	ctx := context.Background()
	if err := migrate(ctx, d, postgres, migrations[:3]); err != nil {
		t.Fatal(err)
	}
	bad := append(slices.Clone(migrations[:5]), migration{Version: 6, Name: "0006_broken.sql",
		SQL: "CREATE TABLE broken_first (x INTEGER);\nINSERT INTO no_such_table VALUES (1);"})
	err := migrate(ctx, d, postgres, bad)
	if err == nil || !strings.Contains(err.Error(), "0006_broken.sql") {
		t.Fatalf("broken migration: err = %v", err)
	}
	version := func() int {
		var v int
		q := "PRAGMA user_version"
		if postgres {
			q = "SELECT version FROM schema_version"
		}
		if err := d.QueryRowContext(ctx, q).Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	exists := func(table string) bool {
		q := "SELECT COUNT(*) FROM sqlite_master WHERE name = $1"
		if postgres {
			q = "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = $1"
		}
		var n int
		if err := d.QueryRowContext(ctx, q, table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n > 0
	}
	if v := version(); v != 3 {
		t.Fatalf("version %d after a failed upgrade from 3", v)
	}
	for _, table := range []string{"box_reports", "broken_first"} {
		if exists(table) {
			t.Fatalf("table %s of the failed upgrade exists", table)
		}
	}
	if err := migrate(ctx, d, postgres, migrations); err != nil {
		t.Fatal(err)
	}
	if v := version(); v != len(migrations) || !exists("box_reports") {
		t.Fatalf("version %d after the good upgrade", v)
	}
	if err := migrate(ctx, d, postgres, migrations[:3]); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("an older program opening the database: err = %v, want 'newer'", err)
	}
}

func schemaVersionOf(t *testing.T, s *Store) int {
	q := "PRAGMA user_version"
	if s.db.postgres {
		q = "SELECT version FROM schema_version"
	}
	var v int
	if err := s.db.sql.QueryRow(q).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// schemaOf lists the database's tables, columns and indexes, one line each, sorted.
func schemaOf(t *testing.T, s *Store) []string {
	q := `SELECT type || ' ' || name || ': ' || COALESCE(sql, '') FROM sqlite_master ORDER BY 1`
	if s.db.postgres {
		q = `SELECT table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable || ' ' || COALESCE(column_default, '')
				FROM information_schema.columns WHERE table_schema = current_schema()
			UNION ALL SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema()
			UNION ALL SELECT conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint WHERE connamespace = current_schema()::regnamespace
			ORDER BY 1`
	}
	rows, err := s.db.sql.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var l string
		if err := rows.Scan(&l); err != nil {
			t.Fatal(err)
		}
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
