package web

import (
	"errors"
	"net/http"

	"swarmbox/cloud/store"
	"swarmbox/media"
)

// Pairing a box from the browser (RFC 8628's verification page): the signed-in household enters
// the code its TV shows; the box is then theirs and may buy. Codes and the wrong-code limits are
// the store's (cloud/store/pairing.go); every outcome is in the audit log and on the account
// page.

// pairPage is where a box's TV sends the household: the account page's "Pair a box" form, after
// signing in.
func (s *Server) pairPage(w http.ResponseWriter, r *http.Request) {
	if sess := s.requireSession(w, r); sess != nil {
		http.Redirect(w, r, "/account#pair", http.StatusSeeOther)
	}
}

// pair pairs the box showing the posted code to the signed-in account.
func (s *Server) pair(w http.ResponseWriter, r *http.Request) {
	sess := s.postSession(w, r)
	if sess == nil {
		return
	}
	box, err := s.cfg.Store.PairByCode(r.Context(), store.PairRequest{Code: r.PostFormValue("code"), Account: sess.Account,
		By: "browser", Source: clientAddr(r), Limited: true, Now: s.cfg.Now()})
	switch {
	case errors.Is(err, store.ErrTooManyAttempts):
		s.accountPage(w, r, sess, http.StatusTooManyRequests, "", "Too many wrong codes: wait an hour and try again.")
	case errors.Is(err, store.ErrBadCode):
		s.accountPage(w, r, sess, http.StatusBadRequest, "", "No box shows that code. Check the code on the TV (it changes every 15 minutes) and try again.")
	case errors.Is(err, store.ErrAccountInactive):
		s.accountPage(w, r, sess, http.StatusForbidden, "", "This account is not active, so it cannot pair a box; contact the operator.")
	case err != nil:
		s.internal(w, r, sess, err)
	default:
		s.cfg.Log.Info("box paired in the browser", "box", box, "account", sess.Account)
		s.accountPage(w, r, sess, http.StatusOK, "Box "+box.String()[:8]+" is paired to your account: it can buy now.", "")
	}
}

// unpair returns one of the signed-in account's boxes to no household.
func (s *Server) unpair(w http.ResponseWriter, r *http.Request) {
	sess := s.postSession(w, r)
	if sess == nil {
		return
	}
	id, err := media.ParseBoxID(r.PostFormValue("box"))
	if err != nil {
		s.fail(w, r, sess, http.StatusNotFound, "No such box on your account")
		return
	}
	err = s.cfg.Store.Unpair(r.Context(), id, sess.Account, "browser", clientAddr(r), s.cfg.Now())
	switch {
	case err == nil:
		s.accountPage(w, r, sess, http.StatusOK, "Box "+id.String()[:8]+" is unpaired: it cannot buy until it is paired again.", "")
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrNotPaired):
		s.fail(w, r, sess, http.StatusNotFound, "No such box on your account")
	default:
		s.internal(w, r, sess, err)
	}
}
