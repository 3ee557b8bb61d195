package sales

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"swarmbox/cloud/store"
	"swarmbox/media"
)

// ReasonNotOwned refuses a renewal for a title the box does not own: it never bought it, or
// holds only a rental (rentals are never renewed; they end as bought).
const ReasonNotOwned = "not_owned"

// RenewTx is what a renewal needs of the store's transaction (store.SaleTx): Tx, and the license
// a request id already produced with its title.
type RenewTx interface {
	Tx
	RequestedLicense(ctx context.Context, box media.BoxID, requestID string) (media.ItemID, store.IssuedLicense, bool, error)
}

// Renewal is a box asking to renew its owned license of a title.
type Renewal struct {
	Box       store.Box
	Item      media.ItemID
	RequestID string
	Source    netip.Addr
	Now       time.Time
}

// Renew issues a fresh owned license, for OwnedRenewal from now, to a box that owns the title,
// at no charge (LIC-4): the same policy as a purchase (an active account, the title licensed in
// the account's region, the request from the region's network), then ReasonNotOwned for a title
// the box never owned (a rental is never renewed). A request id used before for this title
// returns the license it produced (WhyRetry), for another title ErrRequestIDReused. A refusal is
// audited and comes back in Outcome.Refusal with a nil error; an issued renewal is audited with
// reason "renewal" and moves no money.
func (s *Seller) Renew(ctx context.Context, r Renewal) (Outcome, error) {
	var out Outcome
	if r.RequestID == "" || len(r.RequestID) > 64 {
		return out, ErrBadRequestID
	}
	it, err := s.Store.Item(ctx, r.Item)
	if errors.Is(err, store.ErrNotFound) {
		return out, fmt.Errorf("%w: %w", ErrUnknownItem, err)
	}
	if err != nil {
		return out, err
	}
	regions, err := s.Store.ItemRegions(ctx, it.ID)
	if err != nil {
		return out, err
	}
	// Read before the transaction, as Buy does: a read from the pool inside a sale that holds
	// row locks can wait on connections the other sales hold.
	wrapped, err := s.Store.WrappedKey(ctx, it.ID)
	if err != nil {
		return out, err
	}
	var refusal *Refusal
	err = s.Store.Sale(ctx, func(t Tx) error {
		out, refusal = Outcome{Item: it}, nil // a retried transaction starts again
		tx, ok := t.(RenewTx)
		if !ok {
			return fmt.Errorf("renewal: the store's transaction %T cannot look licenses up by request", t)
		}
		acct, err := tx.BoxAccount(ctx, r.Box.ID)
		if err != nil {
			return err
		}
		out.Account, out.Balance = acct.ID, acct.BalanceCents
		if item, lic, ok, err := tx.RequestedLicense(ctx, r.Box.ID, r.RequestID); err != nil {
			return err
		} else if ok && item != it.ID {
			return ErrRequestIDReused
		} else if ok {
			out.License, out.Why = lic, WhyRetry
			return nil
		}
		if err := s.Decide(Decision{Account: acct, ItemRegions: regions, Source: r.Source, Price: 0}); err != nil {
			errors.As(err, &refusal)
			return err
		}
		owned, err := tx.HasLicense(ctx, r.Box.ID, it.ID, media.Owned)
		if err != nil {
			return err
		}
		if !owned {
			refusal = &Refusal{ReasonNotOwned, "this box does not own the title: only bought titles are renewed, never rentals; buy it to own it"}
			return refusal
		}
		o := Order{Box: r.Box, Item: it.ID, Kind: media.Owned, RequestID: r.RequestID, Source: r.Source, Now: r.Now}
		lic, err := s.issue(o, it, acct, wrapped)
		if err != nil {
			return err
		}
		if err := tx.Record(ctx, store.Sale{Box: r.Box.ID, Account: acct.ID, Item: it.ID, Kind: media.Owned, RequestID: r.RequestID,
			Ledger: store.LedgerPurchase, License: lic, Reason: WhyRenewal, Source: r.Source.String(), Now: r.Now}); err != nil {
			return err
		}
		out.License, out.Why = lic, WhyRenewal
		return nil
	})
	if refusal != nil {
		out.Refusal = refusal
		out.License, out.Why = store.IssuedLicense{}, ""
		if err := s.Store.Audit(ctx, store.AuditEntry{At: r.Now, Box: r.Box.ID.String(), Account: out.Account, Item: it.ID.String(),
			Kind: "renewal", Outcome: store.AuditRefused, Reason: refusal.Reason, Source: r.Source.String()}); err != nil && s.Log != nil {
			s.Log.Error("audit log", "err", err)
		}
		return out, nil
	}
	return out, err
}
