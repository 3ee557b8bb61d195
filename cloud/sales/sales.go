// Package sales owns selling: what a title costs (owned or rented, free titles), the license
// policy (account status, regions, networks, balance, renewal of owned titles, how long each kind
// of license lasts) and issuing the license (the content key unwrapped and wrapped again to the
// box, the envelope signed). It works over a transaction the store gives it (Tx): the store
// reads and records, sales decides. Every decision, issued or refused, goes to the audit log.
package sales

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"swarmbox/cloud/store"
	"swarmbox/media"
	"swarmbox/vocab"
)

// Why a license was issued (Outcome.Why): the audit reasons, and "retry" for a request id the box
// used before, which returns the stored license and charges nothing.
const (
	WhyPurchase = "purchase"
	WhyRenewal  = "renewal"
	WhyRetry    = "retry"
)

// Errors of a malformed request (the caller's fault, nothing is audited).
var (
	ErrBadKind      = errors.New(`kind must be "rental" or "owned"`)
	ErrBadRequestID = errors.New("request_id must be 1 to 64 characters")
	ErrUnknownItem  = errors.New("no such item in the catalog")
)

// Tx is what a sale needs of the store's transaction (store.SaleTx).
type Tx interface {
	BoxAccount(ctx context.Context, box media.BoxID) (store.Account, error)
	LicenseByRequest(ctx context.Context, box media.BoxID, requestID string) (store.IssuedLicense, bool, error)
	HasLicense(ctx context.Context, box media.BoxID, item media.ItemID, kind media.LicenseKind) (bool, error)
	ValidLicense(ctx context.Context, box media.BoxID, item media.ItemID, kind media.LicenseKind, now time.Time) (store.IssuedLicense, bool, error)
	Record(ctx context.Context, s store.Sale) error
}

// Store is what sales needs of the head-end's store: the title, its regions and wrapped key, the
// audit log for refusals, and a transaction for the sale itself.
type Store interface {
	Item(ctx context.Context, id media.ItemID) (store.Item, error)
	ItemRegions(ctx context.Context, id media.ItemID) ([]string, error)
	WrappedKey(ctx context.Context, id media.ItemID) ([]byte, error)
	Audit(ctx context.Context, e store.AuditEntry) error
	Sale(ctx context.Context, f func(Tx) error) error
}

// FromStore adapts the store to Store.
func FromStore(s *store.Store) Store { return storeAdapter{s} }

type storeAdapter struct{ *store.Store }

func (a storeAdapter) Sale(ctx context.Context, f func(Tx) error) error {
	return a.Store.Sale(ctx, func(t *store.SaleTx) error { return f(t) })
}

// Vault unwraps content keys and issues signed license envelopes (keyvault.Vault).
type Vault interface {
	Unwrap(item media.ItemID, wrapped []byte) (media.ContentKey, error)
	Issue(l media.License, boxKEM []byte, key media.ContentKey) ([]byte, error)
}

// Seller sells licenses.
type Seller struct {
	Store        Store
	Vault        Vault
	Policy       Policy
	RentalWindow time.Duration // how long a rental plays
	OwnedRenewal time.Duration // how often an owned title's license must be renewed
	Log          *slog.Logger  // where a failed audit write of a refusal is reported

	lanesOnce sync.Once
	lanes     [saleLanes]chan struct{} // idempotent.go
}

// Price is what a first license of kind costs for a title whose owned price is owned: a rental
// costs a third of owning, rounded up; a free title (0) is free either way. Renewing an owned
// title costs nothing (Seller.Buy).
func Price(owned int64, kind media.LicenseKind) int64 {
	if kind == media.Rental {
		return vocab.RentalPrice(owned)
	}
	return owned
}

// Expiry is when a license of kind issued at now ends. Every license expires (LIC-3): a rental
// after its window, an owned title when it is due for renewal, which only an active account gets.
func (s *Seller) Expiry(kind media.LicenseKind, now time.Time) time.Time {
	if kind == media.Rental {
		return now.Add(s.RentalWindow)
	}
	return now.Add(s.OwnedRenewal)
}

// Decision is what Decide looks at.
type Decision struct {
	Account     store.Account
	ItemRegions []string
	Source      netip.Addr
	Price       int64 // after renewal: 0 for a renewal
}

// Decide applies the license policy to one sale: the policy's checks (account status, item and
// network regions), then, as a backstop, that money never moves for an account that is not
// active, then the balance. It returns nil or a *Refusal.
func (s *Seller) Decide(d Decision) error {
	if err := s.Policy.Check(Request{AccountStatus: d.Account.Status, BoxRegion: d.Account.Region, ItemRegions: d.ItemRegions, Source: d.Source}); err != nil {
		return err
	}
	if d.Account.Status != store.StatusActive {
		return &Refusal{ReasonAccountInactive, fmt.Errorf("%w (%s)", store.ErrAccountInactive, d.Account.Status).Error()}
	}
	if d.Account.BalanceCents < d.Price {
		return &Refusal{ReasonBalance, fmt.Errorf("%w: %d cents, the title costs %d: top up the account",
			store.ErrInsufficientBalance, d.Account.BalanceCents, d.Price).Error()}
	}
	return nil
}

// Order is one license a box asks for.
type Order struct {
	Box       store.Box
	Item      media.ItemID
	Kind      media.LicenseKind
	RequestID string
	Source    netip.Addr
	Now       time.Time
}

