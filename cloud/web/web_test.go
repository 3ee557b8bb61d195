package web

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"swarmbox/cloud/store"
	"swarmbox/media"
	"swarmbox/sync/protocol"
)

type site struct {
	srv   *httptest.Server
	st    *store.Store
	items []store.Item
	box   media.BoxID // household's box
	other media.BoxID // neighbour's box
	fails int
	clock *testClock // the server's clock: stands still unless a test moves it
}

func newSite(t testing.TB) *site {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "headend.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	s := &site{st: st, clock: &testClock{t: time.Now()}}
	for i, k := range []string{protocol.KindVideo, protocol.KindAudio, protocol.KindVideo} {
		id, _ := media.NewItemID()
		it := store.Item{CatalogItem: protocol.CatalogItem{ID: id, Title: []string{"Night Train", "Sea Songs", "Night Owls"}[i], Kind: k,
			Category:   []string{"films/drama", "music/jazz", ""}[i],
			PriceCents: 300, Size: 1 << 20, SealedSize: 1 << 20, InfoHash: fmt.Sprintf("%x00000000", id[:]), Pieces: 4, Added: time.Now()}, Torrent: []byte("x")}
		if err := st.AddItem(ctx, it, []byte("k")); err != nil {
			t.Fatal(err)
		}
		s.items = append(s.items, it)
	}
	for i, acct := range []string{"household", "neighbour"} {
		if err := st.CreateAccount(ctx, acct, "eu", 1000, time.Now()); err != nil {
			t.Fatal(err)
		}
		h, err := HashPassword("correct horse " + acct)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.SetPassword(ctx, acct, h); err != nil {
			t.Fatal(err)
		}
		key := bytes.Repeat([]byte{byte(i + 1)}, 32)
		id := media.BoxIDFromKey(key)
		if _, err := st.RegisterBox(ctx, store.Box{ID: id, Account: acct, SignKey: key, KEMKey: key, Registered: time.Now()}); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			s.box = id
		} else {
			s.other = id
		}
	}
	w, err := New(Config{Store: st, OnSignInFailure: func() { s.fails++ }, Now: s.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	s.srv = httptest.NewServer(w.Handler())
	t.Cleanup(s.srv.Close)
	return s
}

type browser struct {
	t    testing.TB
	c    *http.Client
	base string
	last string // body of the last page
}

func (s *site) browser(t testing.TB) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: s.srv.URL, c: &http.Client{Jar: jar}}
}

