package headend

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"swarmbox/cloud/repository"
	"swarmbox/media"
	"swarmbox/sync/cloudclient"
	"swarmbox/sync/protocol"
)

// sharedGrants syncs two boxes wishing f.item until the plan shares the server's copy between
// them, and returns their fetches (each with one range of WebSeedPieces).
func sharedGrants(t testing.TB, f *fixture) []protocol.Fetch {
	t.Helper()
	ctx := context.Background()
	boxes := []*cloudclient.Client{f.client, registerBox(t, f, "acct")}
	want := protocol.SyncRequest{Wishlist: []media.ItemID{f.item.ID}, FreeBytes: 1 << 30}
	var grants []protocol.Fetch
	for deadline := time.Now().Add(20 * time.Second); len(grants) < 2; time.Sleep(100 * time.Millisecond) {
		want.FreeBytes++ // no two requests alike: replays are refused
		if time.Now().After(deadline) {
			t.Fatalf("no shared server copy after 20 s; last grants %+v", grants)
		}
		grants = grants[:0]
		for _, c := range boxes {
			resp, err := c.Sync(ctx, want)
			if err != nil {
				t.Fatal(err)
			}
			if len(resp.Fetches) == 1 && resp.Fetches[0].WebSeed != "" && len(resp.Fetches[0].WebSeedPieces) == 1 {
				grants = append(grants, resp.Fetches[0])
			}
		}
	}
	return grants
}

// seedGet fetches a web seed URL (made for PublicURL example.invalid) from f's server with the
// given headers, and returns the status and body.
func seedGet(t *testing.T, f *fixture, client *http.Client, url string, hdr map[string]string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", strings.Replace(url, "http://example.invalid", f.srv.URL, 1), nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	r, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	return r.StatusCode, b
}

// TestWebSeedIfRange: a box given a share of the server's copy gets exactly the bytes of its
// share, whatever else the request says: If-Range (which would make http.ServeContent answer
// 200 with the whole container), several ranges, open-ended and suffix ranges past its share
// are served only within it or refused with 416, never with the whole container.
func TestWebSeedIfRange(t *testing.T) {
	f := newFixture(t)
	grants := sharedGrants(t, f)
	pl := repository.PieceLength(f.item.SealedSize)
	size := f.item.SealedSize
	// first is the share starting at piece 0; last is the one ending at the last piece.
	first, last := grants[0], grants[1]
	if first.WebSeedPieces[0].Begin != 0 {
		first, last = last, first
	}
	if first.WebSeedPieces[0].Begin != 0 || last.WebSeedPieces[0].End != int(f.item.Pieces) {
		t.Fatalf("shares %v and %v do not split the item in two", first.WebSeedPieces, last.WebSeedPieces)
	}
	firstEnd := int64(first.WebSeedPieces[0].End) * pl // first byte outside the first share
	lastBegin := int64(last.WebSeedPieces[0].Begin) * pl
	tests := []struct {
		name  string
		grant protocol.Fetch
		hdr   map[string]string
		want  int   // status
		bytes int64 // body length when 206
	}{
		{"own range", first, map[string]string{"Range": "bytes=0-99"}, 206, 100},
		{"own range, If-Range etag", first, map[string]string{"Range": "bytes=0-99", "If-Range": `"x"`}, 206, 100},
		{"own range, If-Range weak etag", first, map[string]string{"Range": "bytes=0-99", "If-Range": `W/"x"`}, 206, 100},
		{"own range, If-Range date", first, map[string]string{"Range": "bytes=0-99", "If-Range": "Mon, 02 Jan 2006 15:04:05 GMT"}, 206, 100},
		{"whole own share, If-Range", first, map[string]string{"Range": fmt.Sprintf("bytes=0-%d", firstEnd-1), "If-Range": `"x"`}, 206, firstEnd},
		{"no range, If-Range", first, map[string]string{"If-Range": `"x"`}, 416, 0},
		{"no range", first, nil, 416, 0},
		{"open-ended past the share", first, map[string]string{"Range": "bytes=0-"}, 416, 0},
		{"open-ended past the share, If-Range", first, map[string]string{"Range": "bytes=0-", "If-Range": `"x"`}, 416, 0},
		{"suffix in the other share", first, map[string]string{"Range": "bytes=-100"}, 416, 0},
		{"suffix bigger than the container", first, map[string]string{"Range": fmt.Sprintf("bytes=-%d", 2*size)}, 416, 0},
		{"two ranges, both own", first, map[string]string{"Range": "bytes=0-9,20-29"}, 416, 0},
		{"two ranges, one other", first, map[string]string{"Range": fmt.Sprintf("bytes=0-9,%d-%d", firstEnd, firstEnd+9)}, 416, 0},
		{"two ranges, If-Range", first, map[string]string{"Range": fmt.Sprintf("bytes=0-9,%d-%d", firstEnd, firstEnd+9), "If-Range": `"x"`}, 416, 0},
		{"range crossing into the other share", first, map[string]string{"Range": fmt.Sprintf("bytes=%d-%d", firstEnd-10, firstEnd+9)}, 416, 0},
		{"suffix in own share", last, map[string]string{"Range": "bytes=-100"}, 206, 100},
		{"suffix in own share, If-Range", last, map[string]string{"Range": "bytes=-100", "If-Range": `"x"`}, 206, 100},
		{"open-ended in own share, If-Range", last, map[string]string{"Range": fmt.Sprintf("bytes=%d-", lastBegin), "If-Range": `"x"`}, 206, size - lastBegin},
		{"open-ended from the other share", last, map[string]string{"Range": "bytes=0-"}, 416, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, body := seedGet(t, f, http.DefaultClient, tc.grant.WebSeed, tc.hdr)
			if code != tc.want {
				t.Fatalf("status %d (%d bytes), want %d", code, len(body), tc.want)
			}
			if code == http.StatusPartialContent && int64(len(body)) != tc.bytes {
				t.Fatalf("%d bytes served, want %d", len(body), tc.bytes)
			}
		})
	}
}

