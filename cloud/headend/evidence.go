package headend

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"log/slog"
	"maps"
	"math/big"
	"os"
	"sync"
	"time"

	"swarmbox/cloud/repository"
	"swarmbox/cloud/scheduler"
	"swarmbox/media"
	"swarmbox/sync/protocol"
)

// Defaults of the evidence ledger.
const (
	demoteAfter    = 20 * time.Second // a named source that sent nothing this long is demoted
	demoteFor      = 10 * time.Minute // and stays no source this long (then it must prove again)
	challengeAgain = 30 * time.Second // an unanswered challenge is replaced after this
	challengeBytes = 64 << 10         // bytes of the container a challenge asks for
)

type boxItem struct {
	box  media.BoxID
	item media.ItemID
}

type delivKey struct {
	receiver, source media.BoxID
	item             media.ItemID
}

// named is when the plan first named a source for a receiver's fetch, and what the receiver
// had then.
type named struct {
	since        time.Time
	bytesBefore  int64
	piecesBefore int
	badBefore    int64 // pieces from the source that had failed verification at the receiver
}

type challenge struct {
	protocol.Challenge
	at time.Time
}

// evidence is what this head-end instance knows of the boxes' holdings beside their claims:
// the bytes its web seed served each box, which fetches the plan fed from peers, the
// possession challenges it asked and those answered, and the sources receivers found silent.
// Holdings are planned only as far as this evidence supports them (scheduler.Trusted). It is
// kept in memory: after a restart the served bytes are read back from the store with the next
// full round, and whole holdings are challenged again.
type evidence struct {
	after, demoteFor time.Duration

	mu      sync.Mutex
	served  map[boxItem]int64
	peerFed map[boxItem]bool
	proven  map[boxItem]bool
	demoted map[boxItem]time.Time // until
	pending map[boxItem]challenge
	named   map[delivKey]named
	raw     map[media.BoxID]rawBox
}

func newEvidence() *evidence {
	return &evidence{after: demoteAfter, demoteFor: demoteFor,
		served: map[boxItem]int64{}, peerFed: map[boxItem]bool{}, proven: map[boxItem]bool{},
		demoted: map[boxItem]time.Time{}, pending: map[boxItem]challenge{}, named: map[delivKey]named{}, raw: map[media.BoxID]rawBox{}}
}

// addServed counts web seed bytes sent to box (the store keeps the total across restarts).
func (e *evidence) addServed(box media.BoxID, item media.ItemID, n int64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.served[boxItem{box, item}] += n
}

// setServed raises the served count to the store's total.
func (e *evidence) setServed(box media.BoxID, item media.ItemID, n int64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	k := boxItem{box, item}
	e.served[k] = max(e.served[k], n)
}

// piecesIn is how many pieces of an item of size bytes in n pieces b bytes can cover.
func piecesIn(b, size int64, n int) int {
	if size <= 0 || n <= 0 || b <= 0 {
		return 0
	}
	if b >= size {
		return n
	}
	return int(min(b/repository.PieceLength(size), int64(n)))
}

// trust applies the evidence to every holding of sb (items gives piece counts and sizes,
// peerBytes what the box reported receiving from peers per item) and returns the items whose
// whole claims lack evidence: those to challenge.
func (e *evidence) trust(sb *scheduler.Box, items map[media.ItemID]planItem, peerBytes map[media.ItemID]int64, now time.Time, log *slog.Logger) []media.ItemID {
	e.mu.Lock()
	defer e.mu.Unlock()
	var ask []media.ItemID
	for id, h := range sb.Holdings {
		it := items[id]
		k := boxItem{sb.ID, id}
		if until, ok := e.demoted[k]; ok && !now.Before(until) {
			delete(e.demoted, k)
		}
		b := e.served[k]
		if e.peerFed[k] {
			b += max(peerBytes[id], 0)
		}
		ev := scheduler.Evidence{Pieces: piecesIn(b, it.Size, it.Pieces), Proven: e.proven[k]}
		_, ev.Demoted = e.demoted[k]
		if ev.Proven && !scheduler.WholeClaim(h, it.Pieces) {
			ev.Proven = false // a proof was of a whole claim; the box now says it has less
			delete(e.proven, k)
		}
		th, unproven := scheduler.Trusted(h, it.Pieces, ev)
		sb.Holdings[id] = th
		if unproven && !ev.Demoted && scheduler.WholeClaim(h, it.Pieces) {
			ask = append(ask, id)
		}
		if unproven && log != nil {
			log.Debug("holding unproven: planned only as far as the evidence goes", "box", sb.ID, "item", id,
				"claimed", h.Pieces, "planned", th.Pieces, "demoted", ev.Demoted)
		}
	}
	return ask
}

