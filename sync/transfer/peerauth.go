package transfer

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"github.com/anacrolix/torrent"
	pp "github.com/anacrolix/torrent/peer_protocol"

	"swarmbox/media"
)

// tokenPrefix starts a box's peer token, carried as the client name ("v") of its BitTorrent
// extended handshake (BEP 10).
const tokenPrefix = "swarmbox-peer/1 "

// PeerToken is what a box shows its peers: its public key and its signature over it with the
// box's signing key. A peer's box id is taken from the key (media.BoxIDFromKey), so a token
// names one box and only that box's key makes it.
func PeerToken(key ed25519.PrivateKey) string {
	pub := key.Public().(ed25519.PublicKey)
	return tokenPrefix + hex.EncodeToString(pub) + " " + base64.RawStdEncoding.EncodeToString(ed25519.Sign(key, tokenMessage(pub)))
}

func tokenMessage(pub ed25519.PublicKey) []byte {
	return append([]byte("swarmbox peer token\x00"), pub...)
}

// ParsePeerToken checks a token and returns the box it proves.
func ParsePeerToken(tok string) (media.BoxID, error) {
	rest, ok := strings.CutPrefix(tok, tokenPrefix)
	if !ok {
		return media.BoxID{}, fmt.Errorf("no swarmbox peer token (client %q)", clip(tok))
	}
	k, s, ok := strings.Cut(rest, " ")
	pub, err1 := hex.DecodeString(k)
	sig, err2 := base64.RawStdEncoding.DecodeString(s)
	if !ok || err1 != nil || err2 != nil || len(pub) != ed25519.PublicKeySize || len(sig) != ed25519.SignatureSize {
		return media.BoxID{}, fmt.Errorf("malformed swarmbox peer token %q", clip(tok))
	}
	if !ed25519.Verify(pub, tokenMessage(pub), sig) {
		return media.BoxID{}, fmt.Errorf("swarmbox peer token with a bad signature")
	}
	return media.BoxIDFromKey(pub), nil
}

func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

// peerAuth admits only the boxes the plan names, by key: every connection must show a valid
// token of an allowed box in its extended handshake before it may ask for data or send any.
// Until the head-end names the boxes (SetPeerBoxes) it is open: a head-end that does not
// name them leaves the box serving whoever knows an info hash, as before.
type peerAuth struct {
	log *slog.Logger

	mu      sync.Mutex
	strict  bool
	allowed map[media.BoxID]string // box -> why ("plan", "lan")
	proven  map[*torrent.PeerConn]media.BoxID
	refused map[*torrent.PeerConn]bool
	count   int64 // connections refused
}

func newPeerAuth(log *slog.Logger) *peerAuth {
	return &peerAuth{log: log, allowed: map[media.BoxID]string{}, proven: map[*torrent.PeerConn]media.BoxID{}, refused: map[*torrent.PeerConn]bool{}}
}

// SetPeerBoxes makes the engine strict: from now on a new connection is served, and served
// from, only when it proves by key to be one of boxes (why says which list named them, for the
// log). It replaces the earlier list; connections already proven stay.
func (e *Engine) SetPeerBoxes(boxes map[media.BoxID]string) {
	a := e.auth
	a.mu.Lock()
	defer a.mu.Unlock()
	a.strict = true
	a.allowed = make(map[media.BoxID]string, len(boxes))
	for b, why := range boxes {
		a.allowed[b] = why
	}
}

// RefusedPeers counts the connections refused for not proving an allowed box's key.
func (e *Engine) RefusedPeers() int64 {
	e.auth.mu.Lock()
	defer e.auth.mu.Unlock()
	return e.auth.count
}

// readExtendedHandshake checks the token a peer shows.
func (a *peerAuth) readExtendedHandshake(pc *torrent.PeerConn, m *pp.ExtendedHandshakeMessage) {
	id, err := ParsePeerToken(m.V)
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.strict {
		return
	}
	why, ok := a.allowed[id]
	switch {
	case err != nil:
		a.refuseLocked(pc, err.Error())
	case !ok:
		a.refuseLocked(pc, "box "+id.String()+" is not named by the plan")
	default:
		a.proven[pc] = id
		a.log.Debug("peer proved its key", "addr", pc.RemoteAddr, "box", id, "why", why)
	}
}

// readMessage keeps a connection that has not proven an allowed box from asking for data or
// metadata, or sending any: such a message is turned into a keep-alive (the library then skips
// it) and the connection is closed. Once refused, nothing more of it is read.
func (a *peerAuth) readMessage(pc *torrent.PeerConn, msg *pp.Message) {
	if msg.Keepalive {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.strict {
		return
	}
	if a.refused[pc] {
		*msg = pp.Message{Keepalive: true}
		return
	}
	switch {
	case msg.Type == pp.Interested, msg.Type == pp.Request, msg.Type == pp.Piece:
	case msg.Type == pp.Extended && msg.ExtendedID != pp.HandshakeExtendedID: // ut_metadata, ut_pex…
	default:
		return
	}
	if _, ok := a.proven[pc]; ok {
		return
	}
	*msg = pp.Message{Keepalive: true}
	a.refuseLocked(pc, "asked for or sent data before proving a named box's key")
}

// refuseLocked logs, counts and closes pc once; a.mu is held. The library holds its own lock
// while calling back, so the close runs on its own goroutine.
func (a *peerAuth) refuseLocked(pc *torrent.PeerConn, why string) {
	if a.refused[pc] {
		return
	}
	a.refused[pc] = true
	a.count++
	a.log.Warn("peer refused: it did not prove it is a box the plan names", "addr", pc.RemoteAddr, "reason", why)
	go pc.Close()
}

// provenBox is the box whose key pc proved, if it did.
func (a *peerAuth) provenBox(pc *torrent.PeerConn) (media.BoxID, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	id, ok := a.proven[pc]
	return id, ok
}

func (a *peerAuth) closed(pc *torrent.PeerConn) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.proven, pc)
	delete(a.refused, pc)
}
