package web

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"
)

// testClock is a clock that stands still until a test moves it.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *testClock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// from is a browser whose connections come from the loopback address ip (127.0.0.0/8 is all
// loopback on Linux), so the server sees distinct client addresses.
func (s *site) from(t *testing.T, ip string) *browser {
	jar, _ := cookiejar.New(nil)
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	tr := &http.Transport{DialContext: d.DialContext}
	t.Cleanup(tr.CloseIdleConnections)
	return &browser{t: t, base: s.srv.URL, c: &http.Client{Jar: jar, Transport: tr}}
}

// signInWait signs in and returns the status and the Retry-After of a 429.
func (b *browser) signInWait(account, password string) (int, time.Duration) {
	b.t.Helper()
	b.get("/signin")
	resp, err := b.c.PostForm(b.base+"/signin", url.Values{"csrf": {b.csrf()}, "account": {account}, "password": {password}})
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	b.last = string(body)
	secs, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
	return resp.StatusCode, time.Duration(secs) * time.Second
}

// TestSignInFailuresDoNotLockOut: a patient guesser at one address, who waits out every delay,
// is slowed more after each wrong password (the waits grow) and gets no guess checked while it
// waits, even the right one; guessers at 30 addresses together delay the account by at most the
// account's cap; and through all of it the household, from its own address, signs in at once or
// after at most that cap. Nobody is locked out.
func TestSignInFailuresDoNotLockOut(t *testing.T) {
	s := newSite(t)
	attacker, home := s.from(t, "127.0.0.2"), s.from(t, "127.0.0.3")

	var waits []time.Duration
	for guess := 0; guess < 12; guess++ {
		code, wait := attacker.signInWait("household", fmt.Sprintf("guess %d!!", guess))
		if code == http.StatusTooManyRequests {
			if wait <= 0 {
				t.Fatalf("guess %d: 429 without Retry-After", guess)
			}
			// The right password while delayed is not even checked.
			if code, _ := attacker.signInWait("household", "correct horse household"); code != http.StatusTooManyRequests {
				t.Fatalf("the right password during the delay: %d, want 429", code)
			}
			waits = append(waits, wait)
			s.clock.Add(wait)
			guess-- // the same guess again once the wait is over
			continue
		}
		if code != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d", guess, code)
		}
	}
	if len(waits) < 5 {
		t.Fatalf("12 wrong guesses were delayed only %d times: %v", len(waits), waits)
	}
	for i := 1; i < len(waits); i++ {
		if waits[i] < waits[i-1] {
			t.Fatalf("the delays do not grow: %v", waits)
		}
	}
	if last := waits[len(waits)-1]; last < 8*waits[0] {
		t.Fatalf("the delays grow too little: %v", waits)
	}
	// The household, at the moment the guesser has to wait longest, is in (or waits the
	// account's short cap at most, because 12 failures exceed the free ones from everywhere).
	householdSignsIn := func(when string) {
		t.Helper()
		code, wait := home.signInWait("household", "correct horse household")
		if code == http.StatusTooManyRequests {
			if wait > 10*time.Second {
				t.Fatalf("%s: the household is told to wait %v, more than the account's cap", when, wait)
			}
			s.clock.Add(wait)
			code, _ = home.signInWait("household", "correct horse household")
		}
		if code != http.StatusOK {
			t.Fatalf("%s: the household cannot sign in: %d", when, code)
		}
		home.post("/signout", url.Values{"csrf": {home.csrf()}})
	}
	householdSignsIn("after a patient guesser")
	if code, wait := attacker.signInWait("household", "guess again!!"); code != http.StatusTooManyRequests || wait < 8*time.Second {
		t.Fatalf("the guesser after the household signed in: %d, wait %v: the guesser's own delay must stay", code, wait)
	}

	// Guessers at many addresses, each once or twice.
	for round := range 2 {
		for i := 10; i < 40; i++ {
			g := s.from(t, fmt.Sprintf("127.0.0.%d", i))
			code, wait := g.signInWait("household", fmt.Sprintf("spread %d %d", round, i))
			if code == http.StatusTooManyRequests {
				if wait > 10*time.Second {
					t.Fatalf("a first guess from a new address waits %v, more than the account's cap", wait)
				}
				s.clock.Add(wait)
			}
		}
	}
	householdSignsIn("after guessers at 30 addresses")
}
