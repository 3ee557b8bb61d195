package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"swarmbox/media"
)

// SetPassword stores the hash of a customer's password for signing in to the web catalog.
func (s *Store) SetPassword(ctx context.Context, account, hash string) error {
	if _, err := s.Account(ctx, account); err != nil {
		return err
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO customers (account, password_hash) VALUES (?, ?)
		ON CONFLICT (account) DO UPDATE SET password_hash = excluded.password_hash`, account, hash)
	return err
}

// PasswordHash returns a customer's password hash, or ErrNotFound.
func (s *Store) PasswordHash(ctx context.Context, account string) (string, error) {
	var h string
	err := s.db.QueryRowContext(ctx, `SELECT password_hash FROM customers WHERE account = ?`, account).Scan(&h)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("customer %q: %w", account, ErrNotFound)
	}
	return h, err
}

// Session is a signed-in browser.
type Session struct {
	Account string
	CSRF    string
	Expires time.Time
}

// CreateSession records a session under the hash of its token (the token itself is only in
// the browser's cookie).
func (s *Store) CreateSession(ctx context.Context, tokenHash string, sess Session) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO sessions (token_hash, account, csrf, expires) VALUES (?, ?, ?, ?)`,
		tokenHash, sess.Account, sess.CSRF, sess.Expires.UnixMilli())
	return err
}

// Session returns an unexpired session, or ErrNotFound.
func (s *Store) Session(ctx context.Context, tokenHash string, now time.Time) (Session, error) {
	var sess Session
	var exp int64
	err := s.db.QueryRowContext(ctx, `SELECT account, csrf, expires FROM sessions WHERE token_hash = ? AND expires > ?`,
		tokenHash, now.UnixMilli()).Scan(&sess.Account, &sess.CSRF, &exp)
	if errors.Is(err, sql.ErrNoRows) {
		return sess, fmt.Errorf("session: %w", ErrNotFound)
	}
	sess.Expires = time.UnixMilli(exp).UTC()
	return sess, err
}

// DeleteSession signs a browser out; expired sessions of anyone go too.
func (s *Store) DeleteSession(ctx context.Context, tokenHash string, now time.Time) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM sessions WHERE token_hash = ? OR expires <= ?`, tokenHash, now.UnixMilli())
	return err
}

// AccountBoxes returns the boxes registered under an account, each with its wishlist.
func (s *Store) AccountBoxes(ctx context.Context, account string) ([]BoxState, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id FROM boxes WHERE account = ? ORDER BY registered, id`, account)
	if err != nil {
		return nil, err
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := []BoxState{}
	for _, id := range ids {
		bid, err := media.ParseBoxID(id)
		if err != nil {
			return nil, err
		}
		w, err := wishlist(ctx, s.db, id)
		if err != nil {
			return nil, err
		}
		out = append(out, BoxState{ID: bid, Wishlist: w})
	}
	return out, nil
}

// SetWishlist replaces a box's wishlist on behalf of its account's customer and bumps the
// box's wishlist version, so the box adopts the list on its next sync. A box of another account
// is ErrNotFound, exactly like a box that does not exist.
func (s *Store) SetWishlist(ctx context.Context, account string, box media.BoxID, items []media.ItemID) (version int64, err error) {
	err = s.tx(ctx, func(tx *tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE boxes SET wish_version = wish_version + 1, wish_hash = 0 WHERE id = ? AND account = ?`, box.String(), account)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return fmt.Errorf("box %s of account %q: %w", box, account, ErrNotFound)
		}
		if err := replaceWishes(ctx, tx, box.String(), items); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT wish_version FROM boxes WHERE id = ?`, box.String()).Scan(&version)
	})
	return version, err
}

// SetItemRegions limits where an item may be licensed; no regions means everywhere.
func (s *Store) SetItemRegions(ctx context.Context, item media.ItemID, regions []string) error {
	for _, r := range regions {
		if r == "" || strings.ContainsAny(r, ", ") {
			return fmt.Errorf("region %q: names are non-empty, without commas or spaces", r)
		}
	}
	res, err := s.db.ExecContext(ctx, `UPDATE items SET regions = ? WHERE id = ?`, strings.Join(regions, ","), item.String())
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fmt.Errorf("item %s: %w", item, ErrNotFound)
	}
	return nil
}

// ItemRegions returns the regions an item may be licensed in; empty means everywhere.
func (s *Store) ItemRegions(ctx context.Context, item media.ItemID) ([]string, error) {
	var r string
	err := s.db.QueryRowContext(ctx, `SELECT regions FROM items WHERE id = ?`, item.String()).Scan(&r)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("item %s: %w", item, ErrNotFound)
	}
	if err != nil || r == "" {
		return nil, err
	}
	return strings.Split(r, ","), nil
}

// WrappedKeys returns every item's wrapped content key, for rotating the master key.
func (s *Store) WrappedKeys(ctx context.Context) (map[media.ItemID][]byte, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT item, wrapped FROM item_keys`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[media.ItemID][]byte{}
	for rows.Next() {
		var id string
		var w []byte
		if err := rows.Scan(&id, &w); err != nil {
			return nil, err
		}
		iid, err := media.ParseItemID(id)
		if err != nil {
			return nil, err
		}
		out[iid] = w
	}
	return out, rows.Err()
}

// RewrapKeys replaces wrapped content keys in one transaction: every key changes or none does.
// Each old value must still be what is stored, so a concurrent ingest or rotation is noticed.
func (s *Store) RewrapKeys(ctx context.Context, old, new map[media.ItemID][]byte) error {
	return s.tx(ctx, func(tx *tx) error {
		for id, w := range new {
			res, err := tx.ExecContext(ctx, `UPDATE item_keys SET wrapped = ? WHERE item = ? AND wrapped = ?`, w, id.String(), old[id])
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n != 1 {
				return fmt.Errorf("key of item %s changed during rotation: run the rotation again", id)
			}
		}
		return nil
	})
}
