package transfer

import (
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/anacrolix/torrent"

	"swarmbox/media"
)

// Stream reads an item's container while it downloads: reads wait for verified pieces, and the
// pieces from the read position onwards are fetched first, in order, so playback can start
// before the download ends.
type Stream struct {
	mu     sync.Mutex
	r      torrent.Reader
	size   int64
	cancel context.CancelFunc
}

// streamReadahead is how far ahead of the play position pieces are fetched urgently.
const streamReadahead = 8 << 20

// Stream opens item, which must have been added (Fetch or Seed), for reading while it downloads.
func (e *Engine) Stream(item media.ItemID) (*Stream, error) {
	e.mu.Lock()
	t := e.torrents[item]
	e.mu.Unlock()
	if t == nil {
		return nil, fmt.Errorf("%s is not being transferred", item)
	}
	<-t.GotInfo()
	ctx, cancel := context.WithCancel(context.Background())
	r := t.NewReader()
	r.SetContext(ctx)
	r.SetReadahead(streamReadahead)
	return &Stream{r: r, size: t.Length(), cancel: cancel}, nil
}

// Size is the container's size in bytes.
func (s *Stream) Size() int64 { return s.size }

// ReadAt reads at off, waiting until the pieces it needs are verified.
func (s *Stream) ReadAt(p []byte, off int64) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.r.Seek(off, io.SeekStart); err != nil {
		return 0, err
	}
	n, err := io.ReadFull(s.r, p)
	if err == io.ErrUnexpectedEOF {
		err = io.EOF
	}
	return n, err
}

// Close ends the stream; reads waiting for pieces return.
func (s *Stream) Close() error {
	s.cancel()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.r.Close()
}
