package web

import (
	"bytes"
	"crypto/ed25519"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"swarmbox/cloud/fleet"
	"swarmbox/cloud/keyvault"
)

// opSite is the site of newSite with the operator's page set up: one operator, "ops".
func opSite(t *testing.T) (*site, string) {
	t.Helper()
	s := newSite(t)
	path := filepath.Join(t.TempDir(), "operators")
	h, err := HashPassword("operator password")
	if err != nil {
		t.Fatal(err)
	}
	if err := SetOperator(path, "ops", h); err != nil {
		t.Fatal(err)
	}
	ops, err := OpenOperators(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	vault, err := keyvault.New(bytes.Repeat([]byte{7}, 32), ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, 32)))
	if err != nil {
		t.Fatal(err)
	}
	w, err := New(Config{Store: s.st, OnSignInFailure: func() { s.fails++ }, Now: s.clock.Now,
		Operators: ops, Tokens: vault, Fleet: &fleet.Source{Store: s.st, Now: s.clock.Now}})
	if err != nil {
		t.Fatal(err)
	}
	s.srv.Config.Handler = w.Handler()
	return s, path
}

func (b *browser) operatorSignIn(name, password string) int {
	b.t.Helper()
	b.get("/operator/signin")
	return b.post("/operator/signin", url.Values{"csrf": {b.csrf()}, "name": {name}, "password": {password}})
}

// TestOperatorPageAccess: nobody signed in is sent to the operator's sign-in; a household is
// refused with a page that says why; an operator sees the figures until signing out, or until
// their name leaves the file.
func TestOperatorPageAccess(t *testing.T) {
	s, path := opSite(t)
	anon := s.browser(t)
	anon.c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if code := anon.get("/operator"); code != 303 {
		t.Fatalf("anonymous: status %d, want 303 to the sign-in", code)
	}
	household := s.browser(t)
	household.signIn("household", "correct horse household")
	if code := household.get("/operator"); code != 403 || !strings.Contains(household.last, "signed in as household household") ||
		!strings.Contains(household.last, "/operator/signin") {
		t.Fatalf("household: status %d\n%s", code, household.last)
	}
	if code := household.operatorSignIn("household", "correct horse household"); code != 401 {
		t.Fatalf("a household's password opens the operator's page: %d", code)
	}
	op := s.browser(t)
	if code := op.operatorSignIn("ops", "wrong password"); code != 401 || !strings.Contains(op.last, "Wrong operator name or password") {
		t.Fatalf("wrong password: %d", code)
	}
	if code := op.operatorSignIn("ops", "operator password"); code != 200 || !strings.Contains(op.last, "Live view") {
		t.Fatalf("operator sign-in: %d\n%s", code, op.last)
	}
	// The store's two boxes, in region eu, never synced: offline.
	row := regexp.MustCompile(`(?s)<tr data-region="eu">.*?</tr>`).FindString(op.last)
	if !strings.Contains(row, `<td class="num online">0</td>`) || !strings.Contains(row, `<td class="num offline">2</td>`) ||
		!strings.Contains(row, `<td class="num deadlines">—</td>`) || !strings.Contains(op.last, `<meta http-equiv="refresh" content="10">`) {
		t.Fatalf("eu row %q", row)
	}
	for _, page := range []string{"/operator", "/operator/signin"} {
		op.get(page)
		for _, bad := range unlabelled(op.last) {
			t.Errorf("%s: %s", page, bad)
		}
	}
	if op.get("/account") != 200 || strings.Contains(op.last, "My account") && strings.Contains(op.last, "Account ops") {
		t.Fatal("an operator's session opened a household's account page")
	}
	// Removing the name ends the session at the next request.
	if err := SetOperator(path, "ops", ""); err != nil {
		t.Fatal(err)
	}
	touch(t, path)
	op.c.CheckRedirect = anon.c.CheckRedirect
	if code := op.get("/operator"); code != 303 {
		t.Fatalf("removed operator: status %d", code)
	}
}

// touch moves a file's time forward, so that a rewrite within the file system's time
// granularity is noticed.
func touch(t *testing.T, path string) {
	t.Helper()
	later := time.Now().Add(time.Minute)
	if err := os.Chtimes(path, later, later); err != nil {
		t.Fatal(err)
	}
}

func TestOperatorSignOut(t *testing.T) {
	s, _ := opSite(t)
	op := s.browser(t)
	op.operatorSignIn("ops", "operator password")
	if code := op.post("/operator/signout", url.Values{"csrf": {"forged"}}); code != 403 {
		t.Fatalf("sign-out with a forged CSRF token: %d", code)
	}
	op.get("/operator")
	if code := op.post("/operator/signout", url.Values{"csrf": {op.csrf()}}); code != 200 || !strings.Contains(op.last, "Operator sign-in") {
		t.Fatalf("sign-out: %d", code)
	}
	op.c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if code := op.get("/operator"); code != 303 {
		t.Fatalf("after sign-out: %d", code)
	}
}

