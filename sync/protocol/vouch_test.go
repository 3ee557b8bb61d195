package protocol

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"swarmbox/media"
)

// TestVouchedTime: a time the head-end vouched for reads back for the request it answers, and
// is refused when changed, when checked for another request or box, with another key, or
// when missing.
func TestVouchedTime(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	otherPub, _, _ := ed25519.GenerateKey(rand.Reader)
	_, boxKey, _ := ed25519.GenerateKey(rand.Reader)
	box := media.BoxIDFromKey(boxKey.Public().(ed25519.PublicKey))
	newReq := func(body string) *http.Request {
		r, _ := http.NewRequest(http.MethodPost, "http://h/v1/sync", strings.NewReader(body))
		Sign(r, []byte(body), box, boxKey, time.Now())
		return r
	}
	req := newReq("a")
	now := time.Date(2026, 12, 2, 5, 0, 0, 123e6, time.UTC)
	sign := func(m []byte) []byte { return ed25519.Sign(priv, m) }
	h := http.Header{}
	VouchTime(h, req, box, now, sign)
	if got, err := VouchedTime(h, req, box, pub); err != nil || !got.Equal(now) {
		t.Fatalf("VouchedTime = %v, %v; want %v", got, err, now)
	}
	later := h.Clone()
	later.Set(HeaderTime, "1893456000000")
	for _, c := range []struct {
		name string
		h    http.Header
		req  *http.Request
		box  media.BoxID
		key  ed25519.PublicKey
		want error
	}{
		{"time changed", later, req, box, pub, ErrBadTimeSign},
		{"another request", h, newReq("b"), box, pub, ErrBadTimeSign},
		{"another box", h, req, media.BoxID{1}, pub, ErrBadTimeSign},
		{"another key", h, req, box, otherPub, ErrBadTimeSign},
		{"no key", h, req, box, nil, ErrBadTimeSign},
		{"no time", http.Header{}, req, box, pub, ErrNoTime},
	} {
		if _, err := VouchedTime(c.h, c.req, c.box, c.key); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
}

// FuzzVouchedTime: any header values are refused or read, never a panic, and only the signed
// time is ever accepted.
func FuzzVouchedTime(f *testing.F) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	_, boxKey, _ := ed25519.GenerateKey(rand.Reader)
	box := media.BoxIDFromKey(boxKey.Public().(ed25519.PublicKey))
	req, _ := http.NewRequest(http.MethodPost, "http://h/v1/sync", nil)
	Sign(req, nil, box, boxKey, time.Now())
	h := http.Header{}
	now := time.UnixMilli(1_800_000_000_000)
	VouchTime(h, req, box, now, func(m []byte) []byte { return ed25519.Sign(priv, m) })
	f.Add(h.Get(HeaderTime), h.Get(HeaderTimeSignature))
	f.Add("-1", "AAAA")
	f.Add("x", "!!")
	f.Add("", "")
	f.Fuzz(func(t *testing.T, ms, sig string) {
		hh := http.Header{}
		hh.Set(HeaderTime, ms)
		hh.Set(HeaderTimeSignature, sig)
		got, err := VouchedTime(hh, req, box, pub)
		if err == nil && !got.Equal(now) {
			t.Fatalf("accepted %q %q as %v", ms, sig, got)
		}
	})
}
