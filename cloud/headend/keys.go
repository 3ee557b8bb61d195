package headend

import (
	"net/http"

	"swarmbox/cloud/store"
	"swarmbox/sync/protocol"
)

// checkNewBoxKeys answers 400 and returns false when a registration offers keys no license
// could be sealed to or no request verified with (protocol.CheckBoxKeys): a low-order X25519
// key registered would make every later buy from the box fail.
func checkNewBoxKeys(w http.ResponseWriter, req protocol.RegisterRequest) bool {
	if err := protocol.CheckBoxKeys(req.SignKey, req.KEMKey); err != nil {
		writeError(w, http.StatusBadRequest, "bad_key", err.Error())
		return false
	}
	return true
}

// checkStoredKEMKey answers 409 and returns false when the KEM key stored for box b cannot have
// a license sealed to it (a box registered before keys were checked): a clear refusal naming
// the remedy instead of an internal error on every buy.
func (s *Server) checkStoredKEMKey(w http.ResponseWriter, r *http.Request, b store.Box) bool {
	if err := protocol.CheckKEMKey(b.KEMKey); err != nil {
		s.cfg.Log.Warn("buy from a box with an unusable key", "box", b.ID, "path", r.URL.Path, "err", err)
		writeError(w, http.StatusConflict, "bad_box_key",
			"this box's registered key cannot receive licenses ("+err.Error()+"); ask the operator to remove the box, then register it again with new keys")
		return false
	}
	return true
}
