package storage

import (
	"context"
	"time"
)

// Pairing is whether the box is paired to a household, as the head-end last said, and while it
// is not, the code the TV shows and where the household enters it.
type Pairing struct {
	Paired  bool
	Account string // the household, when Paired
	Code    string // XXXX-XXXX while unpaired ("" before the head-end gave one)
	URL     string // where to enter it
	Expires time.Time
}

// Pairing returns the box's pairing as last recorded. A box with an account is paired.
func (s *Store) Pairing(ctx context.Context) (Pairing, error) {
	var p Pairing
	var exp int64
	err := s.db.QueryRowContext(ctx, `SELECT account, pairing_code, pairing_url, pairing_expires FROM identity WHERE id = 1`).
		Scan(&p.Account, &p.Code, &p.URL, &exp)
	if err != nil {
		return p, err
	}
	p.Paired = p.Account != ""
	if exp != 0 {
		p.Expires = time.UnixMilli(exp).UTC()
	}
	return p, nil
}

// SetPairing records the box's pairing: the account when paired (the code is forgotten), the
// code to show when not.
func (s *Store) SetPairing(ctx context.Context, p Pairing) error {
	if p.Paired {
		p.Code, p.URL, p.Expires = "", "", time.Time{}
	} else {
		p.Account = ""
	}
	var exp int64
	if !p.Expires.IsZero() {
		exp = p.Expires.UnixMilli()
	}
	_, err := s.db.ExecContext(ctx, `UPDATE identity SET account = ?, pairing_code = ?, pairing_url = ?, pairing_expires = ? WHERE id = 1`,
		p.Account, p.Code, p.URL, exp)
	return err
}
