package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"swarmbox/media"
)

// RequestedLicense returns the license stored for the box's request id with the title it is
// for, so that a renewal retried with its request id gets the same license back, and a request
// id reused for another title is told apart.
func (t *SaleTx) RequestedLicense(ctx context.Context, box media.BoxID, requestID string) (media.ItemID, IssuedLicense, bool, error) {
	var lic IssuedLicense
	var item string
	var exp int64
	err := t.t.QueryRowContext(ctx, `SELECT id, item, expires, envelope FROM licenses WHERE box = ? AND request_id = ?`,
		box.String(), requestID).Scan(&lic.ID, &item, &exp, &lic.Envelope)
	if errors.Is(err, sql.ErrNoRows) {
		return media.ItemID{}, IssuedLicense{}, false, nil
	}
	if err != nil {
		return media.ItemID{}, IssuedLicense{}, false, err
	}
	id, err := media.ParseItemID(item)
	if err != nil {
		return media.ItemID{}, IssuedLicense{}, false, err
	}
	lic.Expires = time.UnixMilli(exp).UTC()
	return id, lic, true, nil
}
