package transfer

import (
	"context"
	"crypto/sha1"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/anacrolix/torrent"
	"github.com/anacrolix/torrent/metainfo"

	"swarmbox/media"
	"swarmbox/sync/protocol"
)

// A ranged grant (Fetch.WebSeedPieces) splits the server's one copy of a title into a region
// among the boxes that want it: each box takes its ranges from the server and the rest from the
// others, so new data enters the swarm at the server's rate and every box has something unique
// to upload. The head-end refuses bytes outside a box's ranges, and the library's web seed
// picks pieces itself and is suspended for a minute on a refusal, so a ranged grant is served
// by the box's own fetcher instead: one goroutine per item that requests the granted pieces by
// byte range, checks each against the torrent's hash before it touches the disk, writes it into
// the torrent's storage and has the client verify it, which marks it complete, persists that
// and announces it to peers.
//
// While the fetcher owns its ranges the client does not ask peers for them (their priority is
// none; peers rarely have them, the ranges being disjoint per box), except a piece a Stream is
// reading: reader priorities still apply, and the fetcher takes such pieces first, so playback
// gets each piece from whichever source is faster. Once the server fails (an error status, a
// short body, wrong bytes) the ranges are released to peers too and both paths race, the fetcher
// retrying after a growing pause and skipping what peers delivered meanwhile.

// serverFetch is one item's fetcher under a ranged grant.
type serverFetch struct {
	url string
	// ranges is the grant (see normalizeRanges; never empty); the fetcher takes only those of
	// its pieces the box wants (see wantedRange), looking again before every request.
	ranges []protocol.PieceRange
	cancel context.CancelFunc
	done   chan struct{} // closed when the goroutine has returned
	// released: the server failed once, and peers may be asked for the ranges too (e.mu).
	released bool
}

const (
	// serverBatchBytes bounds one request: several consecutive pieces per request save round
	// trips, while a bounded batch lets pieces a Stream needs jump the queue soon.
	serverBatchBytes = 4 << 20
	// serverReadChunk is what is read (and charged to the download cap) at a time: never more
	// than the limiter's burst, which setLimit keeps at 16 KiB or more.
	serverReadChunk = 16 << 10
	// serverIdle is how long a request may wait for its headers or for more body bytes before
	// it is given up as stalled.
	serverIdle = 30 * time.Second
	// serverRetryMin and serverRetryMax bound the pause after a failed request.
	serverRetryMin, serverRetryMax = 2 * time.Second, time.Minute
	// serverPoll is how often the fetcher looks again when its remaining pieces are all being
	// verified (by the client's initial check, or because a peer delivered them).
	serverPoll = 500 * time.Millisecond
)

// normalizeRanges clips ranges to [0, n), drops empty ones and duplicates, and sorts them. It
// does not merge adjacent or overlapping ranges: the head-end checks that a request lies within
// one of the ranges it granted, so a request never crosses a range's edge.
func normalizeRanges(ranges []protocol.PieceRange, n int) []protocol.PieceRange {
	var out []protocol.PieceRange
	for _, r := range ranges {
		r.Begin, r.End = max(r.Begin, 0), min(r.End, n)
		if r.Begin < r.End {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b protocol.PieceRange) int {
		if a.Begin != b.Begin {
			return a.Begin - b.Begin
		}
		return a.End - b.End
	})
	return slices.Compact(out)
}

