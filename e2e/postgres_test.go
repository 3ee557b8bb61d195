package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"swarmbox/internal/testenv"
)

// TestPostgresHeadendServesBoxes: the real head-end process on a real PostgreSQL server; one box
// fetches a title from the web seed, a second from the first, buys it and plays it; the operator
// suspends the account and the next buy is refused and audited.
func TestPostgresHeadendServesBoxes(t *testing.T) {
	pg := testenv.Postgres(t)
	t.Setenv("SWARMBOX_DATABASE", pg.Database(t)) // every swarmbox-cloud command of this test
	c := startCloud(t)
	if !c.proc.logHas("head-end serving", "store=postgres") {
		t.Fatalf("head-end is not on PostgreSQL:\n%s", c.proc.Log())
	}
	src := filepath.Join(t.TempDir(), "doc.bin")
	if err := os.WriteFile(src, []byte(strings.Repeat("swarmbox on postgres ", 40000)), 0o600); err != nil {
		t.Fatal(err)
	}
	x, _ := c.ingest(t, src, "Postgres Paper", "file")
	b1, b2 := startBox(t, c, 1), startBox(t, c, 2)
	b1.cmd(t, "wish", x)
	b1.waitComplete(t, x)
	b2.cmd(t, "wish", x)
	b2.waitComplete(t, x)
	if _, _, _, fromPeers := b2.item(t, x); fromPeers == 0 {
		t.Error("box 2 got nothing from box 1")
	}
	// Rotate the master key under the running head-end: no media changes, and the next license
	// still carries the right content key (the play below decrypts with it).
	if out := c.cmd(t, "keys", "rotate"); !strings.Contains(out, "1 content keys re-wrapped") {
		t.Fatalf("keys rotate: %s", out)
	}
	b2.cmd(t, "buy", "-rent", x)
	out := filepath.Join(t.TempDir(), "played")
	b2.cmd(t, "play", x, "--out", out)
	if !sameFile(t, src, out) {
		t.Fatal("played output differs from the ingested file")
	}
	if show := c.cmd(t, "account", "show", "household-2"); !strings.Contains(show, "rental") || !strings.Contains(show, "balance=1867 cents") {
		t.Fatalf("ledger after a rental of 399/3:\n%s", show)
	}
	c.cmd(t, "account", "suspend", "household-1")
	if _, errs, code := b1.try(t, "buy", x); code == 0 || !strings.Contains(errs, "suspended") {
		t.Fatalf("buy on a suspended account: exit %d, %s", code, errs)
	}
	audit := c.cmd(t, "audit")
	if !strings.Contains(audit, "issued") || !strings.Contains(audit, "account_inactive") {
		t.Fatalf("audit log:\n%s", audit)
	}
}
