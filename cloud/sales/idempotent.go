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
