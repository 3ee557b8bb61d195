package headend

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/anacrolix/torrent/bencode"
	httpTracker "github.com/anacrolix/torrent/tracker/http"

	"swarmbox/sync/protocol"
)

// TestAnnounceRefusalsAreBEP3: the head-end's tracker refuses an announce without a valid token
// the BEP 3 way (200, a bencoded "failure reason" a standard client shows), not as JSON.
func TestAnnounceRefusalsAreBEP3(t *testing.T) {
	f := newFixture(t)
	for name, q := range map[string]string{
		"no token":     "?info_hash=aaaaaaaaaaaaaaaaaaaa",
		"forged token": "?box=" + f.client.Box.String() + "&token=abc&info_hash=aaaaaaaaaaaaaaaaaaaa",
	} {
		resp, err := http.Get(f.srv.URL + protocol.PathAnnounce + q)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var r httpTracker.HttpResponse
		if err := bencode.Unmarshal(body, &r); resp.StatusCode != http.StatusOK || err != nil || !strings.Contains(r.FailureReason, "announce URL is not valid") {
			t.Errorf("%s: status %d, body %q (%v); want 200 with a bencoded failure reason", name, resp.StatusCode, body, err)
		}
	}
}
