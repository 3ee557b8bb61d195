package headend

import (
	"errors"
	"net"
	"net/http"
	"net/netip"

	"swarmbox/cloud/sales"
	"swarmbox/cloud/store"
	"swarmbox/sync/protocol"
)

// buy sells the box a license for the item (cloud/sales decides and records); this handler
// decodes the request, counts and logs the outcome, and encodes the answer.
func (s *Server) buy(w http.ResponseWriter, r *http.Request) {
	b, body, ok := s.boxRequest(w, r)
	if !ok {
		return
	}
	var req protocol.BuyRequest
	if !decode(w, body, &req) || !s.checkPaired(w, r, b) {
		return
	}
	if !s.checkStoredKEMKey(w, r, b) {
		return
	}
	source := sourceAddr(r.RemoteAddr)
	out, err := s.sales.Buy(r.Context(), sales.Order{Box: b, Item: req.Item, Kind: req.Kind, RequestID: req.RequestID,
		Source: source, Now: s.cfg.Now().UTC()})
	if s.salesFailed(w, r, req.Item.String(), err) {
		return
	}
	it := out.Item
	if refusal := out.Refusal; refusal != nil {
		s.metrics.licenses.WithLabelValues(store.AuditRefused, refusal.Reason).Inc()
		s.cfg.Log.Info("license refused", "box", b.ID, "item", it.ID, "reason", refusal.Reason, "source", source)
		status := http.StatusForbidden
		if refusal.Reason == sales.ReasonBalance {
			status = http.StatusPaymentRequired
		}
		writeError(w, status, refusal.Reason, refusal.Detail)
		return
	}
	// A free title's first licence is a purchase that charged nothing: counted and logged as one.
	why := out.Why
	if why != sales.WhyRetry && why != sales.WhyStillValid {
		s.metrics.licenses.WithLabelValues(store.AuditIssued, why).Inc()
	}
	s.cfg.Log.Info("license issued", "box", b.ID, "item", it.ID, "kind", req.Kind, "why", why, "charged_cents", out.Charged, "expires", out.License.Expires)
	writeJSON(w, protocol.BuyResponse{License: out.License.Envelope, ChargedCents: out.Charged, BalanceCents: out.Balance})
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

// salesFailed answers an error of the sales package (a box's order or renewal) with the status
// and code the box acts on; false when there was none.
func (s *Server) salesFailed(w http.ResponseWriter, r *http.Request, item string, err error) bool {
	switch {
	case err == nil:
		return false
	case errors.Is(err, sales.ErrBadKind):
		writeError(w, http.StatusBadRequest, "bad_kind", err.Error())
	case errors.Is(err, sales.ErrBadRequestID):
		writeError(w, http.StatusBadRequest, "bad_request_id", err.Error())
	case errors.Is(err, sales.ErrRequestIDReused):
		writeError(w, http.StatusConflict, "request_id_reused", err.Error())
	case errors.Is(err, sales.ErrUnknownItem):
		writeError(w, http.StatusNotFound, "unknown_item", "no item "+item+" in the catalog")
	default:
		s.internal(w, r, err)
	}
	return true
}
