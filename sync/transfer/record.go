package transfer

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/anacrolix/torrent"
	"github.com/anacrolix/torrent/metainfo"
	tstorage "github.com/anacrolix/torrent/storage"

	"swarmbox/media"
)

// PieceBytesRecord is a PieceRecord that also keeps what the box received: it records a piece
// verified together with the bytes that brought it, from the server and from peers, in one
// transaction (storage.Store.RecordPiece), so that after a kill -9 the box's transfer figures
// are exactly those of the pieces it holds.
type PieceBytesRecord interface {
	RecordPiece(ctx context.Context, infoHash string, index int, fromServer, fromPeers int64) error
}

// received is what arrived for one piece: useful bytes from the server and from peers.
type received struct{ server, peers int64 }

// capped scales c down to a piece of length bytes: chunks whose write failed (a full disk) were
// counted when they arrived and then fetched again, but the piece is length bytes.
func (c received) capped(length int64) received {
	if total := c.server + c.peers; total > length && length >= 0 {
		c.server = c.server * length / total
		c.peers = length - c.server
	}
	return c
}

// recorder stands between the torrent client and the piece record. It tallies the bytes each
// piece took until the piece verifies, then records both at once. A piece whose record fails
// (a full disk: "database or disk is full") is not verified to anyone: Completion says so, the
// client is told to look again, the item's download is paused, and the record is retried until
// it succeeds; the piece's data stays on the disk, so it is never fetched again.
type recorder struct {
	completion tstorage.PieceCompletion

	mu      sync.Mutex
	tally   map[metainfo.PieceKey]received // bytes of pieces not yet verified
	pending map[metainfo.PieceKey]received // verified and on the disk, but not recorded
	lastErr error                          // why the last record failed; nil once all are recorded
	// failed is called (without mu) when a piece's record fails.
	failed func(k metainfo.PieceKey, err error)
}

func newRecorder(c tstorage.PieceCompletion) *recorder {
	return &recorder{completion: c, tally: map[metainfo.PieceKey]received{}, pending: map[metainfo.PieceKey]received{}}
}

// add counts n useful bytes received for piece k.
func (r *recorder) add(k metainfo.PieceKey, fromServer bool, n int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.tally[k]
	if fromServer {
		c.server += n
	} else {
		c.peers += n
	}
	r.tally[k] = c
}

// forget drops what piece k received: it failed verification, or its item left the engine.
func (r *recorder) forget(k metainfo.PieceKey) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.tally, k)
	delete(r.pending, k)
}

// forgetTorrent drops everything of the torrent ih.
func (r *recorder) forgetTorrent(ih metainfo.Hash) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for k := range r.tally {
		if k.InfoHash == ih {
			delete(r.tally, k)
		}
	}
	for k := range r.pending {
		if k.InfoHash == ih {
			delete(r.pending, k)
		}
	}
}

// write records piece k verified with the bytes c, through PieceBytesRecord when the record
// keeps bytes.
func (r *recorder) write(k metainfo.PieceKey, c received) error {
	if br, ok := r.completion.(interface{ bytesRecord() PieceBytesRecord }); ok && br.bytesRecord() != nil {
		return br.bytesRecord().RecordPiece(context.Background(), k.InfoHash.HexString(), k.Index, c.server, c.peers)
	}
	return r.completion.Set(k, true)
}

// complete records piece k (length bytes) verified, its data being on the disk. On failure the
// piece is kept pending and reported.
func (r *recorder) complete(k metainfo.PieceKey, length int64) error {
	r.mu.Lock()
	c := r.tally[k].capped(length)
	delete(r.tally, k)
	r.mu.Unlock()
	err := r.write(k, c)
	if err == nil {
		return nil
	}
	r.mu.Lock()
	r.pending[k] = c
	r.lastErr = err
	failed := r.failed
	r.mu.Unlock()
	if failed != nil {
		failed(k, err)
	}
	return fmt.Errorf("piece %d verified but not recorded, so it does not count yet: %w", k.Index, err)
}

// isPending says whether piece k verified but is not recorded.
func (r *recorder) isPending(k metainfo.PieceKey) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.pending[k]
	return ok
}

// unrecorded counts the torrent's pieces pending a record, and says why the last record failed.
func (r *recorder) unrecorded(ih metainfo.Hash) (n int, why error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for k := range r.pending {
		if k.InfoHash == ih {
			n++
		}
	}
	if n > 0 {
		why = r.lastErr
	}
	return n, why
}

// retry tries to record every pending piece once, and returns those recorded now.
func (r *recorder) retry() (done []metainfo.PieceKey) {
	r.mu.Lock()
	todo := make(map[metainfo.PieceKey]received, len(r.pending))
	for k, c := range r.pending {
		todo[k] = c
	}
	r.mu.Unlock()
	for k, c := range todo {
		err := r.write(k, c)
		r.mu.Lock()
		if err != nil {
			r.lastErr = err
			r.mu.Unlock()
			return done // the disk is still full: try again later
		}
		if _, still := r.pending[k]; still {
			delete(r.pending, k)
			done = append(done, k)
		}
		r.mu.Unlock()
	}
	return done
}

