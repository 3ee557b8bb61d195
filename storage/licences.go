package storage

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"swarmbox/media"
)

// StoredLicence is a licence envelope as the box keeps it.
type StoredLicence struct {
	Item     media.ItemID
	Envelope []byte
	Expires  time.Time
}

// Licences returns every stored licence, by item.
func (s *Store) Licences(ctx context.Context) ([]StoredLicence, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT item, envelope, expires FROM licenses ORDER BY item`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []StoredLicence
	for rows.Next() {
		var l StoredLicence
		var item string
		var exp int64
		if err := rows.Scan(&item, &l.Envelope, &exp); err != nil {
			return nil, err
		}
		if l.Item, err = media.ParseItemID(item); err != nil {
			return nil, err
		}
		l.Expires = time.UnixMilli(exp).UTC()
		out = append(out, l)
	}
	return out, rows.Err()
}

// RenewalRefusal is the head-end's answer when it last refused to renew an owned licence.
type RenewalRefusal struct {
	Code   string // the head-end's reason, e.g. account_inactive
	Detail string // its sentence
	At     time.Time
}

// SetRenewalRefused records that the head-end refused to renew item's licence.
func (s *Store) SetRenewalRefused(ctx context.Context, item media.ItemID, r RenewalRefusal) error {
	_, err := s.db.ExecContext(ctx, `INSERT OR REPLACE INTO renewal_refusals (item, code, detail, at) VALUES (?, ?, ?, ?)`,
		item.String(), r.Code, r.Detail, r.At.UnixMilli())
	return err
}

// ClearRenewalRefused forgets a refusal once a renewal succeeded.
func (s *Store) ClearRenewalRefused(ctx context.Context, item media.ItemID) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM renewal_refusals WHERE item = ?`, item.String())
	return err
}

// RenewalRefused returns the last refusal to renew item's licence, if one stands.
func (s *Store) RenewalRefused(ctx context.Context, item media.ItemID) (RenewalRefusal, bool, error) {
	var r RenewalRefusal
	var at int64
	err := s.db.QueryRowContext(ctx, `SELECT code, detail, at FROM renewal_refusals WHERE item = ?`, item.String()).Scan(&r.Code, &r.Detail, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return r, false, nil
	}
	if err != nil {
		return r, false, err
	}
	r.At = time.UnixMilli(at).UTC()
	return r, true, nil
}

// TimeFloor is the latest time the box knows has passed: the head-end vouched for it, or it
// followed from such a time and the time the box ran since (RaiseTimeFloor). Zero when none.
// The box never treats "now" as earlier, so a clock set back does not revive a licence.
func (s *Store) TimeFloor() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.floor
}

// RaiseTimeFloor moves the time floor up to t (never down) and keeps it on the disk.
func (s *Store) RaiseTimeFloor(ctx context.Context, t time.Time) error {
	s.mu.Lock()
	if !t.After(s.floor) {
		s.mu.Unlock()
		return nil
	}
	s.floor = t
	s.mu.Unlock()
	_, err := s.db.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES ('time_floor', ?)
		ON CONFLICT (key) DO UPDATE SET value = max(value, excluded.value)`, t.UnixMilli())
	return err
}

// loadTimeFloor reads the time floor at open.
func (s *Store) loadTimeFloor(ctx context.Context) error {
	var ms int64
	err := s.db.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'time_floor'`).Scan(&ms)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	s.floor = time.UnixMilli(ms).UTC()
	return nil
}
