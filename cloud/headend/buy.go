package headend

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net"
	"net/http"
	"net/netip"

	"swarmbox/cloud/keyvault"
	"swarmbox/cloud/store"
	"swarmbox/media"
	"swarmbox/sync/protocol"
)

// buy charges the box's account and returns a license for the item, wrapped to the box's key.
// The license policy runs first (account status, item regions, the request's network); every
// decision, issue or refusal, goes to the audit log and the metrics.
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
	regions, err := s.cfg.Store.ItemRegions(r.Context(), it.ID)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	source := sourceAddr(r.RemoteAddr)
	now := s.cfg.Now().UTC()
	price := it.PriceCents
	if req.Kind == media.Rental {
		price = (price + 2) / 3 // a rental costs a third of owning, rounded up
	}
	var account string
	lic, charged, balance, renewal, err := s.cfg.Store.Buy(r.Context(), store.Purchase{
		Box: b.ID, Item: it.ID, Kind: req.Kind, RequestID: req.RequestID, Price: price, Now: now, Source: source.String(),
		Check: func(acct store.Account, _ bool) error {
			account = acct.ID
			return s.cfg.Policy.Check(keyvault.Request{AccountStatus: acct.Status, BoxRegion: acct.Region, ItemRegions: regions, Source: source})
		},
		Issue: func(acct store.Account, _ bool) (store.IssuedLicense, error) {
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
			// Every license expires (c51): a rental after its window, an owned title when it is
			// due for renewal, which only an active account gets.
			l := media.License{ID: hex.EncodeToString(id), Box: b.ID, Item: it.ID, Kind: req.Kind, Region: acct.Region, Issued: now}
			if req.Kind == media.Rental {
				l.Expires = now.Add(s.cfg.RentalWindow)
			} else {
				l.Expires = now.Add(s.cfg.OwnedRenewal)
			}
			env, err := s.cfg.Vault.Issue(l, b.KEMKey, key)
			return store.IssuedLicense{ID: l.ID, Expires: l.Expires, Envelope: env}, err
		},
	})
	var refusal *keyvault.Refusal
	switch {
	case errors.As(err, &refusal):
	case errors.Is(err, store.ErrAccountInactive):
		refusal = &keyvault.Refusal{Reason: keyvault.ReasonAccountInactive, Detail: err.Error()}
	case errors.Is(err, store.ErrInsufficientBalance):
		refusal = &keyvault.Refusal{Reason: keyvault.ReasonBalance, Detail: err.Error()}
	case err != nil:
		s.internal(w, r, err)
		return
	}
	if refusal != nil {
		s.metrics.licenses.WithLabelValues(store.AuditRefused, refusal.Reason).Inc()
		if err := s.cfg.Store.Audit(r.Context(), store.AuditEntry{At: now, Box: b.ID.String(), Account: account, Item: it.ID.String(),
			Kind: string(req.Kind), Outcome: store.AuditRefused, Reason: refusal.Reason, Source: source.String()}); err != nil {
			s.cfg.Log.Error("audit log", "err", err)
		}
		s.cfg.Log.Info("license refused", "box", b.ID, "item", it.ID, "reason", refusal.Reason, "source", source)
		status := http.StatusForbidden
		if refusal.Reason == keyvault.ReasonBalance {
			status = http.StatusPaymentRequired
		}
		writeError(w, status, refusal.Reason, refusal.Detail)
		return
	}
	reason := "purchase"
	if renewal {
		reason = "renewal"
	}
	if charged == 0 && !renewal {
		reason = "retry"
	} else {
		s.metrics.licenses.WithLabelValues(store.AuditIssued, reason).Inc()
	}
	s.cfg.Log.Info("license issued", "box", b.ID, "item", it.ID, "kind", req.Kind, "why", reason, "charged_cents", charged, "expires", lic.Expires)
	writeJSON(w, protocol.BuyResponse{License: lic.Envelope, ChargedCents: charged, BalanceCents: balance})
}

// sourceAddr is the address a request came from. Behind a load balancer this is the balancer's
// address; region maps then need the balancer to keep the client's address (PROXY protocol or
// one instance per region's network).
func sourceAddr(remote string) netip.Addr {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	a, _ := netip.ParseAddr(host)
	return a.Unmap()
}
