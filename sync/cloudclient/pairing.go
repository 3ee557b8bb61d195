package cloudclient

import (
	"context"
	"net/http"

	"swarmbox/sync/protocol"
)

// Pairing asks whether the box is paired to a household and, while it is not, for the code to
// show; newCode asks for a new code even if the last one still lasts.
func (c *Client) Pairing(ctx context.Context, newCode bool) (protocol.PairingState, error) {
	var out protocol.PairingState
	err := c.do(ctx, http.MethodPost, protocol.PathPairing, protocol.PairingRequest{NewCode: newCode}, &out)
	return out, err
}
