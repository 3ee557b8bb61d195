package store

import (
	"context"
	"time"
)

// TryLease takes or renews the named lease for holder until now+ttl and reports whether holder
// now holds it. Several head-end instances on one PostgreSQL database use it so that one
// instance at a time plans each region (lease "plan/REGION"), the others serving syncs from the
// latest plan; a crashed holder's lease runs out after ttl. It is a single upsert, atomic on
// both engines.
func (s *Store) TryLease(ctx context.Context, name, holder string, now time.Time, ttl time.Duration) (bool, error) {
	var held bool
	// Through the group writer: on SQLite a write of its own would make the sync writer wait
	// in SQLite's busy handler (sleeping milliseconds) every time the planning loop renews.
	err := s.grouped(ctx, "", func(ctx context.Context, tx *tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO leases (name, holder, expires) VALUES (?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires = excluded.expires
		WHERE leases.holder = excluded.holder OR leases.expires <= ?`,
			name, holder, now.Add(ttl).UnixMilli(), now.UnixMilli())
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		held = n == 1
		return err
	})
	return held, err
}

// ReleaseLease gives a lease up early, if holder holds it.
func (s *Store) ReleaseLease(ctx context.Context, name, holder string) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM leases WHERE name = ? AND holder = ?`, name, holder)
	return err
}