// TestOperatorQuery: each malformed parameter is refused with a message naming it and what the
// page takes.
func TestOperatorQuery(t *testing.T) {
	s, _ := opSite(t)
	op := s.browser(t)
	op.operatorSignIn("ops", "operator password")
	for _, c := range []struct {
		query  string
		status int
		says   string
	}{
		{"", 200, "reloads every 10 s"},
		{"?refresh=60&top=3", 200, "reloads every 60 s"},
		{"?region=eu", 200, "Live view: eu"},
		{"?region=mars", 404, "No region &#34;mars&#34; has boxes; the regions are: eu."},
		{"?region=", 400, "give a region"},
		{"?refresh=1", 400, "whole seconds from 2 to 3600"},
		{"?refresh=abc", 400, "refresh &#34;abc&#34;"},
		{"?refresh=99999999999999999999", 400, "whole seconds"},
		{"?top=0", 400, "from 1 to 20"},
		{"?top=2.5", 400, "from 1 to 20"},
		{"?top=1&top=2", 400, "give &#34;top&#34; once, not 2 times"},
		{"?colour=red", 400, "unknown parameter &#34;colour&#34;: the page takes region, refresh and top"},
		{"?%zz", 400, "is not well-formed"},
	} {
		code := op.get("/operator" + c.query)
		if code != c.status || !strings.Contains(op.last, c.says) {
			t.Errorf("%s: status %d, want %d saying %q\n%s", c.query, code, c.status, c.says, op.last)
		}
	}
}

func TestParseOperators(t *testing.T) {
	h, _ := HashPassword("long enough")
	for _, c := range []struct {
		name, file, err string
		n               int
	}{
		{"empty", "", "", 0},
		{"comments", "# staff\n\nops " + h + " # night shift\n", "", 1},
		{"two", "a " + h + "\nb " + h + "\n", "", 2},
		{"one field", "ops\n", "1: want NAME HASH", 0},
		{"three fields", "ops " + h + " x\n", "1: want NAME HASH", 0},
		{"bad name", "\nOps " + h + "\n", "2: operator name", 0},
		{"bad hash", "ops plaintext\n", "1: the hash of \"ops\" is not an argon2id hash", 0},
		{"twice", "a " + h + "\na " + h + "\n", "2: \"a\" is named twice", 0},
		{"long line", strings.Repeat("x", 5000), "lines are at most 4096 bytes", 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseOperators(strings.NewReader(c.file))
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v, want one saying %q", err, c.err)
				}
				return
			}
			if err != nil || len(got) != c.n {
				t.Fatalf("%d names, %v; want %d", len(got), err, c.n)
			}
		})
	}
}

func FuzzParseOperators(f *testing.F) {
	h, _ := HashPassword("long enough")
	for _, s := range []string{"", "ops " + h + "\n", "# x\nops\n", "a b c", "Ops " + h} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		names, err := ParseOperators(strings.NewReader(s))
		if err != nil {
			return
		}
		for n, hash := range names {
			if CheckOperatorName(n) != nil {
				t.Fatalf("accepted name %q", n)
			}
			if _, err := parsePHC(hash); err != nil {
				t.Fatalf("accepted hash %q", hash)
			}
		}
	})
}

// TestSetOperator: adding, replacing and removing keep the other lines and comments; a file
// that does not parse is left alone.
func TestSetOperator(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "operators")
	h1, _ := HashPassword("first password")
	h2, _ := HashPassword("second password")
	os.WriteFile(path, []byte("# the staff\nann "+h1), 0o600)
	for _, step := range []struct {
		name, hash string
		want       string
	}{
		{"bob", h1, "# the staff\nann " + h1 + "\nbob " + h1 + "\n"},
		{"ann", h2, "# the staff\nann " + h2 + "\nbob " + h1 + "\n"},
		{"bob", "", "# the staff\nann " + h2 + "\n"},
	} {
		if err := SetOperator(path, step.name, step.hash); err != nil {
			t.Fatal(err)
		}
		if b, _ := os.ReadFile(path); string(b) != step.want {
			t.Fatalf("after %s: %q, want %q", step.name, b, step.want)
		}
	}
	if err := SetOperator(path, "carl", ""); err == nil || !strings.Contains(err.Error(), "no operator \"carl\"") {
		t.Fatalf("removing a name not there: %v", err)
	}
	if err := SetOperator(path, "Bad Name", h1); err == nil {
		t.Fatal("a bad name was written")
	}
	os.WriteFile(path, []byte("broken\n"), 0o600)
	if err := SetOperator(path, "ann", h1); err == nil || !strings.Contains(err.Error(), "fix the file first") {
		t.Fatalf("a broken file: %v", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "broken\n" {
		t.Fatalf("a broken file was changed: %q", b)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Fatalf("left files behind: %v", entries)
	}
}

func FuzzOperatorQuery(f *testing.F) {
	for _, s := range []string{"", "region=eu&refresh=5&top=3", "top=1&top=2", "%zz", "refresh=-1", "x=y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := parseOperatorQuery(raw)
		if err != nil {
			return
		}
		if q.Refresh < minRefresh || q.Refresh > maxRefresh || q.Top < 1 || q.Top > maxTop || strings.ContainsAny(q.Region, ", \n") {
			t.Fatalf("%q accepted as %+v", raw, q)
		}
	})
}
