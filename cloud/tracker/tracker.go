// Package tracker answers BitTorrent HTTP announces (BEP 3, compact peer lists per BEP 23) with
// the peers the scheduler chose for the announcing box, instead of everyone in the swarm: the
// head-end, not the swarm, decides who talks to whom.
package tracker

import (
	"context"
	"encoding/hex"
	"encoding/json"
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
		writeError(w, http.StatusUnauthorized, "unauthorized", err.Error())
		return
	}
	ih := q.Get("info_hash")
	if len(ih) != 20 {
		writeError(w, http.StatusBadRequest, "bad_request", "info_hash must be 20 bytes")
		return
	}
	peers, err := t.Peers.PeersFor(r.Context(), box, hex.EncodeToString([]byte(ih)))
	if errors.Is(err, ErrUnknownTorrent) {
		writeError(w, http.StatusNotFound, "unknown_torrent", "no such torrent in the catalog")
		return
	}
	if err != nil {
		t.Log.Error("announce", "box", box, "err", err)
		writeError(w, http.StatusInternalServerError, "internal", "could not plan peers; try again")
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
		writeError(w, http.StatusInternalServerError, "internal", err.Error())
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	w.Write(b)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": msg, "code": code})
}
