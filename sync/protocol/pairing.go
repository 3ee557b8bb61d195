package protocol

import "time"

// PathPairing is where a box asks whether it is paired and, if not, for the code to show
// (RFC 8628's device authorization and polling requests in one signed request).
const PathPairing = "/v1/pairing"

// PairingRequest asks for the box's pairing state. NewCode asks for a new code even when the
// one the box has still lasts (the box lost it, say).
type PairingRequest struct {
	NewCode bool `json:"new_code,omitempty"`
}

// PairingState is whether a box is paired and, while it is not, what the TV shows: "sign in at
// PairURL and enter Code" (RFC 8628's verification_uri and user_code).
type PairingState struct {
	Paired  bool   `json:"paired"`
	Account string `json:"account,omitempty"` // the box's household, when paired
	Region  string `json:"region,omitempty"`
	// Code is XXXX-XXXX, valid until Expires; the box asks again every IntervalSeconds (and
	// for a new code once it expired).
	Code            string    `json:"code,omitempty"`
	Expires         time.Time `json:"expires,omitzero"`
	IntervalSeconds int       `json:"interval_seconds,omitempty"`
	PairURL         string    `json:"pair_url,omitempty"`
}
