package testenv

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
)

// PostgresCluster is a throwaway PostgreSQL server in a temporary folder, listening on a
// loopback port, stopped and deleted when the test that started it ends.
type PostgresCluster struct {
	port int
	n    atomic.Int64
}

// pgTool finds a PostgreSQL server program: on PATH, or in Debian's versioned folder (the
// postgresql package does not put initdb and pg_ctl on PATH).
func pgTool(t testing.TB, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	if m, _ := filepath.Glob("/usr/lib/postgresql/*/bin/" + name); len(m) > 0 {
		return m[len(m)-1]
	}
	return RequireTool(t, name) // fails or skips with the install hint
}

// Postgres starts a PostgreSQL cluster for the test (initdb + pg_ctl). PostgreSQL refuses to
// run as root, so as root the server runs as the "postgres" user the Debian package creates.
func Postgres(t testing.TB) *PostgresCluster {
	t.Helper()
	initdb, pgctl := pgTool(t, "initdb"), pgTool(t, "pg_ctl")
	var asUser []string
	var uid, gid int = -1, -1
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			missing(t, "running PostgreSQL as root needs the postgres user: apt-get install postgresql")
			return nil
		}
		uid, _ = strconv.Atoi(u.Uid)
		gid, _ = strconv.Atoi(u.Gid)
		asUser = []string{"runuser", "-u", "postgres", "--"}
	}
	dir, err := os.MkdirTemp("", "swarmbox-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if uid >= 0 {
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	run := func(args ...string) error {
		cmd := exec.Command(append(asUser, args...)[0], append(asUser, args...)[1:]...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("%s: %w\n%s", strings.Join(args, " "), err, out)
		}
		return nil
	}
	data := filepath.Join(dir, "data")
	if err := run(initdb, "-D", data, "-U", "swarmbox", "--auth=trust", "-E", "UTF8", "--no-sync", "--no-instructions"); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200", port, dir)
	if err := run(pgctl, "start", "-w", "-t", "60", "-D", data, "-l", filepath.Join(dir, "log"), "-o", opts); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "log"))
		t.Fatalf("%v\nserver log:\n%s", err, log)
	}
	t.Cleanup(func() {
		if err := run(pgctl, "stop", "-m", "immediate", "-w", "-D", data); err != nil {
			t.Logf("stopping PostgreSQL: %v", err)
		}
	})
	return &PostgresCluster{port: port}
}

// Database creates a new, empty database in the cluster and returns its URL.
func (c *PostgresCluster) Database(t testing.TB) string {
	t.Helper()
	admin := fmt.Sprintf("postgres://swarmbox@127.0.0.1:%d/postgres?sslmode=disable", c.port)
	db, err := sql.Open("pgx", admin)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	name := fmt.Sprintf("t%d_%d", time.Now().UnixNano()%1e9, c.n.Add(1))
	if _, err := db.ExecContext(context.Background(), "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create database: %v", err)
	}
	return fmt.Sprintf("postgres://swarmbox@127.0.0.1:%d/%s?sslmode=disable", c.port, name)
}