// Outcome is what a sale did.
type Outcome struct {
	Item    store.Item
	Account string // the box's account ("" if the sale stopped before reading it)
	// Refusal, when set, is why no license was issued; nothing was charged, and the refusal is in
	// the audit log.
	Refusal *Refusal
	License store.IssuedLicense
	Charged int64  // cents taken from the account by this call (0 for a retry or a renewal)
	Balance int64  // the account's balance after the sale
	Why     string // WhyPurchase, WhyRenewal or WhyRetry
}

// Buy sells the box a license: it checks the order, prices it, and in one store transaction
// returns the stored license for a request id the box used before, or the box's rental of the
// title that is still valid (charging nothing, deciding nothing again: idempotent.go), or applies
// the policy and, when it allows, issues the license, charges the account and records both. An
// owned title the box already owns is renewed for free; a rental is charged again only once the
// last one has expired. A refusal is audited and comes back in Outcome.Refusal with a nil error;
// an error is a bad order (ErrBadKind, ErrBadRequestID, ErrUnknownItem, ErrRequestIDReused) or a
// failure.
func (s *Seller) Buy(ctx context.Context, o Order) (Outcome, error) {
	var out Outcome
	if o.Kind != media.Rental && o.Kind != media.Owned {
		return out, ErrBadKind
	}
	if o.RequestID == "" || len(o.RequestID) > 64 {
		return out, ErrBadRequestID
	}
	it, err := s.Store.Item(ctx, o.Item)
	if errors.Is(err, store.ErrNotFound) {
		return out, fmt.Errorf("%w: %w", ErrUnknownItem, err)
	}
	if err != nil {
		return out, err
	}
	out.Item = it
	regions, err := s.Store.ItemRegions(ctx, it.ID)
	if err != nil {
		return out, err
	}
	// Read before the transaction: a read on the pool from inside it could wait forever for a
	// connection that the sales queued behind this one's row locks hold (PostgreSQL).
	wrapped, err := s.Store.WrappedKey(ctx, it.ID)
	if err != nil {
		return out, err
	}
	release, err := s.lane(ctx, o.Box.ID)
	if err != nil {
		return out, err
	}
	defer release()
	price := Price(it.PriceCents, o.Kind)
	var refusal *Refusal
	err = s.Store.Sale(ctx, func(tx Tx) error {
		out, refusal = Outcome{Item: it}, nil // a retried transaction starts again
		acct, err := tx.BoxAccount(ctx, o.Box.ID)
		if err != nil {
			return err
		}
		out.Account, out.Balance = acct.ID, acct.BalanceCents
		if lic, why, err := earlier(ctx, tx, o, it.ID); err != nil {
			return err
		} else if why != "" {
			out.License, out.Why = lic, why
			return nil
		}
		renewal := false
		if o.Kind == media.Owned {
			if renewal, err = tx.HasLicense(ctx, o.Box.ID, it.ID, media.Owned); err != nil {
				return err
			}
		}
		charge := price
		if renewal {
			charge = 0
		}
		if err := s.Decide(Decision{Account: acct, ItemRegions: regions, Source: o.Source, Price: charge}); err != nil {
			errors.As(err, &refusal)
			return err // roll back: nothing of this sale is kept
		}
		lic, err := s.issue(o, it, acct, wrapped)
		if err != nil {
			return err
		}
		sale := store.Sale{Box: o.Box.ID, Account: acct.ID, Item: it.ID, Kind: o.Kind, RequestID: o.RequestID,
			Charged: charge, Ledger: store.LedgerPurchase, License: lic, Reason: WhyPurchase, Source: o.Source.String(), Now: o.Now}
		if o.Kind == media.Rental {
			sale.Ledger = store.LedgerRental
		}
		if renewal {
			sale.Reason = WhyRenewal
		}
		if err := tx.Record(ctx, sale); err != nil {
			return err
		}
		out.License, out.Charged, out.Balance, out.Why = lic, charge, acct.BalanceCents-charge, sale.Reason
		return nil
	})
	if refusal != nil {
		out.Refusal = refusal
		out.License, out.Charged, out.Why = store.IssuedLicense{}, 0, ""
		if err := s.Store.Audit(ctx, store.AuditEntry{At: o.Now, Box: o.Box.ID.String(), Account: out.Account, Item: it.ID.String(),
			Kind: string(o.Kind), Outcome: store.AuditRefused, Reason: refusal.Reason, Source: o.Source.String()}); err != nil && s.Log != nil {
			s.Log.Error("audit log", "err", err)
		}
		return out, nil
	}
	return out, err
}

// issue makes the license: a fresh id, the kind's expiry, the content key wrapped to the box and
// the envelope signed by the vault.
func (s *Seller) issue(o Order, it store.Item, acct store.Account, wrapped []byte) (store.IssuedLicense, error) {
	key, err := s.Vault.Unwrap(it.ID, wrapped)
	if err != nil {
		return store.IssuedLicense{}, err
	}
	id := make([]byte, 16)
	rand.Read(id)
	l := media.License{ID: hex.EncodeToString(id), Box: o.Box.ID, Item: it.ID, Kind: o.Kind, Region: acct.Region, Issued: o.Now,
		Expires: s.Expiry(o.Kind, o.Now)}
	env, err := s.Vault.Issue(l, o.Box.KEMKey, key)
	return store.IssuedLicense{ID: l.ID, Expires: l.Expires, Envelope: env}, err
}