func (b *browser) get(path string) int {
	b.t.Helper()
	resp, err := b.c.Get(b.base + path)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	b.last = string(body)
	return resp.StatusCode
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (b *browser) csrf() string {
	m := csrfRE.FindStringSubmatch(b.last)
	if m == nil {
		b.t.Fatalf("no CSRF token on the page:\n%s", b.last)
	}
	return m[1]
}

func (b *browser) post(path string, form url.Values) int {
	b.t.Helper()
	resp, err := b.c.PostForm(b.base+path, form)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	b.last = string(body)
	return resp.StatusCode
}

func (b *browser) signIn(account, password string) int {
	b.t.Helper()
	b.get("/signin")
	return b.post("/signin", url.Values{"csrf": {b.csrf()}, "account": {account}, "password": {password}})
}

func TestSearchByTitleKindAndCategory(t *testing.T) {
	s := newSite(t)
	b := s.browser(t)
	for _, c := range []struct {
		query      string
		want, miss []string
		status     int
	}{
		{"", []string{"Night Train", "Sea Songs", "Night Owls"}, nil, 200},
		{"?q=night", []string{"Night Train", "Night Owls"}, []string{"Sea Songs"}, 200},
		{"?kind=audio", []string{"Sea Songs"}, []string{"Night Train"}, 200},
		{"?q=owl&kind=video", []string{"Night Owls"}, []string{"Night Train", "Sea Songs"}, 200},
		{"?kind=smell", nil, nil, 400},
		{"?category=films", []string{"Night Train"}, []string{"Sea Songs", "Night Owls"}, 200},
		{"?category=Films%2FDrama", []string{"Night Train", `<option value="films/drama" selected>`}, []string{"Sea Songs", "Night Owls"}, 200},
		{"?category=uncategorised", []string{"Night Owls"}, []string{"Night Train", "Sea Songs"}, 200},
		{"?category=music&kind=video", nil, []string{"Night Train", "Sea Songs", "Night Owls"}, 200},
		{"?category=kids", nil, []string{"Night Train", "Sea Songs", "Night Owls"}, 200},
		{"?category=films%2F%2Fdrama", nil, nil, 400},
		{"?category=a%2Fb%2Fc", nil, nil, 400},
	} {
		if code := b.get("/" + c.query); code != c.status {
			t.Fatalf("%s: status %d", c.query, code)
		}
		for _, w := range c.want {
			if !strings.Contains(b.last, w) {
				t.Errorf("%s: %q missing", c.query, w)
			}
		}
		for _, m := range c.miss {
			if strings.Contains(b.last, ">"+m+"<") {
				t.Errorf("%s: %q shown", c.query, m)
			}
		}
	}
	b.get("/")
	for _, opt := range []string{"films", "films/drama", "music", "music/jazz", "uncategorised"} {
		if !strings.Contains(b.last, `<option value="`+opt+`"`) {
			t.Errorf("no category %q to choose", opt)
		}
	}
	if code := b.get("/items/" + s.items[1].ID.String()); code != 200 || !strings.Contains(b.last, "Sea Songs") || !strings.Contains(b.last, "<dd>music/jazz</dd>") {
		t.Fatalf("item page %d", code)
	}
	if code := b.get("/items/nothex"); code != 400 {
		t.Fatalf("bad item id %d", code)
	}
	if code := b.get("/items/" + media.ItemID{1}.String()); code != 404 {
		t.Fatalf("unknown item %d", code)
	}
}

// TestEveryControlHasALabel: each input and select a page shows (other than hidden ones) has a
// <label for=…>, and each button has text.
func TestEveryControlHasALabel(t *testing.T) {
	s := newSite(t)
	b := s.browser(t)
	b.signIn("household", "correct horse household")
	for _, page := range []string{"/", "/items/" + s.items[0].ID.String(), "/account", "/boxes/" + s.box.String()} {
		if b.get(page) != 200 {
			t.Fatalf("%s: %s", page, b.last)
		}
		for _, bad := range unlabelled(b.last) {
			t.Errorf("%s: %s", page, bad)
		}
	}
}

// unlabelled lists what a page shows without a label: each input and select (other than
// hidden ones) needs a <label for=…>, and each button text.
func unlabelled(page string) []string {
	var out []string
	for _, m := range regexp.MustCompile(`<(?:input|select)([^>]*)>`).FindAllStringSubmatch(page, -1) {
		if strings.Contains(m[1], `type="hidden"`) {
			continue
		}
		id := regexp.MustCompile(`id="([^"]+)"`).FindStringSubmatch(m[1])
		if id == nil || !strings.Contains(page, `<label for="`+id[1]+`"`) {
			out = append(out, "control without a label: "+m[0])
		}
	}
	if strings.Contains(page, "<button type=\"submit\"></button>") {
		out = append(out, "a button without text")
	}
	return out
}

func TestSignInRefusals(t *testing.T) {
	s := newSite(t)
	b := s.browser(t)
	if code := b.signIn("household", "wrong password!"); code != http.StatusUnauthorized || !strings.Contains(b.last, "Wrong account or password") {
		t.Fatalf("wrong password: %d", code)
	}
	if code := b.signIn("nobody", "whatever123"); code != http.StatusUnauthorized {
		t.Fatalf("unknown account: %d", code)
	}
	// No CSRF token at all, and a token that is not the cookie's.
	if code := b.post("/signin", url.Values{"account": {"household"}, "password": {"correct horse household"}}); code != http.StatusForbidden {
		t.Fatalf("sign-in without CSRF token: %d", code)
	}
	b.get("/signin")
	if code := b.post("/signin", url.Values{"csrf": {"forged"}, "account": {"household"}, "password": {"correct horse household"}}); code != http.StatusForbidden {
		t.Fatalf("sign-in with a forged CSRF token: %d", code)
	}
	if code := b.get("/account"); code != 200 || !strings.Contains(b.last, "Sign in") {
		t.Fatalf("account page without sign-in is not the sign-in form: %d", code)
	}
	if s.fails != 4 {
		t.Fatalf("failure counter %d, want 4", s.fails)
	}
}

// TestSignInRateLimit: after five wrong passwords for one account from one address, the next
// attempt from there waits (429 with Retry-After) and is not checked, even with the right
// password; once the wait is over the right password gets in. Another account from the same
// address is not delayed.
func TestSignInRateLimit(t *testing.T) {
	s := newSite(t)
	b := s.browser(t)
	for i := range 5 {
		if code := b.signIn("household", fmt.Sprintf("guess %d!!", i)); code != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d", i, code)
		}
	}
	if code := b.signIn("household", "correct horse household"); code != http.StatusTooManyRequests {
		t.Fatalf("right after 5 failures: %d, want 429", code)
	}
	if code := b.signIn("neighbour", "correct horse neighbour"); code != http.StatusOK {
		t.Fatalf("other account: %d", code)
	}
	s.clock.Add(time.Second)
	if code := b.signIn("household", "correct horse household"); code != http.StatusOK {
		t.Fatalf("after the wait: %d", code)
	}
}

