package headend

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/http"

	"swarmbox/cloud/store"
	"swarmbox/media"
	"swarmbox/sync/protocol"
)

// buy charges the box's account and returns a license for the item, wrapped to the box's key.
func (s *Server) buy(w http.ResponseWriter, r *http.Request) {
	b, body, ok := s.boxRequest(w, r)
	if !ok {
		return
	}
	var req protocol.BuyRequest
	if !decode(w, body, &req) {
		return
	}
	if req.Kind != media.Rental && req.Kind != media.Owned {
		writeError(w, http.StatusBadRequest, "bad_kind", `kind must be "rental" or "owned"`)
		return
	}
	if req.RequestID == "" || len(req.RequestID) > 64 {
		writeError(w, http.StatusBadRequest, "bad_request_id", "request_id must be 1 to 64 characters")
		return
	}
	it, ok := s.loadItem(w, r, req.Item)
	if !ok {
		return
	}
	now := s.cfg.Now().UTC()
	price := it.PriceCents
	if req.Kind == media.Rental {
		price = (price + 2) / 3 // a rental costs a third of owning, rounded up
	}
	lic, charged, balance, err := s.cfg.Store.Buy(r.Context(), store.Purchase{Box: b.ID, Item: it.ID, Kind: req.Kind, RequestID: req.RequestID, Price: price, Now: now},
		func(acct store.Account) (store.IssuedLicense, error) {
			wrapped, err := s.cfg.Store.WrappedKey(r.Context(), it.ID)
			if err != nil {
				return store.IssuedLicense{}, err
			}
			key, err := s.cfg.Vault.Unwrap(it.ID, wrapped)
			if err != nil {
				return store.IssuedLicense{}, err
			}
			id := make([]byte, 16)
			rand.Read(id)
			l := media.License{ID: hex.EncodeToString(id), Box: b.ID, Item: it.ID, Kind: req.Kind, Region: acct.Region, Issued: now}
			if req.Kind == media.Rental {
				l.Expires = now.Add(s.cfg.RentalWindow)
			} else {
				l.Expires = now.Add(s.cfg.OwnedRenewal)
			}
			env, err := s.cfg.Vault.Issue(l, b.KEMKey, key)
			return store.IssuedLicense{ID: l.ID, Expires: l.Expires, Envelope: env}, err
		})
	switch {
	case errors.Is(err, store.ErrAccountInactive):
		writeError(w, http.StatusForbidden, "account_inactive", err.Error())
		return
	case errors.Is(err, store.ErrInsufficientBalance):
		writeError(w, http.StatusPaymentRequired, "insufficient_balance", err.Error())
		return
	case err != nil:
		s.internal(w, r, err)
		return
	}
	s.cfg.Log.Info("license issued", "box", b.ID, "item", it.ID, "kind", req.Kind, "charged_cents", charged, "expires", lic.Expires)
	writeJSON(w, protocol.BuyResponse{License: lic.Envelope, ChargedCents: charged, BalanceCents: balance})
}
