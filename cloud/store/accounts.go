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

// Ledger entry kinds. Top-ups and refunds add to the balance; purchases, rentals and the payout
// of what is left when an account closes take from it.
const (
	LedgerTopUp    = "topup"
	LedgerPurchase = "owned"
	LedgerRental   = "rental"
	LedgerRefund   = "refund"
	LedgerPayout   = "payout"
)

// Errors of accounts and purchases.
var (
	ErrAccountInactive     = errors.New("account is not active")
	ErrInsufficientBalance = errors.New("balance too low")
	ErrBadTransition       = errors.New("account status cannot change that way")
	ErrBadAmount           = errors.New("amount must be a positive number of cents")
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
	return s.tx(ctx, func(tx *tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO accounts (id, status, region, balance_cents) VALUES (?, 'active', ?, ?)`,
			id, region, creditCents); err != nil {
			return fmt.Errorf("create account %q: %w (does it exist already?)", id, err)
		}
		return ledgerRow(ctx, tx, id, LedgerTopUp, creditCents, "", "account opened", now)
	})
}

func ledgerRow(ctx context.Context, q querier, account, kind string, cents int64, item, note string, now time.Time) error {
	_, err := q.ExecContext(ctx, `INSERT INTO ledger (account, kind, amount_cents, item, at, note) VALUES (?, ?, ?, ?, ?, ?)`,
		account, kind, cents, sql.NullString{String: item, Valid: item != ""}, now.UnixMilli(), note)
	return err
}

// Account returns one account.
func (s *Store) Account(ctx context.Context, id string) (Account, error) {
	return account(ctx, s.db, id)
}

func account(ctx context.Context, q querier, id string) (Account, error) {
	a := Account{ID: id}
	err := q.QueryRowContext(ctx, `SELECT status, region, balance_cents FROM accounts WHERE id = ?`, id).
		Scan(&a.Status, &a.Region, &a.BalanceCents)
	if errors.Is(err, sql.ErrNoRows) {
		return a, fmt.Errorf("account %q: %w", id, ErrNotFound)
	}
	return a, err
}

// SetStatus moves an account between statuses: active ⇄ suspended, and either to closed, which
// is final. Closing pays out what is left of the balance, as a ledger row.
func (s *Store) SetStatus(ctx context.Context, id, status string, now time.Time) (Account, error) {
	var a Account
	err := s.tx(ctx, func(tx *tx) error {
		var err error
		if a, err = account(ctx, tx, id); err != nil {
			return err
		}
		ok := map[[2]string]bool{
			{StatusActive, StatusSuspended}: true, {StatusSuspended, StatusActive}: true,
			{StatusActive, StatusClosed}: true, {StatusSuspended, StatusClosed}: true,
		}[[2]string{a.Status, status}]
		if !ok {
			return fmt.Errorf("%w: %s → %s (closed is final; active and suspended switch)", ErrBadTransition, a.Status, status)
		}
		if status == StatusClosed && a.BalanceCents > 0 {
			if err := ledgerRow(ctx, tx, id, LedgerPayout, -a.BalanceCents, "", "balance paid out on closing", now); err != nil {
				return err
			}
			a.BalanceCents = 0
		}
		a.Status = status
		_, err = tx.ExecContext(ctx, `UPDATE accounts SET status = ?, balance_cents = ? WHERE id = ?`, status, a.BalanceCents, id)
		return err
	})
	return a, err
}

// TopUp credits an account that is not closed.
func (s *Store) TopUp(ctx context.Context, id string, cents int64, now time.Time) (Account, error) {
	if cents <= 0 {
		return Account{}, fmt.Errorf("top-up of %d: %w", cents, ErrBadAmount)
	}
	var a Account
	err := s.tx(ctx, func(tx *tx) error {
		var err error
		if a, err = account(ctx, tx, id); err != nil {
			return err
		}
		if a.Status == StatusClosed {
			return fmt.Errorf("%w: account %q is closed", ErrAccountInactive, id)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE accounts SET balance_cents = balance_cents + ? WHERE id = ?`, cents, id); err != nil {
			return err
		}
		a.BalanceCents += cents
		return ledgerRow(ctx, tx, id, LedgerTopUp, cents, "", "", now)
	})
	return a, err
}

