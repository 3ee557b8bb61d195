package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"swarmbox/media"
)

// Purchases are idempotent per household action (requirement BUY-3): a retried request id
// returns the license it bought, and a rental of a title the box already holds a valid rental
// of returns that rental. Both checks read the licenses table inside the sale's transaction, so
// two sales of one household must not interleave between the check and the charge. On SQLite
// every write transaction begins IMMEDIATE and so runs alone; on PostgreSQL, whose transactions
// read committed rows only, BoxAccount locks the box's and the account's rows (FOR UPDATE) until
// the sale commits, so parallel sales of one household queue behind each other while other
// households' sales go on.

// forUpdate is the row-locking suffix of a SELECT inside a sale: FOR UPDATE on PostgreSQL,
// nothing on SQLite (which has no such clause and needs none).
func (d *db) forUpdate() string {
	if d.postgres {
		return " FOR UPDATE"
	}
	return ""
}

// ValidLicense returns the box's license of kind for item that is still valid at now (the one
// that lasts longest), if there is one.
func (t *SaleTx) ValidLicense(ctx context.Context, box media.BoxID, item media.ItemID, kind media.LicenseKind, now time.Time) (IssuedLicense, bool, error) {
	lic := IssuedLicense{Item: item, Kind: kind}
	var exp int64
	err := t.t.QueryRowContext(ctx, `SELECT id, expires, envelope FROM licenses WHERE box = ? AND item = ? AND kind = ? AND expires > ?
		ORDER BY expires DESC, id LIMIT 1`, box.String(), item.String(), string(kind), now.UnixMilli()).Scan(&lic.ID, &exp, &lic.Envelope)
	if errors.Is(err, sql.ErrNoRows) {
		return IssuedLicense{}, false, nil
	}
	if err != nil {
		return IssuedLicense{}, false, err
	}
	lic.Expires = time.UnixMilli(exp).UTC()
	return lic, true, nil
}
