package firmware

import (
	"context"
	"sync"

	"swarmbox/firmware/boxbus"
	"swarmbox/media"
	"swarmbox/sync/protocol"
)

// ChangeKind says which part of the box's state a Change is about.
type ChangeKind int

// The kinds of change the API announces.
const (
	ItemChanged       ChangeKind = iota + 1 // Change.Item: an item's state or progress
	WishlistChanged                         // Change.Wishlist: the new list, most wanted first
	NowPlayingChanged                       // Change.NowPlaying: the item playing, "" for none
	AccountChanged                          // Change.Account: the account as of the last sync
	CatalogChanged                          // Change.CatalogVersion: the replica's new version
	LinkChanged                             // Change.Link: the box reached or lost its head-end
	PairingChanged                          // Change.Pairing, Change.PairedAccount: paired, unpaired or a new code
)

// Change is one change of the box's state, as the API announces it.
type Change struct {
	Kind           ChangeKind
	Item           boxbus.Change
	Wishlist       []media.ItemID
	NowPlaying     string
	Account        protocol.AccountInfo
	CatalogVersion int64
	Link           boxbus.Link
	Pairing        boxbus.Pairing
	PairedAccount  string // the household when paired, "" when not
}

// subscriberBuffer is how many changes a subscriber may fall behind before it is cut off.
const subscriberBuffer = 256

// hub hands every change to every subscriber without ever waiting for one.
type hub struct {
	mu   sync.Mutex
	subs map[chan Change]struct{}
}

// Subscribe delivers every change of the box's state from now until ctx ends; the channel is
// closed then. A subscriber that falls more than a few hundred changes behind is cut off (its
// channel closed) rather than slow the box down: it should reread the state it shows and
// subscribe again.
func (a *API) Subscribe(ctx context.Context) <-chan Change {
	ch := make(chan Change, subscriberBuffer)
	h := &a.hub
	h.mu.Lock()
	if h.subs == nil {
		h.subs = map[chan Change]struct{}{}
	}
	h.subs[ch] = struct{}{}
	h.mu.Unlock()
	go func() {
		<-ctx.Done()
		h.drop(ch)
	}()
	return ch
}

// drop closes a subscriber's channel once.
func (h *hub) drop(ch chan Change) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.subs[ch]; ok {
		delete(h.subs, ch)
		close(ch)
	}
}

// publish never blocks: a subscriber whose buffer is full loses its subscription.
func (h *hub) publish(c Change) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.subs {
		select {
		case ch <- c:
		default:
			delete(h.subs, ch)
			close(ch)
		}
	}
}