func TestWishlistEditsOnlyOwnBoxes(t *testing.T) {
	s := newSite(t)
	ctx := context.Background()
	b := s.browser(t)
	if code := b.signIn("household", "correct horse household"); code != 200 || !strings.Contains(b.last, "Account household") {
		t.Fatalf("sign in: %d %s", code, b.last)
	}
	csrf := b.csrf()
	edit := func(box media.BoxID, action string, item media.ItemID, token string) int {
		return b.post("/boxes/wishlist", url.Values{"csrf": {token}, "box": {box.String()}, "item": {item.String()}, "action": {action}})
	}
	a, c := s.items[0].ID, s.items[2].ID
	for _, step := range []struct {
		action string
		item   media.ItemID
		want   []media.ItemID
	}{
		{"add", a, []media.ItemID{a}}, {"add", c, []media.ItemID{a, c}}, {"add", c, []media.ItemID{a, c}},
		{"up", c, []media.ItemID{c, a}}, {"up", c, []media.ItemID{c, a}}, {"down", c, []media.ItemID{a, c}},
		{"remove", a, []media.ItemID{c}},
	} {
		if code := edit(s.box, step.action, step.item, csrf); code != 200 {
			t.Fatalf("%s: %d %s", step.action, code, b.last)
		}
		boxes, _ := s.st.AccountBoxes(ctx, "household")
		if !slices.Equal(boxes[0].Wishlist, step.want) {
			t.Fatalf("after %s: %v, want %v", step.action, boxes[0].Wishlist, step.want)
		}
	}
	if !strings.Contains(b.last, "Night Owls") || !strings.Contains(b.last, "next sync") {
		t.Fatalf("box page after edit:\n%s", b.last)
	}
	for _, c := range []struct {
		name   string
		status int
		do     func() int
	}{
		{"CSRF missing", 403, func() int { return edit(s.box, "add", a, "") }},
		{"CSRF wrong", 403, func() int { return edit(s.box, "add", a, "x"+csrf) }},
		{"another customer's box (post)", 404, func() int { return edit(s.other, "add", a, csrf) }},
		{"another customer's box (page)", 404, func() int { return b.get("/boxes/" + s.other.String()) }},
		{"unknown action", 400, func() int { return edit(s.box, "shuffle", a, csrf) }},
		{"unknown item", 404, func() int { return edit(s.box, "add", media.ItemID{1}, csrf) }},
	} {
		if code := c.do(); code != c.status {
			t.Errorf("%s: %d, want %d", c.name, code, c.status)
		}
	}
	if boxes, _ := s.st.AccountBoxes(ctx, "neighbour"); len(boxes[0].Wishlist) != 0 {
		t.Fatalf("the neighbour's box changed: %v", boxes[0].Wishlist)
	}
	if boxes, _ := s.st.AccountBoxes(ctx, "household"); !slices.Equal(boxes[0].Wishlist, []media.ItemID{c}) {
		t.Fatalf("a refused edit changed the list: %v", boxes[0].Wishlist)
	}
	// Signing out ends the session for good.
	b.get("/account")
	if code := b.post("/signout", url.Values{"csrf": {b.csrf()}}); code != 200 {
		t.Fatalf("sign out %d", code)
	}
	if code := edit(s.box, "add", a, csrf); code != 200 || !strings.Contains(b.last, "<h1>Sign in</h1>") {
		t.Fatalf("edit after sign-out: %d", code)
	}
}

