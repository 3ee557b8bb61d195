package web

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestSignInLimitAcrossInstances: failures counted by one head-end instance delay the account
// on another instance on the same store.
func TestSignInLimitAcrossInstances(t *testing.T) {
	s := newSite(t)
	w, err := New(Config{Store: s.st, Now: s.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	other := httptest.NewServer(w.Handler())
	t.Cleanup(other.Close)
	b := s.browser(t)
	for i := range 5 {
		if code := b.signIn("household", fmt.Sprintf("guess %d!!", i)); code != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d", i, code)
		}
	}
	b2 := (&site{srv: other}).browser(t)
	if code := b2.signIn("household", "correct horse household"); code != http.StatusTooManyRequests {
		t.Fatalf("the other instance after 5 failures on the first: %d, want 429", code)
	}
	if code := b2.signIn("neighbour", "correct horse neighbour"); code != http.StatusOK {
		t.Fatalf("other account on the other instance: %d", code)
	}
}
