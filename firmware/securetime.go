package firmware

import (
	"context"
	"crypto/ed25519"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"swarmbox/media"
	"swarmbox/storage"
	"swarmbox/sync/protocol"
)

// secureClock is the box's "now" for licences (LIC-5): the wall clock, but never earlier than
// the latest time the head-end vouched for (the signed time in its answers, kept in box.db)
// advanced by the time this process has run since it heard it (the monotonic clock, which
// setting the wall clock does not move). So a clock set back neither revives an expired rental
// nor stretches a licence; a clock set forward only ends licences early.
type secureClock struct {
	wall  func() time.Time
	store *storage.Store
	log   *slog.Logger

	mu      sync.Mutex
	heard   time.Time // the latest time vouched for (or reached from one) in this process
	heardAt time.Time // time.Now() when heard was, for its monotonic reading
	box     media.BoxID
	key     ed25519.PublicKey // the head-end's, once registered
}

// Now is the secure time.
func (c *secureClock) Now() time.Time {
	now := c.wall()
	if f := c.floor(); now.Before(f) {
		return f
	}
	return now
}

// floor is the latest time the box knows has passed.
func (c *secureClock) floor() time.Time {
	f := c.store.TimeFloor()
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.heardAt.IsZero() {
		if g := c.heard.Add(time.Since(c.heardAt)); g.After(f) {
			f = g
		}
	}
	return f
}

// saveEvery is how far the floor moves on the monotonic clock before it is written down again;
// a vouched time that moves it by saveVouched is written at once.
const (
	saveEvery   = 10 * time.Minute
	saveVouched = time.Minute
)

// vouch raises the floor to t, a time the head-end vouched for (a signed answer or licence).
func (c *secureClock) vouch(ctx context.Context, t time.Time) {
	if !t.After(c.floor()) {
		return
	}
	c.mu.Lock()
	c.heard, c.heardAt = t, time.Now()
	c.mu.Unlock()
	if t.Sub(c.store.TimeFloor()) >= saveVouched {
		if err := c.store.RaiseTimeFloor(ctx, t); err != nil && c.log != nil {
			c.log.Warn("cannot keep the head-end's time", "err", err)
		}
	}
}

// save writes the floor down when the monotonic clock moved it by saveEvery, so that after a
// restart the box still knows how much time had passed.
func (c *secureClock) save(ctx context.Context) error {
	if f := c.floor(); f.Sub(c.store.TimeFloor()) >= saveEvery {
		return c.store.RaiseTimeFloor(ctx, f)
	}
	return nil
}

// answer reads the time the head-end vouched for in its answer to req (cloudclient.OnAnswer).
// An answer without one (an older head-end) is ignored; one whose signature does not verify is
// logged and ignored.
func (c *secureClock) answer(req *http.Request, h http.Header) {
	c.mu.Lock()
	box, key := c.box, c.key
	c.mu.Unlock()
	if key == nil {
		id, err := c.store.Identity(req.Context())
		if err != nil || id.HeadendKey == nil {
			return // not registered yet: nothing to check the signature with
		}
		box, key = id.Box, id.HeadendKey
		c.mu.Lock()
		c.box, c.key = box, key
		c.mu.Unlock()
	}
	t, err := protocol.VouchedTime(h, req, box, key)
	switch {
	case errors.Is(err, protocol.ErrNoTime):
		return
	case err != nil:
		if c.log != nil {
			c.log.Warn("the head-end's time in an answer does not verify; ignored", "err", err)
		}
		return
	}
	c.vouch(req.Context(), t)
}
