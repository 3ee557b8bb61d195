package web

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"swarmbox/media"
)

// FuzzWishlistForm posts arbitrary wishlist forms as a signed-in customer: every answer is the
// saved page or a clear 4xx, never a 500, and the box's wishlist only ever holds catalog titles,
// each once; the neighbour's box never changes.
func FuzzWishlistForm(f *testing.F) {
	s := newSite(f)
	b := s.browser(f)
	if code := b.signIn("household", "correct horse household"); code != http.StatusOK {
		f.Fatalf("sign in: %d", code)
	}
	csrf := b.csrf()
	catalog := map[media.ItemID]bool{}
	for _, it := range s.items {
		catalog[it.ID] = true
	}
	for _, seed := range [][3]string{
		{"add", s.items[0].ID.String(), s.box.String()},
		{"remove", s.items[0].ID.String(), s.box.String()},
		{"up", s.items[1].ID.String(), s.box.String()},
		{"down", "", s.box.String()},
		{"add", s.items[0].ID.String(), s.other.String()},
		{"shuffle", "zz", "not a box"},
		{"add", "00000000000000000000000000000000", s.box.String()},
	} {
		f.Add(seed[0], seed[1], seed[2])
	}
	f.Fuzz(func(t *testing.T, action, item, box string) {
		resp, err := b.c.PostForm(b.base+"/boxes/wishlist", url.Values{"csrf": {csrf}, "box": {box}, "item": {item}, "action": {action}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		switch resp.StatusCode {
		case http.StatusOK, http.StatusBadRequest, http.StatusNotFound:
		default:
			t.Fatalf("action %q item %q box %q: %d", action, item, box, resp.StatusCode)
		}
		boxes, err := s.st.AccountBoxes(context.Background(), "household")
		if err != nil {
			t.Fatal(err)
		}
		list := boxes[0].Wishlist
		for i, id := range list {
			if !catalog[id] || slices.Index(list, id) != i {
				t.Fatalf("wishlist %v: %s is not a catalog title or is there twice", list, id)
			}
		}
		if other, _ := s.st.AccountBoxes(context.Background(), "neighbour"); len(other[0].Wishlist) != 0 {
			t.Fatalf("the neighbour's box changed: %v", other[0].Wishlist)
		}
	})
}

// FuzzSignInForm posts arbitrary sign-in forms: the answer is a sign-in (only with the right
// password), a refusal or a delay, never a 500.
func FuzzSignInForm(f *testing.F) {
	s := newSite(f)
	for _, seed := range [][2]string{{"household", "correct horse household"}, {"household", "wrong"}, {"", ""},
		{"nobody", "\x00\xff"}, {" household ", "correct horse household"}} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, account, password string) {
		b := s.browser(t)
		code := b.signIn(account, password)
		switch code {
		case http.StatusOK:
			if password != "correct horse household" && password != "correct horse neighbour" {
				t.Fatalf("account %q signed in with password %q", account, password)
			}
		case http.StatusUnauthorized, http.StatusTooManyRequests, http.StatusBadRequest:
		default:
			t.Fatalf("account %q password %q: %d", account, password, code)
		}
		s.clock.Add(time.Hour) // no delay carries over between inputs
	})
}
