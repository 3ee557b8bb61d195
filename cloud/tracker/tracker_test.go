package tracker

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/anacrolix/torrent/bencode"
	httpTracker "github.com/anacrolix/torrent/tracker/http"

	"swarmbox/media"
)

type fakePeers map[string][]netip.AddrPort // info hash (hex) → peers; unit-test fake

func (f fakePeers) PeersFor(_ context.Context, _ media.BoxID, ih string) ([]netip.AddrPort, error) {
	if ih == strings.Repeat("03", 20) {
		return nil, errors.New("the plan store is down")
	}
	p, ok := f[ih]
	if !ok {
		return nil, ErrUnknownTorrent
	}
	return p, nil
}

// TestAnnounceAndBEP3Failures: an announce gets the compact IPv4 peers the scheduler chose;
// a refused one (bad token, short info hash, unknown torrent, planning failure) gets 200 with a
// bencoded dictionary holding only "failure reason" (BEP 3), as anacrolix's client decodes it.
func TestAnnounceAndBEP3Failures(t *testing.T) {
	ih := strings.Repeat("\x01", 20)
	ihHex := strings.Repeat("01", 20)
	tr := &Tracker{
		Authorize: func(q url.Values) (media.BoxID, error) {
			if q.Get("token") != "ok" {
				return media.BoxID{}, errors.New("bad token")
			}
			return media.BoxID{1}, nil
		},
		Peers:    fakePeers{ihHex: {netip.MustParseAddrPort("127.0.0.2:6881"), netip.MustParseAddrPort("[::1]:7000"), netip.MustParseAddrPort("198.18.0.9:51413")}},
		Interval: 30 * time.Second,
		Log:      slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	srv := httptest.NewServer(tr)
	defer srv.Close()
	get := func(q url.Values) (int, []byte) {
		resp, err := http.Get(srv.URL + "/announce?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	tests := []struct {
		name   string
		q      url.Values
		reason string
	}{
		{"bad token", url.Values{"token": {"no"}, "info_hash": {ih}}, "unauthorized: bad token"},
		{"short info hash", url.Values{"token": {"ok"}, "info_hash": {"abc"}}, "info_hash must be 20 bytes"},
		{"unknown torrent", url.Values{"token": {"ok"}, "info_hash": {strings.Repeat("\x02", 20)}}, "unknown torrent"},
		{"planning failed", url.Values{"token": {"ok"}, "info_hash": {strings.Repeat("\x03", 20)}}, "internal error"},
	}
	for _, tc := range tests {
		// BEP 3: a refusal is 200 with a bencoded dictionary holding only "failure reason",
		// which a standard client (here anacrolix's decoder and its tracker response type)
		// reads and shows.
		code, body := get(tc.q)
		var r httpTracker.HttpResponse
		if err := bencode.Unmarshal(body, &r); code != http.StatusOK || err != nil || !strings.Contains(r.FailureReason, tc.reason) {
			t.Errorf("%s: status %d, body %q (decoded %+v, %v); want 200 with a failure reason saying %q", tc.name, code, body, r, err, tc.reason)
		}
		var raw map[string]any
		if err := bencode.Unmarshal(body, &raw); err != nil || len(raw) != 1 {
			t.Errorf("%s: body %q decodes to %v, %v; want a dictionary of only the failure reason", tc.name, body, raw, err)
		}
	}
	code, body := get(url.Values{"token": {"ok"}, "info_hash": {ih}})
	if code != 200 {
		t.Fatalf("announce: %d %s", code, body)
	}
	var r response
	if err := bencode.Unmarshal(body, &r); err != nil {
		t.Fatal(err)
	}
	want := []byte{127, 0, 0, 2, 0x1a, 0xe1, 198, 18, 0, 9, 0xc8, 0xd5} // IPv6 peers are left out
	if string(r.Peers) != string(want) || r.Interval != 30 {
		t.Errorf("answer %+v, want compact peers %v every 30 s", r, want)
	}
}