// serveRanges makes the server fetcher of item take exactly ranges from url (those the box
// wants): a fetcher already running with the same grant is left alone, one with another grant
// is replaced.
func (e *Engine) serveRanges(item media.ItemID, t *torrent.Torrent, url string, ranges []protocol.PieceRange) {
	e.ctl.Lock()
	defer e.ctl.Unlock()
	e.mu.Lock()
	old := e.fetchers[item]
	released := false
	if old != nil && old.url == url && slices.Equal(old.ranges, ranges) {
		select {
		case <-old.done: // it ended with every wanted piece complete; look again
		default:
			e.mu.Unlock()
			return
		}
		released = old.released
	}
	delete(e.fetchers, item)
	e.mu.Unlock()
	if old != nil {
		// Wait, so that two fetchers never write one item and the old one's last piece is
		// counted before the new one starts.
		old.cancel()
		<-old.done
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.startServer(item, t, url, ranges, released)
}

// resumeServer starts item's server fetcher again, on the same grant, if it has ended: it
// ended with the pieces then wanted, and more may be wanted now.
func (e *Engine) resumeServer(item media.ItemID, t *torrent.Torrent) {
	e.ctl.Lock()
	defer e.ctl.Unlock()
	e.mu.Lock()
	defer e.mu.Unlock()
	old := e.fetchers[item]
	if old == nil {
		return
	}
	select {
	case <-old.done:
		e.startServer(item, t, old.url, old.ranges, old.released)
	default:
	}
}

// startServer starts a fetcher of ranges from url for item. e.ctl and e.mu must be held, and
// no fetcher of item be running.
func (e *Engine) startServer(item media.ItemID, t *torrent.Torrent, url string, ranges []protocol.PieceRange, released bool) {
	if e.closed {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	sf := &serverFetch{url: url, ranges: ranges, cancel: cancel, done: make(chan struct{}), released: released}
	e.fetchers[item] = sf
	e.wg.Add(1)
	go e.runServerFetch(ctx, item, t, sf)
}

// stopServer stops item's server fetcher and waits for it; it reports whether there was one.
func (e *Engine) stopServer(item media.ItemID) bool {
	e.ctl.Lock()
	defer e.ctl.Unlock()
	e.mu.Lock()
	sf := e.fetchers[item]
	delete(e.fetchers, item)
	e.mu.Unlock()
	if sf == nil {
		return false
	}
	sf.cancel()
	<-sf.done
	return true
}

// setPriorities asks the client for the wanted pieces of t (see wantedRange) except those
// item's server fetcher owns (see the top of this file), and for no other. Fetch calls it on
// every plan, in place of Torrent.DownloadAll.
func (e *Engine) setPriorities(item media.ItemID, t *torrent.Torrent) {
	// e.prio orders this against a fetcher releasing its ranges.
	e.prio.Lock()
	defer e.prio.Unlock()
	e.applyPriorities(item, t)
}

// applyPriorities is setPriorities with e.prio held. Each run of pieces gets one call, the
// one it needs, so a piece that stays wanted is never cancelled on the way; client calls are
// made without e.mu, which the client's callbacks take under the client's lock.
func (e *Engine) applyPriorities(item media.ItemID, t *torrent.Torrent) {
	n := t.NumPieces()
	e.mu.Lock()
	want := e.wantedRange(item, n)
	var owned []protocol.PieceRange
	if sf := e.fetchers[item]; sf != nil && !sf.released {
		owned = sf.ranges
	}
	e.mu.Unlock()
	get := make([]bool, n)
	for i := want.Begin; i < want.End; i++ {
		get[i] = true
	}
	for _, r := range owned { // normalized: within [0, n)
		for i := r.Begin; i < r.End; i++ {
			get[i] = false
		}
	}
	for i := 0; i < n; {
		j := i + 1
		for j < n && get[j] == get[i] {
			j++
		}
		if get[i] {
			t.DownloadPieces(i, j)
		} else {
			t.CancelPieces(i, j)
		}
		i = j
	}
}

// release lets peers be asked for sf's ranges too (those wanted), once the server has failed.
func (e *Engine) release(item media.ItemID, t *torrent.Torrent, sf *serverFetch) {
	e.prio.Lock()
	defer e.prio.Unlock()
	e.mu.Lock()
	stale := sf.released || e.fetchers[item] != sf // a replaced fetcher's ranges are not its own
	sf.released = true
	e.mu.Unlock()
	if stale {
		return
	}
	e.applyPriorities(item, t)
}

// runServerFetch is the fetcher's goroutine: it takes sf's pieces that are not complete, urgent
// ones (a Stream reads them) first and the rest in piece order, until all are complete or ctx
// ends.
func (e *Engine) runServerFetch(ctx context.Context, item media.ItemID, t *torrent.Torrent, sf *serverFetch) {
	defer e.wg.Done()
	defer close(sf.done)
	// granted[i]: piece i is the fetcher's; edge[i]: a range begins or ends at piece i.
	granted, edge := make([]bool, t.NumPieces()+1), make([]bool, t.NumPieces()+1)
	for _, r := range sf.ranges {
		for i := r.Begin; i < r.End; i++ {
			granted[i] = true
		}
		edge[r.Begin], edge[r.End] = true, true
	}
	var buf []byte
	var pause time.Duration
	for ctx.Err() == nil {
		// Only the granted pieces the box wants (a range placement's), as wanted now.
		e.mu.Lock()
		want := e.wantedRange(item, t.NumPieces())
		e.mu.Unlock()
		first, n, left := nextServerPieces(t, granted, edge, want)
		if left == 0 {
			return
		}
		if n == 0 {
			sleep(ctx, serverPoll)
			continue
		}
		piece, err := e.fetchPieces(ctx, item, t, sf.url, first, n, &buf)
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			pause = 0
			continue
		}
		pause = min(max(2*pause, serverRetryMin), serverRetryMax)
		e.log.Warn("server did not deliver a granted piece; peers may deliver it, retrying later",
			"item", item, "piece", piece, "url", sf.url, "err", err, "retry_in", pause)
		e.release(item, t, sf)
		sleep(ctx, pause)
	}
}

// nextServerPieces picks the next request among the granted pieces in want: n consecutive
// pieces from first that are neither complete nor being verified, within one granted range (no
// edge after first), at most serverBatchBytes of them (at least one). left counts the granted
// pieces in want not complete; n is 0 when all of those are being verified.
func nextServerPieces(t *torrent.Torrent, granted, edge []bool, want protocol.PieceRange) (first, n, left int) {
	wanted := make([]bool, len(granted))
	first, urgent := -1, -1
	i := 0
	for _, run := range t.PieceStateRuns() {
		for range run.Length {
			if i < len(granted) && granted[i] && want.Contains(i) && !run.Complete {
				left++
				if !run.Hashing && !run.QueuedForHash && !run.Marking {
					wanted[i] = true
					if first < 0 {
						first = i
					}
					// Only a reader raises a piece the fetcher owns above normal.
					if urgent < 0 && run.Priority > torrent.PiecePriorityNormal {
						urgent = i
					}
				}
			}
			i++
		}
	}
	if urgent >= 0 {
		first = urgent
	}
	if first < 0 {
		return 0, 0, left
	}
	info := t.Info()
	var size int64
	for j := first; j < len(wanted) && wanted[j] && (n == 0 || !edge[j] && size+info.Piece(j).Length() <= serverBatchBytes); j++ {
		size += info.Piece(j).Length()
		n++
	}
	return first, n, left
}

// fetchPieces requests pieces [first, first+n) from url in one byte range and delivers each
// that is still missing. On failure it returns the piece it failed at.
func (e *Engine) fetchPieces(ctx context.Context, item media.ItemID, t *torrent.Torrent, url string, first, n int, buf *[]byte) (int, error) {
	info := t.Info()
	last := info.Piece(first + n - 1)
	begin, end := info.Piece(first).Offset(), last.Offset()+last.Length()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// A stalled server must not hold the fetcher: the request ends when no headers or body
	// bytes came for serverIdle (time spent waiting on the download cap does not count).
	idle := time.AfterFunc(serverIdle, cancel)
	defer idle.Stop()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return first, err
	}
	req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", begin, end-1))
	resp, err := e.http.Do(req)
	if err != nil {
		return first, err
	}
	defer resp.Body.Close()
	idle.Stop()
	if resp.StatusCode != http.StatusPartialContent {
		return first, fmt.Errorf("server answered %s to bytes %d-%d", resp.Status, begin, end-1)
	}
	if got, ok := contentRangeStart(resp.Header.Get("Content-Range")); !ok || got != begin {
		return first, fmt.Errorf("server sent Content-Range %q for bytes %d-%d", resp.Header.Get("Content-Range"), begin, end-1)
	}
	body := idleReader{r: resp.Body, timer: idle}
	for i := first; i < first+n; i++ {
		p := info.Piece(i)
		size := int(p.Length())
		if cap(*buf) < size {
			*buf = make([]byte, size)
		}
		b := (*buf)[:size]
		if err := e.readCapped(ctx, body, b); err != nil {
			return i, fmt.Errorf("reading the body: %w", err)
		}
		// Check before writing: wrong bytes never reach the disk, where they could spoil
		// chunks a peer wrote into the same piece and get that peer banned. (Boxes carry v1
		// torrents; without a v1 hash the client's verification below is the only check.)
		if h := p.V1Hash(); h.Ok && sha1.Sum(b) != h.Value {
			e.countServerFailure(item, t)
			return i, errors.New("piece does not match the torrent's hash")
		}
		if t.PieceState(i).Complete {
			continue // a peer delivered it meanwhile
		}
		if e.isPaused(item) {
			return i, errors.New("the disk is full: verified pieces wait to be recorded, so nothing more is fetched")
		}
		if _, err := t.Piece(i).Storage().WriteAt(b, 0); err != nil {
			return i, fmt.Errorf("writing the piece: %w", err)
		}
		// Tallied for the piece's record, which carries the bytes with it (record.go).
		e.rec.add(metainfo.PieceKey{InfoHash: t.InfoHash(), Index: i}, true, int64(size))
		// Counted before the client marks the piece complete, so that nobody sees an item
		// complete without its last server bytes; taken back if it does not complete.
		e.countServerBytes(item, t, int64(size))
		complete, err := verifyPiece(ctx, t, i)
		if err != nil || !complete {
			e.countServerBytes(item, t, -int64(size))
		}
		if err != nil {
			return i, err
		}
		if !complete {
			e.countServerFailure(item, t)
			return i, errors.New("piece failed the client's verification after it was written")
		}
	}
	return first + n, nil
}