// challenges asks box to prove the given whole claims: a random stretch of a random piece of
// what it claims (an unanswered challenge is asked again after challengeAgain).
func (e *evidence) challenges(box media.BoxID, ask []media.ItemID, holdings map[media.ItemID]scheduler.Holding, items map[media.ItemID]planItem, now time.Time) []protocol.Challenge {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []protocol.Challenge
	for _, id := range ask {
		k := boxItem{box, id}
		if c, ok := e.pending[k]; ok && now.Sub(c.at) < challengeAgain && !now.Before(c.at) {
			out = append(out, c.Challenge)
			continue
		}
		it := items[id]
		if it.Size <= 0 || it.Pieces <= 0 {
			continue
		}
		r := scheduler.PieceRange{Begin: 0, End: it.Pieces}
		if h := holdings[id]; h.Range.Len() > 0 && !h.Complete {
			r = h.Range
		}
		pl := repository.PieceLength(it.Size)
		piece := int64(r.Begin) + randN(int64(r.Len()))
		begin, end := piece*pl, min((piece+1)*pl, it.Size)
		if begin >= end {
			continue
		}
		n := min(int64(challengeBytes), end-begin)
		off := begin + randN(end-begin-n+1)
		nonce := make([]byte, 16)
		rand.Read(nonce)
		c := challenge{Challenge: protocol.Challenge{Item: id, Offset: off, Length: n, Nonce: hex.EncodeToString(nonce)}, at: now}
		e.pending[k] = c
		out = append(out, c.Challenge)
	}
	return out
}

func randN(n int64) int64 {
	if n <= 1 {
		return 0
	}
	v, err := rand.Int(rand.Reader, big.NewInt(n))
	if err != nil {
		return 0
	}
	return v.Int64()
}

// checkProofs takes box's answers to its pending challenges: a right one proves the claim, a
// wrong one demotes the box as a source of the item. Answers to no pending challenge (another
// instance asked, or it was replaced) are ignored.
func (e *evidence) checkProofs(box media.BoxID, proofs []protocol.Proof, container func(media.ItemID) string, now time.Time, log *slog.Logger) {
	for _, p := range proofs {
		k := boxItem{box, p.Item}
		e.mu.Lock()
		c, ok := e.pending[k]
		if ok && c.Nonce == p.Nonce {
			delete(e.pending, k)
		}
		e.mu.Unlock()
		if !ok || c.Nonce != p.Nonce {
			continue
		}
		want, err := fileProof(container(p.Item), c.Challenge)
		if err != nil {
			log.Error("possession challenge not checked; the box is asked again", "box", box, "item", p.Item, "err", err)
			continue
		}
		e.mu.Lock()
		if subtle.ConstantTimeCompare([]byte(want), []byte(p.Hash)) == 1 {
			e.proven[k] = true
		} else {
			delete(e.proven, k)
			e.demoted[k] = now.Add(e.demoteFor)
			log.Warn("box failed a possession challenge: not named as a source of the item", "box", box, "item", p.Item)
		}
		e.mu.Unlock()
	}
}

func fileProof(path string, c protocol.Challenge) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("open the container to check a proof: %w", err)
	}
	defer f.Close()
	return protocol.ProofHash(c.Nonce, f, c.Offset, c.Length)
}

// judge takes what receiver reports (bytes per source box, pieces per item, pieces failing
// verification per source) about the sources the plan named for its fetches, and demotes
// those that sent nothing (scheduler.Demotions) or sent bad pieces since the plan named them
// (scheduler.BadDeliveries); it returns them. A source the plan did not name for the receiver's
// fetch of the item is never demoted on the receiver's word.
func (e *evidence) judge(receiver media.BoxID, req protocol.SyncRequest, now time.Time) []scheduler.Delivery {
	fromBox, pieces := reported(req)
	bad := reportedBad(req)
	e.mu.Lock()
	defer e.mu.Unlock()
	var ds []scheduler.Delivery
	for k, n := range e.named {
		if k.receiver != receiver {
			continue
		}
		ds = append(ds, scheduler.Delivery{Source: k.source, Receiver: receiver, Item: k.item, Since: n.since,
			BytesBefore: n.bytesBefore, Bytes: fromBox[k.source], Progressed: pieces[k.item] > n.piecesBefore,
			BadBefore: n.badBefore, Bad: bad[boxItem{k.source, k.item}]})
	}
	out := scheduler.BadDeliveries(ds)
	for _, d := range scheduler.Demotions(ds, now, e.after) {
		if d.Bad <= d.BadBefore { // not already among the bad
			out = append(out, d)
		}
	}
	for _, d := range out {
		k := boxItem{d.Source, d.Item}
		e.demoted[k] = now.Add(e.demoteFor)
		delete(e.proven, k)
		delete(e.named, delivKey{receiver, d.Source, d.Item})
	}
	return out
}