// recordRetry is how often the engine retries the records a full disk refused.
const recordRetry = 2 * time.Second

// unrecordedPiece is the recorder's report that piece k of a torrent verified but could not be
// recorded: the client's idea of it is corrected from the record (not verified), and the
// item's download pauses until the disk takes records again.
func (e *Engine) unrecordedPiece(k metainfo.PieceKey, err error) {
	t, ok := e.cl.Torrent(k.InfoHash)
	if !ok {
		return
	}
	e.mu.Lock()
	item, known := e.itemOf(t)
	first := known && !e.paused[item]
	if known {
		e.paused[item] = true
	}
	e.mu.Unlock()
	if first {
		e.log.Warn("disk full: a verified piece could not be recorded; this item's download pauses until space returns, and its pieces on the disk are kept",
			"item", item, "piece", k.Index, "err", err)
	}
	go func() {
		t.DisallowDataDownload()
		// The client marks the piece complete once MarkComplete returns, error or not; read the
		// record again after that, so it counts as not verified.
		for t.PieceState(k.Index).Marking {
			select {
			case <-e.stop:
				return
			case <-t.Closed():
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
		t.Piece(k.Index).UpdateCompletion()
		select {
		case e.kick <- struct{}{}:
		default:
		}
	}()
}

// itemOf finds t's item. e.mu must be held.
func (e *Engine) itemOf(t *torrent.Torrent) (id media.ItemID, ok bool) {
	for id, tt := range e.torrents {
		if tt == t {
			return id, true
		}
	}
	return id, false
}

// recordAgain retries the records a full disk refused, every recordRetry, and resumes an item's
// download once all its pieces are recorded: nothing verified is fetched again.
func (e *Engine) recordAgain() {
	tick := time.NewTicker(recordRetry)
	defer tick.Stop()
	for {
		select {
		case <-e.stop:
			return
		case <-tick.C:
		case <-e.kick:
		}
		e.retryWrites()
		done := e.rec.retry()
		touched := map[metainfo.Hash]int{}
		for _, k := range done {
			if t, ok := e.cl.Torrent(k.InfoHash); ok {
				t.Piece(k.Index).UpdateCompletion()
			}
			touched[k.InfoHash]++
		}
		for ih, n := range touched {
			if left, _ := e.rec.unrecorded(ih); left > 0 {
				continue
			}
			t, ok := e.cl.Torrent(ih)
			if !ok {
				continue
			}
			e.mu.Lock()
			item, known := e.itemOf(t)
			if known {
				delete(e.paused, item)
			}
			e.mu.Unlock()
			t.AllowDataDownload()
			e.log.Info("space returned: verified pieces recorded; the download resumes", "item", item, "pieces", n)
		}
	}
}

// isPaused says whether item's download waits for the disk to take records again.
func (e *Engine) isPaused(item media.ItemID) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.paused[item]
}

// writeFailed is the client's report that a received chunk could not be written into t's
// container (a full disk): the chunk is not counted and is requested again, but not before the
// retry loop's next turn, so a full disk does not spin.
func (e *Engine) writeFailed(t *torrent.Torrent, err error) {
	e.mu.Lock()
	item, known := e.itemOf(t)
	first := known && e.stalled[item] == nil
	if known {
		e.stalled[item] = err
	}
	e.mu.Unlock()
	if first {
		e.log.Warn("disk full: a received chunk could not be written; this item's download pauses and is retried", "item", item, "err", err)
	}
	t.DisallowDataDownload()
}

// retryWrites lets the items whose writes failed download again (unless records are pending):
// a write that fails again pauses them again.
func (e *Engine) retryWrites() {
	e.mu.Lock()
	var again []*torrent.Torrent
	for item := range e.stalled {
		if t := e.torrents[item]; t != nil && !e.paused[item] {
			again = append(again, t)
			delete(e.stalled, item)
		}
	}
	e.mu.Unlock()
	for _, t := range again {
		t.AllowDataDownload()
	}
}

// shownComplete counts t's pieces the client shows complete whose record is pending: for a
// moment after a failed record the client still counts them, and they must not count.
func (r *recorder) shownComplete(t *torrent.Torrent) int {
	ih := t.InfoHash()
	r.mu.Lock()
	var idx []int
	for k := range r.pending {
		if k.InfoHash == ih {
			idx = append(idx, k.Index)
		}
	}
	r.mu.Unlock()
	n := 0
	for _, i := range idx {
		if t.PieceState(i).Complete {
			n++
		}
	}
	return n
}
