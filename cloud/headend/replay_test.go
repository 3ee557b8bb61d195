package headend

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"swarmbox/sync/protocol"
)

// TestSyncReplayWithReencodedSignature: a captured sync sent again with its base64 signature
// written with other unused low bits (the same signature bytes to a lenient decoder) is
// refused with 401, and so is the plain replay; the box's state is not put back.
func TestSyncReplayWithReencodedSignature(t *testing.T) {
	f := newFixture(t)
	body := []byte(`{"wishlist":[],"holdings":[],"free_bytes":7,"transfers":[]}`)
	orig, _ := http.NewRequest("POST", f.srv.URL+protocol.PathSync, nil)
	protocol.Sign(orig, body, f.client.Box, f.client.Key, time.Now())
	sig := orig.Header.Get(protocol.HeaderSignature)
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	trimmed := strings.TrimRight(sig, "=")
	last := strings.IndexByte(alphabet, trimmed[len(trimmed)-1])
	variant := trimmed[:len(trimmed)-1] + string(alphabet[last^0x0f]) + sig[len(trimmed):]
	for i, s := range []string{sig, variant, sig} {
		req := orig.Clone(orig.Context())
		req.Body = io.NopCloser(bytes.NewReader(body))
		req.Header.Set(protocol.HeaderSignature, s)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		want := []int{200, 401, 401}[i]
		if resp.StatusCode != want {
			t.Fatalf("send %d (signature %q): %d %s, want %d", i+1, s, resp.StatusCode, b, want)
		}
	}
}
