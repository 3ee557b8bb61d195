package headend

import (
	"net/http"

	"swarmbox/cloud/sales"
	"swarmbox/cloud/store"
	"swarmbox/sync/protocol"
)

// renew renews a box's owned licence of a title at no charge (cloud/sales decides and records,
// LIC-4); this handler decodes the request, counts and logs the outcome, and encodes the answer.
// A refusal is 403 with the reason as its code: account_inactive, item_region, network_region,
// network_unknown or not_owned.
func (s *Server) renew(w http.ResponseWriter, r *http.Request) {
	b, body, ok := s.boxRequest(w, r)
	if !ok {
		return
	}
	var req protocol.RenewRequest
	if !decode(w, body, &req) {
		return
	}
	source := sourceAddr(r.RemoteAddr)
	out, err := s.sales.Renew(r.Context(), sales.Renewal{Box: b, Item: req.Item, RequestID: req.RequestID, Source: source, Now: s.cfg.Now().UTC()})
	if s.salesFailed(w, r, req.Item.String(), err) {
		return
	}
	if refusal := out.Refusal; refusal != nil {
		s.metrics.renewals.WithLabelValues(store.AuditRefused, refusal.Reason).Inc()
		s.cfg.Log.Info("renewal refused", "box", b.ID, "item", req.Item, "reason", refusal.Reason, "source", source)
		writeError(w, http.StatusForbidden, refusal.Reason, refusal.Detail)
		return
	}
	if out.Why == sales.WhyRenewal {
		s.metrics.renewals.WithLabelValues(store.AuditIssued, out.Why).Inc()
		s.metrics.licenses.WithLabelValues(store.AuditIssued, out.Why).Inc()
	}
	s.cfg.Log.Info("licence renewed", "box", b.ID, "item", req.Item, "why", out.Why, "expires", out.License.Expires)
	writeJSON(w, protocol.RenewResponse{License: out.License.Envelope})
}