// record notes the sources the plan names now for receiver's fetches: new ones start their
// clock, dropped ones are forgotten.
func (e *evidence) record(receiver media.BoxID, req protocol.SyncRequest, bp scheduler.BoxPlan, now time.Time) {
	fromBox, pieces := reported(req)
	bad := reportedBad(req)
	e.mu.Lock()
	defer e.mu.Unlock()
	keep := map[delivKey]bool{}
	for _, f := range bp.Fetches {
		if len(f.Sources) > 0 {
			e.peerFed[boxItem{receiver, f.Item}] = true
		}
		for _, s := range f.Sources {
			k := delivKey{receiver, s.Box, f.Item}
			keep[k] = true
			if _, ok := e.named[k]; !ok {
				e.named[k] = named{since: now, bytesBefore: fromBox[s.Box], piecesBefore: pieces[f.Item],
					badBefore: bad[boxItem{s.Box, f.Item}]}
			}
		}
	}
	for k := range e.named {
		if k.receiver == receiver && !keep[k] {
			delete(e.named, k)
		}
	}
}

func reported(req protocol.SyncRequest) (fromBox map[media.BoxID]int64, pieces map[media.ItemID]int) {
	fromBox, pieces = map[media.BoxID]int64{}, map[media.ItemID]int{}
	for _, r := range req.PeerRates {
		fromBox[r.Box] = max(fromBox[r.Box], r.Bytes)
	}
	for _, h := range req.Holdings {
		pieces[h.Item] = max(pieces[h.Item], h.Pieces)
	}
	return fromBox, pieces
}

// reportedBad is the receiver's count of pieces that failed verification per source and item.
func reportedBad(req protocol.SyncRequest) map[boxItem]int64 {
	out := map[boxItem]int64{}
	for _, t := range req.Transfers {
		for _, b := range t.BadSources {
			k := boxItem{b.Box, t.Item}
			out[k] = max(out[k], b.Pieces)
		}
	}
	return out
}

// rawBox is a box as it last synced, before the evidence was applied, with the bytes it
// reported from peers per item: a demoted source is re-planned from it.
type rawBox struct {
	box  scheduler.Box
	peer map[media.ItemID]int64
}

// weigh checks box's answers to its challenges, demotes the sources its report shows silent
// (re-planning each without the item at once, so this very sync names another source or the
// server), and cuts sb's holdings to what the evidence supports. It returns the whole claims
// to challenge. rp.mu must be held.
func (s *Server) weigh(rp *regionPlan, sb *scheduler.Box, req protocol.SyncRequest, now time.Time) ([]media.ItemID, error) {
	e := s.evidence
	e.checkProofs(sb.ID, req.Proofs, s.cfg.Repo.Path, now, s.cfg.Log)
	peer := map[media.ItemID]int64{}
	for _, t := range req.Transfers {
		peer[t.Item] = max(peer[t.Item], t.BytesFromPeers)
	}
	raw := rawBox{box: *sb, peer: peer}
	raw.box.Holdings = maps.Clone(sb.Holdings)
	e.mu.Lock()
	e.raw[sb.ID] = raw
	e.mu.Unlock()
	for _, d := range e.judge(sb.ID, req, now) {
		if d.Bad > d.BadBefore {
			s.cfg.Log.Warn("source demoted: pieces it sent a receiver failed verification",
				"source", d.Source, "receiver", d.Receiver, "item", d.Item, "bad_pieces", d.Bad-d.BadBefore)
		} else {
			s.cfg.Log.Warn("source demoted: a receiver got nothing from it since the plan named it",
				"source", d.Source, "receiver", d.Receiver, "item", d.Item, "named_at", d.Since)
		}
		e.mu.Lock()
		src, ok := e.raw[d.Source]
		e.mu.Unlock()
		if !ok || d.Source == sb.ID {
			continue
		}
		src.box.Holdings = maps.Clone(src.box.Holdings)
		e.trust(&src.box, rp.items, src.peer, now, nil)
		if _, err := rp.state.Update(src.box, now); err != nil {
			return nil, fmt.Errorf("re-plan demoted source %s: %w", d.Source, err)
		}
	}
	return e.trust(sb, rp.items, peer, now, s.cfg.Log), nil
}

// roundEvidence reads what the store knows of the transfers for a full round: the web seed's
// counts raise the served bytes, and it returns the bytes each box reported from peers.
func (s *Server) roundEvidence(ctx context.Context) (map[media.BoxID]map[media.ItemID]int64, error) {
	ts, err := s.cfg.Store.Transfers(ctx)
	if err != nil {
		return nil, fmt.Errorf("read transfers for the evidence of holdings: %w", err)
	}
	out := map[media.BoxID]map[media.ItemID]int64{}
	for _, t := range ts {
		s.evidence.setServed(t.Box, t.Item, t.ServerCounted)
		if out[t.Box] == nil {
			out[t.Box] = map[media.ItemID]int64{}
		}
		out[t.Box][t.Item] = t.BytesFromPeers
	}
	return out, nil
}
