package sales

import (
	"context"
	"errors"
	"fmt"

	"swarmbox/cloud/store"
	"swarmbox/media"
)

// WhyStillValid is Outcome.Why for a rental the box asked for while it still holds a valid
// rental of the title: the held license comes back and nothing is charged (BUY-3).
const WhyStillValid = "still_valid"

// ErrRequestIDReused is a request id the box used before for another title or kind. The box
// must use a new request id for each new purchase; the earlier purchase stands.
var ErrRequestIDReused = errors.New("request_id was used before for another purchase")

// earlier finds the license an order already has, so that one household action is charged once
// however often it arrives (BUY-3): the license bought under the order's request id (WhyRetry;
// ErrRequestIDReused when that request was for another item or kind), or for a rental, the
// box's rental of the item that is still valid at the order's time (WhyStillValid). It returns
// why "" when the order is a new purchase. It runs inside the sale's transaction, after
// BoxAccount has locked the household's rows.
func earlier(ctx context.Context, tx Tx, o Order, item media.ItemID) (store.IssuedLicense, string, error) {
	lic, ok, err := tx.LicenseByRequest(ctx, o.Box.ID, o.RequestID)
	if err != nil {
		return store.IssuedLicense{}, "", err
	}
	if ok {
		if lic.Item != item || lic.Kind != o.Kind {
			return store.IssuedLicense{}, "", fmt.Errorf("%w: request %q bought %s of item %s, not %s of item %s: send a new request id",
				ErrRequestIDReused, o.RequestID, lic.Kind, lic.Item, o.Kind, item)
		}
		return lic, WhyRetry, nil
	}
	if o.Kind != media.Rental {
		return store.IssuedLicense{}, "", nil
	}
	lic, ok, err = tx.ValidLicense(ctx, o.Box.ID, item, media.Rental, o.Now)
	if err != nil || !ok {
		return store.IssuedLicense{}, "", err
	}
	return lic, WhyStillValid, nil
}

// saleLanes is how many lanes queue sales in one process: sales of one box always take the same
// lane, so a burst of presses from one box waits here, cheaply and in order, instead of each
// holding a database connection while it waits for the household's row locks (PostgreSQL) or
// the write lock (SQLite, whose busy timeout would fail the last of a long queue). Sales of
// other boxes share a lane only by chance. The database's locks still keep sales right across
// several head-end instances.
const saleLanes = 64

// lane waits for the box's lane and returns the function that frees it, or ctx's error.
func (s *Seller) lane(ctx context.Context, box media.BoxID) (func(), error) {
	s.lanesOnce.Do(func() {
		for i := range s.lanes {
			s.lanes[i] = make(chan struct{}, 1)
		}
	})
	l := s.lanes[(uint(box[0])<<8|uint(box[1]))%saleLanes]
	select {
	case l <- struct{}{}:
		return func() { <-l }, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for the box's earlier purchases: %w", ctx.Err())
	}
}
