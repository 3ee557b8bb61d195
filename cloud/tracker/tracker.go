// Package tracker answers BitTorrent HTTP announces (BEP 3, compact peer lists per BEP 23) with
// the peers the scheduler chose for the announcing box, instead of everyone in the swarm: the
// head-end, not the swarm, decides who talks to whom.
package tracker

import (
	"context"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"time"

	"github.com/anacrolix/torrent/bencode"

	"swarmbox/media"
)

// Peers tells the tracker whom a box should connect to for the torrent with infoHash (hex).
type Peers interface {
	PeersFor(ctx context.Context, box media.BoxID, infoHash string) ([]netip.AddrPort, error)
}

// ErrUnknownTorrent is what Peers returns for an info hash that is not in the catalog.
var ErrUnknownTorrent = errors.New("unknown torrent")

// Tracker is an http.Handler for announce requests.
type Tracker struct {
	// Authorize returns the box an announce URL belongs to, from its query (the head-end puts a
	// box id and a token in each box's announce URL).
	Authorize func(q url.Values) (media.BoxID, error)
	Peers     Peers
	Interval  time.Duration
	Log       *slog.Logger
}

type response struct {
	Interval    int    `bencode:"interval"`
	MinInterval int    `bencode:"min interval"`
	Peers       []byte `bencode:"peers"`
}

func (t *Tracker) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	box, err := t.Authorize(q)
	if err != nil {
		writeFailure(w, "unauthorized: "+err.Error())
		return
	}
	ih := q.Get("info_hash")
	if len(ih) != 20 {
		writeFailure(w, "bad request: info_hash must be 20 bytes")
		return
	}
	peers, err := t.Peers.PeersFor(r.Context(), box, hex.EncodeToString([]byte(ih)))
	if errors.Is(err, ErrUnknownTorrent) {
		writeFailure(w, "unknown torrent: no such torrent in the catalog")
		return
	}
	if err != nil {
		t.Log.Error("announce", "box", box, "err", err)
		writeFailure(w, "internal error: could not plan peers; try again at the next interval")
		return
	}
	var compact []byte
	for _, p := range peers {
		if !p.Addr().Is4() {
			continue // BEP 23 compact form is IPv4; boxes here advertise IPv4
		}
		a := p.Addr().As4()
		compact = append(compact, a[:]...)
		compact = append(compact, byte(p.Port()>>8), byte(p.Port()))
	}
	iv := int(t.Interval / time.Second)
	b, err := bencode.Marshal(response{Interval: iv, MinInterval: iv, Peers: compact})
	if err != nil {
		t.Log.Error("announce answer", "box", box, "err", err)
		writeFailure(w, "internal error: could not encode the answer; try again at the next interval")
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	w.Write(b)
}

// failure is a tracker's refusal in BEP 3 form: a bencoded dictionary whose only key is
// "failure reason".
type failure struct {
	Reason string `bencode:"failure reason"`
}

// writeFailure answers a refused announce the way BEP 3 says: 200 OK with a bencoded
// dictionary holding "failure reason", which standard clients show to their user (most of them
// treat any other HTTP status as a bare transport error and never read the body).
func writeFailure(w http.ResponseWriter, reason string) {
	b, err := bencode.Marshal(failure{Reason: reason})
	if err != nil { // a struct of one string always encodes; keep the form regardless
		b = []byte("d14:failure reason8:internale")
	}
	w.Header().Set("Content-Type", "text/plain")
	w.Write(b)
}
