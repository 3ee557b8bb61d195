package boxbus

import "context"

// Pairing is what Pairing returns: whether the box is paired to a household and, while it is
// not, the code the household enters after signing in at URL (until Expires, Unix seconds; the
// box fetches a new code before then).
type Pairing struct {
	Paired  bool
	Code    string
	URL     string
	Expires int64
}

// Pairing returns whether the box is paired and, if not, the code to show.
func (c *Client) Pairing(ctx context.Context) (p Pairing, err error) {
	err = c.call(ctx, "Pairing", []any{&p.Paired, &p.Code, &p.URL, &p.Expires})
	return
}