// fromAddress is an HTTP client whose connections come from the loopback address ip.
func fromAddress(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	return &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
}

// TestWebSeedGrantBoundToBoxAndTime: a web seed URL works for the box it was granted to, from
// the address the box syncs from, until it expires (SeedGrantWindow); the same URL used from
// another address, after it expired, or with its expiry edited is refused with 401, and the
// box's next sync hands out a fresh URL that works.
func TestWebSeedGrantBoundToBoxAndTime(t *testing.T) {
	var offset atomic.Int64 // how far the head-end's and the box's clocks are moved ahead
	now := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	f := newFixtureWith(t, func(c *Config) { c.Now = now })
	f.client.Now = now
	ctx := context.Background()
	seq := int64(0)
	grant := func() string {
		t.Helper()
		seq++
		resp, err := f.client.Sync(ctx, protocol.SyncRequest{Wishlist: []media.ItemID{f.item.ID}, FreeBytes: 1<<30 + seq})
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Fetches) != 1 || resp.Fetches[0].WebSeed == "" {
			t.Fatalf("fetches %+v, want one with the web seed", resp.Fetches)
		}
		return resp.Fetches[0].WebSeed
	}
	rng := map[string]string{"Range": "bytes=0-99"}
	url := grant()
	if code, b := seedGet(t, f, http.DefaultClient, url, rng); code != http.StatusPartialContent {
		t.Fatalf("the box's own fetch: status %d (%s), want 206", code, b)
	}
	// The box keeps fetching through the same URL while it is valid.
	offset.Store(int64(SeedGrantWindow))
	if code, b := seedGet(t, f, http.DefaultClient, url, rng); code != http.StatusPartialContent {
		t.Fatalf("the box's fetch a window later: status %d (%s), want 206", code, b)
	}
	offset.Store(0)
	if code, b := seedGet(t, f, fromAddress("127.0.0.2"), url, rng); code != http.StatusUnauthorized || !strings.Contains(string(b), "another address") {
		t.Fatalf("the URL from another address: status %d (%s), want 401 naming another address", code, b)
	}
	token := strings.Split(strings.TrimPrefix(url, "http://example.invalid"+protocol.PathSeed), "/")[1]
	exp, mac, _ := strings.Cut(token, ".")
	for _, forged := range []string{mac, "9" + exp + "." + mac, exp + ".", exp + "." + strings.Repeat("A", len(mac)), "x." + mac} {
		if code, b := seedGet(t, f, http.DefaultClient, strings.Replace(url, token, forged, 1), rng); code != http.StatusUnauthorized {
			t.Errorf("token %q: status %d (%s), want 401", forged, code, b)
		}
	}
	offset.Store(int64(2*SeedGrantWindow + time.Second))
	if code, b := seedGet(t, f, http.DefaultClient, url, rng); code != http.StatusUnauthorized || !strings.Contains(string(b), "expired") {
		t.Fatalf("the URL after it expired: status %d (%s), want 401 saying it expired", code, b)
	}
	fresh := grant()
	if fresh == url {
		t.Fatal("the sync after expiry handed out the expired URL again")
	}
	if code, b := seedGet(t, f, http.DefaultClient, fresh, rng); code != http.StatusPartialContent {
		t.Fatalf("the fresh URL: status %d (%s), want 206", code, b)
	}
}
