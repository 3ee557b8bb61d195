package store

import (
	"context"
	"fmt"
	"time"
)

// CreateCustomer opens an active account with a starting credit (a ledger row) and the
// customer's web password hash, all in one transaction: if any part fails, no account, credit
// or password is left behind (requirement ACCT-4), so the operator can simply run it again.
func (s *Store) CreateCustomer(ctx context.Context, id, region string, creditCents int64, passwordHash string, now time.Time) error {
	if id == "" || region == "" || creditCents < 0 {
		return fmt.Errorf("account needs an id, a region and a non-negative credit")
	}
	if passwordHash == "" {
		return fmt.Errorf("account %q: an empty password hash: hash the password first", id)
	}
	return s.tx(ctx, func(tx *tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO accounts (id, status, region, balance_cents) VALUES (?, 'active', ?, ?)`,
			id, region, creditCents); err != nil {
			return fmt.Errorf("create account %q: %w (does it exist already?)", id, err)
		}
		if err := ledgerRow(ctx, tx, id, LedgerTopUp, creditCents, "", "account opened", now); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO customers (account, password_hash) VALUES (?, ?)`, id, passwordHash)
		return err
	})
}
