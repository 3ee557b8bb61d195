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

// reencoded writes the same signature bytes as sig (standard base64 of 64 bytes) with other
// unused low bits in its last character: lenient decoders read it as the same signature.
func reencoded(sig string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	i := strings.TrimRight(sig, "=")
	last := strings.IndexByte(alphabet, i[len(i)-1])
	return i[:len(i)-1] + string(alphabet[last^0x0f]) + sig[len(i):]
}

// TestReplayWithReencodedSignature: a signed request whose base64 signature is written with
// other unused low bits is refused by Verify, and its replay key is the original's, so the
// head-end's replay check catches it either way; another box's or another time's request gets
// another key.
func TestReplayWithReencodedSignature(t *testing.T) {
	pub, key, _ := ed25519.GenerateKey(rand.Reader)
	box := media.BoxIDFromKey(pub)
	now := time.Unix(1_800_000_000, 0)
	body := []byte(`{"wishlist":[]}`)
	keyFor := func(media.BoxID) (ed25519.PublicKey, error) { return pub, nil }
	req, _ := http.NewRequest("POST", "http://h/v1/sync", nil)
	Sign(req, body, box, key, now)
	if _, err := Verify(req, body, keyFor, now); err != nil {
		t.Fatalf("the original: %v", err)
	}
	orig := ReplayKey(box, req, body)
	sig := req.Header.Get(HeaderSignature)
	tests := []struct {
		name string
		sig  string
	}{
		{"low bits changed", reencoded(sig)},
		{"padding dropped", strings.TrimRight(sig, "=")},
		{"line break", sig[:40] + "\r\n" + sig[40:]},
		{"extra padding", sig + "="},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			again := req.Clone(req.Context())
			again.Header.Set(HeaderSignature, tc.sig)
			if _, err := Verify(again, body, keyFor, now); !errors.Is(err, ErrBadSignature) {
				t.Errorf("signature %q for %q: err %v, want ErrBadSignature", tc.sig, sig, err)
			}
			if ReplayKey(box, again, body) != orig {
				t.Error("the replay key depends on how the signature is written")
			}
		})
	}
	other := req.Clone(req.Context())
	Sign(other, body, box, key, now.Add(time.Second))
	if ReplayKey(box, other, body) == orig {
		t.Error("a request signed a second later has the same replay key")
	}
	if ReplayKey(media.BoxID{1}, req, body) == orig {
		t.Error("another box's identical request has the same replay key")
	}
	if ReplayKey(box, req, []byte(`{"wishlist":["x"]}`)) == orig {
		t.Error("another body has the same replay key")
	}
}