func TestPasswordHash(t *testing.T) {
	h, err := HashPassword("long enough")
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := CheckPassword(h, "long enough"); !ok || err != nil {
		t.Fatalf("right password: %v %v", ok, err)
	}
	if ok, _ := CheckPassword(h, "long enougH"); ok {
		t.Fatal("wrong password accepted")
	}
	if _, err := HashPassword("short"); err == nil {
		t.Fatal("short password hashed")
	}
	for _, bad := range []string{"", "$argon2i$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", "$argon2id$v=19$m=99999999,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=8,t=1,p=1$!!$aGFzaGhhc2hoYXNoaGFzaA", "$argon2id$v=19$m=8,t=1,p=1,x=2$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"} {
		if _, err := CheckPassword(bad, "x"); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func FuzzParsePHC(f *testing.F) {
	h, _ := HashPassword("fuzzing seed")
	f.Add(h)
	f.Add("$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA")
	f.Fuzz(func(t *testing.T, s string) {
		p, err := parsePHC(s)
		if err != nil {
			return
		}
		if p.memory > 1<<20 || p.time > 10 || p.threads == 0 || len(p.salt) < 8 || len(p.key) < 16 {
			t.Fatalf("accepted out-of-range parameters: %+v", p)
		}
	})
}

func TestCookiesAreHardened(t *testing.T) {
	for _, secure := range []bool{false, true} {
		st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "db"))
		if err != nil {
			t.Fatal(err)
		}
		w, err := New(Config{Store: st, Secure: secure})
		if err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		w.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/signin", nil))
		c := rec.Header().Get("Set-Cookie")
		if !strings.Contains(c, "HttpOnly") || !strings.Contains(c, "SameSite=Lax") || strings.Contains(c, "Secure") != secure {
			t.Errorf("secure=%v: Set-Cookie %q", secure, c)
		}
		if csp := rec.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
			t.Errorf("CSP %q", csp)
		}
		st.Close()
	}
}

func TestAccountShowsRentalsAndHistory(t *testing.T) {
	s := newSite(t)
	now := time.Now()
	for i, kind := range []media.LicenseKind{media.Rental, media.Owned} {
		ledger := store.LedgerPurchase
		if kind == media.Rental {
			ledger = store.LedgerRental
		}
		err := s.st.Sale(context.Background(), func(tx *store.SaleTx) error {
			return tx.Record(context.Background(), store.Sale{Box: s.box, Account: "household", Item: s.items[i].ID, Kind: kind, RequestID: string(kind),
				Charged: 100, Ledger: ledger, License: store.IssuedLicense{ID: "lic-" + string(kind), Expires: now.Add(48 * time.Hour), Envelope: []byte("e")},
				Reason: "purchase", Now: now})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	b := s.browser(t)
	b.signIn("household", "correct horse household")
	if code := b.get("/account"); code != 200 {
		t.Fatal(code)
	}
	rentals := b.last[strings.Index(b.last, "Active rentals"):strings.Index(b.last, "Purchase history")]
	history := b.last[strings.Index(b.last, "Purchase history"):strings.Index(b.last, "<h2>Ledger")]
	expiry := now.Add(48 * time.Hour).UTC().Format("2006-01-02 15:04 UTC")
	if !strings.Contains(rentals, "Night Train") || strings.Contains(rentals, "Sea Songs") || !strings.Contains(rentals, expiry) {
		t.Errorf("active rentals:\n%s", rentals)
	}
	if !strings.Contains(history, "Night Train") || !strings.Contains(history, "Sea Songs") || !strings.Contains(history, "owned") {
		t.Errorf("purchase history:\n%s", history)
	}
	if !strings.Contains(b.last, "8.00") { // 10.00 − two charges of 1.00
		t.Errorf("balance not shown as 8.00")
	}
}
