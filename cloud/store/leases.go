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
	res, err := s.db.ExecContext(ctx, `INSERT INTO leases (name, holder, expires) VALUES (?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires = excluded.expires
		WHERE leases.holder = excluded.holder OR leases.expires <= ?`,
		name, holder, now.Add(ttl).UnixMilli(), now.UnixMilli())
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// ReleaseLease gives a lease up early, if holder holds it.
func (s *Store) ReleaseLease(ctx context.Context, name, holder string) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM leases WHERE name = ? AND holder = ?`, name, holder)
	return err
}
