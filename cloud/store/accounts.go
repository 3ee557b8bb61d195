package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"swarmbox/media"
)

// Account statuses.
const (
	StatusActive    = "active"
	StatusSuspended = "suspended"
	StatusClosed    = "closed"
)

// Errors of purchases.
var (
	ErrAccountInactive     = errors.New("account is not active")
	ErrInsufficientBalance = errors.New("balance too low")
)

// Account is a customer account.
type Account struct {
	ID           string `json:"id"`
	Status       string `json:"status"`
	Region       string `json:"region"`
	BalanceCents int64  `json:"balance_cents"`
}

// CreateAccount opens an active account with a starting credit, recorded in the ledger.
func (s *Store) CreateAccount(ctx context.Context, id, region string, creditCents int64, now time.Time) error {
	if id == "" || region == "" || creditCents < 0 {
		return fmt.Errorf("account needs an id, a region and a non-negative credit")
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO accounts (id, status, region, balance_cents) VALUES (?, 'active', ?, ?)`,
			id, region, creditCents); err != nil {
			return fmt.Errorf("create account %q: %w", id, err)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO ledger (account, kind, amount_cents, at) VALUES (?, 'topup', ?, ?)`,
			id, creditCents, now.UnixMilli())
		return err
	})
}

// Account returns one account.
func (s *Store) Account(ctx context.Context, id string) (Account, error) {
	a := Account{ID: id}
	err := s.db.QueryRowContext(ctx, `SELECT status, region, balance_cents FROM accounts WHERE id = ?`, id).
		Scan(&a.Status, &a.Region, &a.BalanceCents)
	if errors.Is(err, sql.ErrNoRows) {
		return a, fmt.Errorf("account %q: %w", id, ErrNotFound)
	}
	return a, err
}

// Purchase is one license bought by a box.
type Purchase struct {
	Box       media.BoxID
	Item      media.ItemID
	Kind      media.LicenseKind
	RequestID string
	Price     int64
	Now       time.Time
}

// IssuedLicense is what a purchase produced.
type IssuedLicense struct {
	ID       string
	Expires  time.Time
	Envelope []byte
}

// Buy charges the box's account and stores the license that issue makes, in one transaction.
// A purchase with a RequestID the box used before returns the stored license and charges
// nothing, so a retried buy is safe. charged is 0 for such a replay.
func (s *Store) Buy(ctx context.Context, p Purchase, issue func(Account) (IssuedLicense, error)) (lic IssuedLicense, charged, balance int64, err error) {
	err = s.tx(ctx, func(tx *sql.Tx) error {
		var acct Account
		if err := tx.QueryRowContext(ctx, `SELECT a.id, a.status, a.region, a.balance_cents FROM boxes b JOIN accounts a ON a.id = b.account WHERE b.id = ?`,
			p.Box.String()).Scan(&acct.ID, &acct.Status, &acct.Region, &acct.BalanceCents); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("box %s: %w", p.Box, ErrNotFound)
			}
			return err
		}
		balance = acct.BalanceCents
		var exp int64
		err := tx.QueryRowContext(ctx, `SELECT id, expires, envelope FROM licenses WHERE box = ? AND request_id = ?`,
			p.Box.String(), p.RequestID).Scan(&lic.ID, &exp, &lic.Envelope)
		if err == nil {
			lic.Expires = time.UnixMilli(exp).UTC()
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if acct.Status != StatusActive {
			return fmt.Errorf("%w (%s)", ErrAccountInactive, acct.Status)
		}
		if acct.BalanceCents < p.Price {
			return fmt.Errorf("%w: %d cents, the title costs %d", ErrInsufficientBalance, acct.BalanceCents, p.Price)
		}
		if lic, err = issue(acct); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE accounts SET balance_cents = balance_cents - ? WHERE id = ?`, p.Price, acct.ID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO ledger (account, kind, amount_cents, item, at) VALUES (?, ?, ?, ?, ?)`,
			acct.ID, string(p.Kind), -p.Price, p.Item.String(), p.Now.UnixMilli()); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO licenses (id, request_id, box, item, kind, expires, charged_cents, envelope)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, lic.ID, p.RequestID, p.Box.String(), p.Item.String(), string(p.Kind),
			lic.Expires.UnixMilli(), p.Price, lic.Envelope); err != nil {
			return err
		}
		charged, balance = p.Price, acct.BalanceCents-p.Price
		return nil
	})
	return lic, charged, balance, err
}
