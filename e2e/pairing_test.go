package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// enroll makes a one-time enrollment token for account, as the factory's operator does: a box
// started with -enroll TOKEN is paired to the account as it registers.
func (c *cloud) enroll(t *testing.T, account string) string {
	t.Helper()
	return strings.TrimSpace(c.cmd(t, "account", "enroll", account))
}

// boxPairing is the pairing part of `swarmboxd status -json`.
type boxPairing struct {
	Paired bool   `json:"paired"`
	Code   string `json:"code"`
	URL    string `json:"url"`
}

func (b *box) pairing(t *testing.T) boxPairing {
	t.Helper()
	var s struct {
		Account string     `json:"account"`
		Pairing boxPairing `json:"pairing"`
	}
	out := b.cmd(t, "status", "-json")
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("status output %q: %v", out, err)
	}
	return s.Pairing
}

// browser is a household's browser on the catalog: cookies kept, forms posted with their CSRF
// token, as a person's browser does.
type browser struct {
	t    *testing.T
	base string
	c    *http.Client
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func signIn(t *testing.T, base, account, password string) *browser {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	b := &browser{t: t, base: base, c: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
	_, page := b.get("/signin")
	status, page := b.post("/signin", page, url.Values{"account": {account}, "password": {password}})
	if status != http.StatusOK || !strings.Contains(page, "Account "+account) {
		t.Fatalf("sign-in as %s: %d\n%s", account, status, page)
	}
	return b
}

func (b *browser) get(path string) (int, string) {
	b.t.Helper()
	resp, err := b.c.Get(b.base + path)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// post submits a form of page (which carries the CSRF token) and returns the answer page.
func (b *browser) post(path, page string, form url.Values) (int, string) {
	b.t.Helper()
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		b.t.Fatalf("no CSRF token on the page before POST %s:\n%s", path, page)
	}
	form.Set("csrf", m[1])
	resp, err := b.c.PostForm(b.base+path, form)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// TestPairingRequiresCode: a box started without an enrollment token registers with no
// household and shows a code (swarmboxd status); it cannot buy, and says how to pair. The
// household signs in on the browser catalog: a wrong code is refused, the right one pairs the
// box, which learns it without a restart and then buys (charged to that household). Unpairing
// on the account page stops its purchases again, and the account page lists both events.
func TestPairingRequiresCode(t *testing.T) {
	c := startCloud(t)
	src := filepath.Join(t.TempDir(), "film.bin")
	if err := os.WriteFile(src, []byte(strings.Repeat("pair me ", 20000)), 0o600); err != nil {
		t.Fatal(err)
	}
	film, _ := c.ingest(t, src, "Pairing Film", "video", "-price", "400")
	c.cmd(t, "account", "create", "-region", "eu-west", "-credit", "2000", "household-p")
	setPassword(t, c, "household-p", "correct horse battery")

	b := &box{n: 1, dir: filepath.Join(t.TempDir(), "box1")}
	b.args = []string{"run", "-dir", b.dir, "-headend", c.url, "-listen", "127.0.0.2:0"}
	b.start(t)
	var p boxPairing
	waitFor(t, "the box to show a pairing code", 30*time.Second, func() bool { p = b.pairing(t); return p.Code != "" })
	if p.Paired || !regexp.MustCompile(`^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$`).MatchString(p.Code) || p.URL != c.url+"/pair" {
		t.Fatalf("unpaired box's pairing %+v, want a code XXXX-XXXX to enter at %s/pair", p, c.url)
	}
	if out := b.cmd(t, "status"); !strings.Contains(out, "sign in at "+c.url+"/pair and enter "+p.Code) {
		t.Errorf("status does not tell how to pair:\n%s", out)
	}
	if _, stderr, rc := b.try(t, "buy", film); rc == 0 || !strings.Contains(stderr, "not paired") || !strings.Contains(stderr, p.Code) {
		t.Fatalf("unpaired box bought (rc %d): %s", rc, stderr)
	}

	br := signIn(t, c.url, "household-p", "correct horse battery")
	_, page := br.get("/account")
	wrong := "BBBB-BBBB"
	if p.Code == wrong {
		wrong = "CCCC-CCCC"
	}
	if status, answer := br.post("/pair", page, url.Values{"code": {wrong}}); status != http.StatusBadRequest || !strings.Contains(answer, "No box shows that code") {
		t.Fatalf("wrong code: %d\n%s", status, answer)
	}
	if _, stderr, rc := b.try(t, "buy", film); rc == 0 || !strings.Contains(stderr, "not paired") {
		t.Fatalf("a wrong code let the box buy (rc %d): %s", rc, stderr)
	}
	status, page := br.post("/pair", page, url.Values{"code": {strings.ToLower(strings.ReplaceAll(p.Code, "-", ""))}})
	if status != http.StatusOK || !strings.Contains(page, "is paired to your account") {
		t.Fatalf("right code (typed in lower case without the dash): %d\n%s", status, page)
	}
	waitFor(t, "the box to learn it is paired", 30*time.Second, func() bool { return b.pairing(t).Paired })
	if out := b.cmd(t, "buy", film); !strings.Contains(out, "bought "+film) {
		t.Fatalf("paired box's purchase: %s", out)
	}
	if out := c.cmd(t, "account", "show", "household-p"); !strings.Contains(out, "balance=1600 cents") {
		t.Errorf("household-p after the purchase (400 cents from 2000):\n%s", out)
	}

	id := b.status(t).Box
	status, page = br.post("/boxes/unpair", page, url.Values{"box": {id}})
	if status != http.StatusOK || !strings.Contains(page, "is unpaired") {
		t.Fatalf("unpair: %d\n%s", status, page)
	}
	if _, stderr, rc := b.try(t, "buy", film, "-rent"); rc == 0 || !strings.Contains(stderr, "not paired") {
		t.Fatalf("unpaired box rented (rc %d): %s", rc, stderr)
	}
	waitFor(t, "the box to learn it was unpaired and show a new code", 30*time.Second, func() bool {
		np := b.pairing(t)
		return !np.Paired && np.Code != ""
	})
	_, page = br.get("/account")
	for _, want := range []string{"Pairing history", "unpaired by the browser", "code entered by the browser", "refused", id[:8]} {
		if !strings.Contains(page, want) {
			t.Errorf("account page lacks %q", want)
		}
	}
	audit := c.cmd(t, "audit", "-json")
	for _, kind := range []string{`"kind":"pair"`, `"kind":"unpair"`} {
		if !strings.Contains(audit, kind) {
			t.Errorf("audit log lacks %s:\n%s", kind, audit)
		}
	}
}
