package protocol

import "swarmbox/media"

// PathRenew renews an owned title's licence (POST, signed like every box request).
const PathRenew = "/v1/renew"

// RenewRequest asks for a fresh licence of a title this box owns, at no charge. The head-end
// applies the same account-status and region checks as at purchase; a rental, or a title this
// box never bought, is refused (403, code "not_owned"). RequestID makes retries safe: the same
// id returns the licence it already issued.
type RenewRequest struct {
	Item      media.ItemID `json:"item"`
	RequestID string       `json:"request_id"`
}

// RenewResponse carries the renewed licence's signed envelope (see media.ParseLicense).
type RenewResponse struct {
	License []byte `json:"license"`
}