// LedgerEntry is one movement of money.
type LedgerEntry struct {
	ID          int64     `json:"id"`
	Kind        string    `json:"kind"`
	AmountCents int64     `json:"amount_cents"`
	Item        string    `json:"item,omitempty"`
	Note        string    `json:"note,omitempty"`
	At          time.Time `json:"at"`
}

// Ledger returns an account's movements, oldest first.
func (s *Store) Ledger(ctx context.Context, id string) ([]LedgerEntry, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, kind, amount_cents, COALESCE(item, ''), note, at FROM ledger WHERE account = ? ORDER BY id`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []LedgerEntry{}
	for rows.Next() {
		var e LedgerEntry
		var at int64
		if err := rows.Scan(&e.ID, &e.Kind, &e.AmountCents, &e.Item, &e.Note, &at); err != nil {
			return nil, err
		}
		e.At = time.UnixMilli(at).UTC()
		out = append(out, e)
	}
	return out, rows.Err()
}

// Reconcile checks that every account's balance is the sum of its ledger, and returns the
// accounts where it is not.
func (s *Store) Reconcile(ctx context.Context) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT a.id FROM accounts a
		LEFT JOIN (SELECT account, SUM(amount_cents) AS total FROM ledger GROUP BY account) l ON l.account = a.id
		WHERE a.balance_cents <> COALESCE(l.total, 0) ORDER BY a.id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var bad []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		bad = append(bad, id)
	}
	return bad, rows.Err()
}

// IssuedLicense is what a sale produced.
type IssuedLicense struct {
	ID       string
	Expires  time.Time
	Envelope []byte
	// Item and Kind are what the license is for; the store fills them when it reads a license
	// back (LicenseByRequest, ValidLicense), Record does not read them.
	Item media.ItemID
	Kind media.LicenseKind
}

// SaleTx is the transaction one sale runs in (Store.Sale): cloud/sales reads the box's account
// and licenses through it, decides, and records what it decided. The store decides nothing here.
type SaleTx struct{ t *tx }

// Sale runs f in one transaction: everything f records commits together, or nothing does when f
// returns an error.
func (s *Store) Sale(ctx context.Context, f func(*SaleTx) error) error {
	return s.tx(ctx, func(t *tx) error { return f(&SaleTx{t: t}) })
}

// BoxAccount returns the account box belongs to (ErrNotFound for an unknown box), and holds the
// box's and the account's rows until the sale ends (salelock.go).
func (t *SaleTx) BoxAccount(ctx context.Context, box media.BoxID) (Account, error) {
	var acct Account
	if err := t.t.QueryRowContext(ctx, `SELECT a.id, a.status, a.region, a.balance_cents FROM boxes b JOIN accounts a ON a.id = b.account WHERE b.id = ?`+t.t.d.forUpdate(),
		box.String()).Scan(&acct.ID, &acct.Status, &acct.Region, &acct.BalanceCents); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return acct, fmt.Errorf("box %s: %w", box, ErrNotFound)
		}
		return acct, err
	}
	return acct, nil
}

// LicenseByRequest returns the license stored for the box's request id, if there is one.
func (t *SaleTx) LicenseByRequest(ctx context.Context, box media.BoxID, requestID string) (IssuedLicense, bool, error) {
	var lic IssuedLicense
	var exp int64
	var item, kind string
	err := t.t.QueryRowContext(ctx, `SELECT id, expires, envelope, item, kind FROM licenses WHERE box = ? AND request_id = ?`,
		box.String(), requestID).Scan(&lic.ID, &exp, &lic.Envelope, &item, &kind)
	if errors.Is(err, sql.ErrNoRows) {
		return IssuedLicense{}, false, nil
	}
	if err != nil {
		return IssuedLicense{}, false, err
	}
	lic.Expires, lic.Kind = time.UnixMilli(exp).UTC(), media.LicenseKind(kind)
	if lic.Item, err = media.ParseItemID(item); err != nil {
		return IssuedLicense{}, false, err
	}
	return lic, true, nil
}

// HasLicense reports whether box was ever issued a license of kind for item.
func (t *SaleTx) HasLicense(ctx context.Context, box media.BoxID, item media.ItemID, kind media.LicenseKind) (bool, error) {
	var n int
	err := t.t.QueryRowContext(ctx, `SELECT COUNT(*) FROM licenses WHERE box = ? AND item = ? AND kind = ?`,
		box.String(), item.String(), string(kind)).Scan(&n)
	return n > 0, err
}

// Sale is a license the seller decided to issue, as the store records it.
type Sale struct {
	Box       media.BoxID
	Account   string
	Item      media.ItemID
	Kind      media.LicenseKind
	RequestID string
	// Charged is taken from the account's balance, with a ledger row of kind Ledger; 0 moves no
	// money and writes no ledger row. The balance never goes below zero (the schema refuses).
	Charged int64
	Ledger  string
	License IssuedLicense
	Reason  string // the audit row's: "purchase" or "renewal"
	Source  string
	Now     time.Time
}

// Record charges the account, stores the license and its audit row.
func (t *SaleTx) Record(ctx context.Context, s Sale) error {
	if s.Charged > 0 {
		if _, err := t.t.ExecContext(ctx, `UPDATE accounts SET balance_cents = balance_cents - ? WHERE id = ?`, s.Charged, s.Account); err != nil {
			return err
		}
		if err := ledgerRow(ctx, t.t, s.Account, s.Ledger, -s.Charged, s.Item.String(), "license "+s.License.ID, s.Now); err != nil {
			return err
		}
	}
	if _, err := t.t.ExecContext(ctx, `INSERT INTO licenses (id, request_id, box, item, kind, expires, charged_cents, envelope, account, issued)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, s.License.ID, s.RequestID, s.Box.String(), s.Item.String(), string(s.Kind),
		s.License.Expires.UnixMilli(), s.Charged, s.License.Envelope, s.Account, s.Now.UnixMilli()); err != nil {
		return err
	}
	return audit(ctx, t.t, AuditEntry{At: s.Now, Box: s.Box.String(), Account: s.Account, Item: s.Item.String(), Kind: string(s.Kind),
		Outcome: AuditIssued, Reason: s.Reason, Source: s.Source, License: s.License.ID})
}

