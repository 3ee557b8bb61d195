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

func TestSignVerify(t *testing.T) {
	pub, key, _ := ed25519.GenerateKey(rand.Reader)
	box := media.BoxIDFromKey(pub)
	_, otherKey, _ := ed25519.GenerateKey(rand.Reader)
	now := time.Unix(1_800_000_000, 0)
	body := []byte(`{"wishlist":[]}`)
	keyFor := func(id media.BoxID) (ed25519.PublicKey, error) {
		if id != box {
			return nil, ErrUnknownBox
		}
		return pub, nil
	}
	newReq := func() *http.Request {
		r, _ := http.NewRequest("POST", "http://h/v1/sync?x=1", nil)
		return r
	}
	tests := []struct {
		name    string
		prepare func(r *http.Request) []byte // returns the body the server sees
		want    error
	}{
		{"good", func(r *http.Request) []byte { Sign(r, body, box, key, now); return body }, nil},
		{"unsigned", func(r *http.Request) []byte { return body }, ErrUnsigned},
		{"body changed", func(r *http.Request) []byte { Sign(r, body, box, key, now); return []byte(`{"wishlist":["x"]}`) }, ErrBadSignature},
		{"other key", func(r *http.Request) []byte { Sign(r, body, box, otherKey, now); return body }, ErrBadSignature},
		{"path changed", func(r *http.Request) []byte {
			Sign(r, body, box, key, now)
			r.URL.Path = "/v1/buy"
			return body
		}, ErrBadSignature},
		{"too old", func(r *http.Request) []byte { Sign(r, body, box, key, now.Add(-MaxSkew-time.Second)); return body }, ErrStale},
		{"from the future", func(r *http.Request) []byte { Sign(r, body, box, key, now.Add(MaxSkew+time.Second)); return body }, ErrStale},
		{"unknown box", func(r *http.Request) []byte {
			_, k2, _ := ed25519.GenerateKey(rand.Reader)
			Sign(r, body, media.BoxIDFromKey(k2.Public().(ed25519.PublicKey)), k2, now)
			return body
		}, ErrUnknownBox},
		{"garbage signature", func(r *http.Request) []byte {
			Sign(r, body, box, key, now)
			r.Header.Set(HeaderSignature, "!!!")
			return body
		}, ErrBadSignature},
		{"garbage box id", func(r *http.Request) []byte {
			Sign(r, body, box, key, now)
			r.Header.Set(HeaderBox, "zz")
			return body
		}, ErrUnsigned},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newReq()
			seen := tc.prepare(r)
			got, err := Verify(r, seen, keyFor, now)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if err == nil && got != box {
				t.Fatalf("box = %s, want %s", got, box)
			}
		})
	}
}

func FuzzVerifyHeaders(f *testing.F) {
	f.Add("0123456789abcdef0123456789abcdef", "1800000000", "c2ln")
	f.Add("", "", "")
	f.Add("zz", "-1", strings.Repeat("A", 200))
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	f.Fuzz(func(t *testing.T, box, date, sig string) {
		r, _ := http.NewRequest("POST", "http://h/v1/sync", nil)
		r.Header.Set(HeaderBox, box)
		r.Header.Set(HeaderDate, date)
		r.Header.Set(HeaderSignature, sig)
		if _, err := Verify(r, nil, func(media.BoxID) (ed25519.PublicKey, error) { return pub, nil }, time.Unix(1_800_000_000, 0)); err == nil {
			t.Fatal("random headers verified")
		}
	})
}