// readCapped fills b from r, charging every read to the engine's download cap.
func (e *Engine) readCapped(ctx context.Context, r io.Reader, b []byte) error {
	for off := 0; off < len(b); {
		m, err := io.ReadFull(r, b[off:min(off+serverReadChunk, len(b))])
		if m > 0 {
			if werr := e.down.WaitN(ctx, m); werr != nil {
				return werr
			}
		}
		off += m
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF // a body shorter than the range
			}
			return err
		}
	}
	return nil
}

// verifyPiece has the client hash piece i from storage and says whether it is now complete.
func verifyPiece(ctx context.Context, t *torrent.Torrent, i int) (bool, error) {
	if err := t.Piece(i).VerifyDataContext(ctx); err != nil {
		return false, err
	}
	// The client counts the verification done before it has recorded the outcome.
	for {
		ps := t.PieceState(i)
		if !ps.Marking && !ps.Hashing && !ps.QueuedForHash {
			return ps.Complete, nil
		}
		if !sleep(ctx, 10*time.Millisecond) {
			return false, ctx.Err()
		}
	}
}

// countServerBytes adds n bytes the server fetcher delivered to item's figures, unless the item
// was dropped meanwhile.
func (e *Engine) countServerBytes(item media.ItemID, t *torrent.Torrent, n int64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.torrents[item] == t {
		e.fromServer[item] += n
	}
}

// countServerFailure counts a piece from the server that failed verification.
func (e *Engine) countServerFailure(item media.ItemID, t *torrent.Torrent) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.torrents[item] == t {
		e.serverBad[item]++
	}
}

// contentRangeStart parses the first byte of a "bytes a-b/size" Content-Range.
func contentRangeStart(h string) (int64, bool) {
	rest, ok := strings.CutPrefix(h, "bytes ")
	if !ok {
		return 0, false
	}
	a, _, ok := strings.Cut(rest, "-")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(a, 10, 64)
	return n, err == nil
}

// idleReader arms timer (which cancels the request) only while a Read waits.
type idleReader struct {
	r     io.Reader
	timer *time.Timer
}

func (r idleReader) Read(p []byte) (int, error) {
	r.timer.Reset(serverIdle)
	defer r.timer.Stop()
	return r.r.Read(p)
}

// sleep waits d or until ctx ends; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