// LicenseRow is a license as the account's history shows it.
type LicenseRow struct {
	ID      string
	Box     media.BoxID
	Item    media.ItemID
	Title   string
	Kind    media.LicenseKind
	Charged int64
	Issued  time.Time
	Expires time.Time
}

// Licenses returns the licenses issued to an account's boxes, newest first.
func (s *Store) Licenses(ctx context.Context, account string) ([]LicenseRow, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT l.id, l.box, l.item, COALESCE(i.title, ''), l.kind, l.charged_cents, l.issued, l.expires
		FROM licenses l JOIN boxes b ON b.id = l.box LEFT JOIN items i ON i.id = l.item
		WHERE b.account = ? ORDER BY l.issued DESC, l.id`, account)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []LicenseRow
	for rows.Next() {
		var r LicenseRow
		var box, item, kind string
		var issued, expires int64
		if err := rows.Scan(&r.ID, &box, &item, &r.Title, &kind, &r.Charged, &issued, &expires); err != nil {
			return nil, err
		}
		if r.Box, err = media.ParseBoxID(box); err != nil {
			return nil, err
		}
		if r.Item, err = media.ParseItemID(item); err != nil {
			return nil, err
		}
		r.Kind, r.Issued, r.Expires = media.LicenseKind(kind), time.UnixMilli(issued).UTC(), time.UnixMilli(expires).UTC()
		out = append(out, r)
	}
	return out, rows.Err()
}
