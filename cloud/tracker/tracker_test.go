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

	"swarmbox/media"
)

type fakePeers map[string][]netip.AddrPort // info hash (hex) → peers; unit-test fake

func (f fakePeers) PeersFor(_ context.Context, _ media.BoxID, ih string) ([]netip.AddrPort, error) {
	p, ok := f[ih]
	if !ok {
		return nil, ErrUnknownTorrent
	}
	return p, nil
}

func TestAnnounce(t *testing.T) {
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
		status int
	}{
		{"bad token", url.Values{"token": {"no"}, "info_hash": {ih}}, 401},
		{"short info hash", url.Values{"token": {"ok"}, "info_hash": {"abc"}}, 400},
		{"unknown torrent", url.Values{"token": {"ok"}, "info_hash": {strings.Repeat("\x02", 20)}}, 404},
	}
	for _, tc := range tests {
		if code, body := get(tc.q); code != tc.status {
			t.Errorf("%s: status %d (%s), want %d", tc.name, code, body, tc.status)
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
