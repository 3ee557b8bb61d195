package cloudclient

import (
	"context"
	"errors"
	"time"
)

// codeReplayed is the head-end's error code for a signed sync it has already received.
const codeReplayed = "replayed"

// resignReplayed runs send, and once more in the next second of the client's clock when the
// head-end refused it as a replay. The head-end keys replays on what was signed (method, path,
// second, body), so a box whose state did not change and that syncs twice within one second
// (a sync on an event right after the periodic one) sends the same signed text twice; the
// head-end stored nothing for the refused one, so sending it again, signed in a later second,
// is safe. A second refusal is returned as it is.
func (c *Client) resignReplayed(ctx context.Context, send func() error) error {
	err := send()
	var api *APIError
	if !errors.As(err, &api) || api.Code != codeReplayed {
		return err
	}
	now := c.Now()
	t := time.NewTimer(time.Unix(now.Unix()+1, 0).Sub(now))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return errors.Join(err, ctx.Err())
	case <-t.C:
	}
	return send()
}
