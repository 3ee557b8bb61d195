package headend

import (
	"context"
	"errors"
	"net/http"
	"time"

	"swarmbox/cloud/store"
	"swarmbox/sync/protocol"
)

// Pairing a box to a household (RFC 8628's device authorization grant, the box being the
// device and its signing key its identity): a box registers with no account and shows the code
// its registration or PathPairing answers; a household enters it after signing in on the
// browser catalog (cloud/web), or the operator does ('swarmbox-cloud box pair'), or the box
// presents an enrollment token the operator made for an account (the factory, test harnesses).
// An unpaired box syncs and browses but is planned nothing and sold nothing. No answer to an
// unpaired box depends on any account's existence: none takes an account name.

// PairPath is the browser page where a household enters a box's code (RFC 8628's
// verification_uri), served by cloud/web.
const PairPath = "/pair"

// pairingInterval is how often an unpaired box asks whether it is paired yet.
const pairingInterval = 5 * time.Second

// enroll registers the box of a registration request: unpaired, or paired at once with a valid
// enrollment token.
func (s *Server) enroll(r *http.Request, b store.Box, token string) (store.Box, error) {
	if token == "" {
		b.Account = store.Unpaired
		return s.cfg.Store.RegisterBox(r.Context(), b)
	}
	return s.cfg.Store.EnrollBox(r.Context(), b, token, sourceAddr(r.RemoteAddr).String())
}

// registered is the registration answer for b.
func (s *Server) registered(ctx context.Context, b store.Box) (protocol.RegisterResponse, error) {
	resp := protocol.RegisterResponse{Box: b.ID, Region: b.Region, HeadendKey: s.cfg.Vault.PublicKey(), Account: b.Account}
	st, err := s.pairingState(ctx, b, false)
	if err != nil {
		return resp, err
	}
	if !st.Paired {
		resp.Pairing = &st
	}
	return resp, nil
}

// pairingState is b's pairing as the box sees it, with a code to show while it is unpaired.
func (s *Server) pairingState(ctx context.Context, b store.Box, newCode bool) (protocol.PairingState, error) {
	if b.Account != store.Unpaired {
		return protocol.PairingState{Paired: true, Account: b.Account, Region: b.Region}, nil
	}
	pc, err := s.cfg.Store.BoxPairingCode(ctx, b.ID, s.cfg.Now(), newCode)
	if errors.Is(err, store.ErrAlreadyPaired) { // paired since b was read
		if b, err = s.cfg.Store.Box(ctx, b.ID); err != nil {
			return protocol.PairingState{}, err
		}
		return protocol.PairingState{Paired: true, Account: b.Account, Region: b.Region}, nil
	}
	if err != nil {
		return protocol.PairingState{}, err
	}
	return protocol.PairingState{Code: pc.Code, Expires: pc.Expires, IntervalSeconds: int(pairingInterval / time.Second),
		PairURL: s.cfg.PublicURL + PairPath}, nil
}

// pairing answers a box's signed question whether it is paired, with the code to show if not.
func (s *Server) pairing(w http.ResponseWriter, r *http.Request) {
	b, body, ok := s.boxRequest(w, r)
	if !ok {
		return
	}
	var req protocol.PairingRequest
	if !decode(w, body, &req) {
		return
	}
	b, err := s.freshBox(r.Context(), b)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	st, err := s.pairingState(r.Context(), b, req.NewCode)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	writeJSON(w, st)
}

// freshBox reads b again from the store, replacing the cached copy: a box's keys never change,
// but its account does when it is paired or unpaired (by any instance, or the operator's
// command).
func (s *Server) freshBox(ctx context.Context, b store.Box) (store.Box, error) {
	nb, err := s.cfg.Store.Box(ctx, b.ID)
	if err != nil {
		return b, err
	}
	s.boxes.Store(b.ID, nb)
	return nb, nil
}

// checkPaired answers 403 not_paired, and says false, when the box (read afresh) belongs to no
// household: such a box may not buy or renew.
func (s *Server) checkPaired(w http.ResponseWriter, r *http.Request, b store.Box) bool {
	b, err := s.freshBox(r.Context(), b)
	if err != nil {
		s.internal(w, r, err)
		return false
	}
	if b.Account == store.Unpaired {
		writeError(w, http.StatusForbidden, "not_paired",
			"this box is not paired to a household yet: sign in at "+s.cfg.PublicURL+PairPath+" and enter the code the TV shows")
		return false
	}
	return true
}

// unpairedAnswer is the sync answer of a box no household has paired: nothing planned, no peer
// let in, and the account marked unpaired so the box asks for its code.
func (s *Server) unpairedAnswer(saved store.SyncResult) protocol.SyncResponse {
	return protocol.SyncResponse{Fetches: []protocol.Fetch{}, Accept: []string{}, CatalogVersion: saved.CatalogVersion,
		SyncAfterSeconds: int(s.cfg.SyncInterval / time.Second), Account: &protocol.AccountInfo{Status: "unpaired"}}
}

// syncedBox is the box a sync is answered for: the cached b, or b read afresh when the sync saw
// another account (the box was paired or unpaired since it was cached).
func (s *Server) syncedBox(ctx context.Context, b store.Box, account string) (store.Box, error) {
	if account == b.Account {
		return b, nil
	}
	return s.freshBox(ctx, b)
}
