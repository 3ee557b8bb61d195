// Package cloudclient is the box's client of the head-end API: every request signed with the
// box's key, every error answer turned into an *APIError that says what the head-end said.
package cloudclient

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"swarmbox/media"
	"swarmbox/sync/protocol"
)

// Client talks to one head-end as one box.
type Client struct {
	BaseURL string
	Box     media.BoxID
	Key     ed25519.PrivateKey
	HTTP    *http.Client
	Now     func() time.Time
	// OnAnswer, when set, sees each answer's headers with the signed request they answer: the
	// box's secure clock reads the time the head-end vouched for there (protocol.VouchedTime).
	OnAnswer func(req *http.Request, h http.Header)
}

// New returns a client with a sensible HTTP timeout.
func New(baseURL string, key ed25519.PrivateKey) *Client {
	return &Client{
		BaseURL: strings.TrimRight(baseURL, "/"),
		Box:     media.BoxIDFromKey(key.Public().(ed25519.PublicKey)),
		Key:     key,
		HTTP:    &http.Client{Timeout: 30 * time.Second},
		Now:     time.Now,
	}
}

// ErrUnreachable wraps failures to reach the head-end at all (as opposed to its refusals).
var ErrUnreachable = errors.New("head-end unreachable")

// APIError is an error answer from the head-end.
type APIError struct {
	Status  int
	Code    string
	Message string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("head-end said %d %s: %s", e.Status, e.Code, e.Message)
}

// do sends a signed request with a JSON body (nil for none) and decodes a JSON answer into out,
// or hands the raw body to out when it is a *[]byte.
func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return err
		}
	}
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	protocol.Sign(req, body, c.Box, c.Key, c.Now())
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrUnreachable, err)
	}
	defer resp.Body.Close()
	if c.OnAnswer != nil {
		c.OnAnswer(req, resp.Header)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("reading head-end answer: %w", err)
	}
	if resp.StatusCode/100 != 2 {
		var e protocol.Error
		if json.Unmarshal(b, &e) != nil || e.Error == "" {
			e.Error = strings.TrimSpace(string(b))
		}
		return &APIError{Status: resp.StatusCode, Code: e.Code, Message: e.Error}
	}
	if raw, ok := out.(*[]byte); ok {
		*raw = b
		return nil
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("head-end answer for %s: %w", path, err)
		}
	}
	return nil
}

// Register enrolls this box's keys. With an enrollment token (from the operator's
// 'swarmbox-cloud account enroll') the box is paired to the token's household at once; with ""
// it registers unpaired and the answer carries the code to show (see Pairing).
func (c *Client) Register(ctx context.Context, enroll string, kemPub []byte) (protocol.RegisterResponse, error) {
	var out protocol.RegisterResponse
	err := c.do(ctx, http.MethodPost, protocol.PathRegister, protocol.RegisterRequest{
		Enroll: enroll, SignKey: c.Key.Public().(ed25519.PublicKey), KEMKey: kemPub,
	}, &out)
	return out, err
}

// Sync sends the box's state and returns its part of the plan. A sync refused as a replay (an
// unchanged box synced twice within one second, so both were signed alike) is signed again in
// the next second (resignReplayed).
func (c *Client) Sync(ctx context.Context, req protocol.SyncRequest) (protocol.SyncResponse, error) {
	var out protocol.SyncResponse
	err := c.resignReplayed(ctx, func() error { return c.do(ctx, http.MethodPost, protocol.PathSync, req, &out) })
	return out, err
}

// Catalog returns the catalog and its raw JSON (for the box's offline replica).
func (c *Client) Catalog(ctx context.Context) (protocol.Catalog, []byte, error) {
	var raw []byte
	var cat protocol.Catalog
	if err := c.do(ctx, http.MethodGet, protocol.PathCatalog, nil, &raw); err != nil {
		return cat, nil, err
	}
	if err := json.Unmarshal(raw, &cat); err != nil {
		return cat, nil, fmt.Errorf("catalog: %w", err)
	}
	return cat, raw, nil
}

// Torrent returns an item's metainfo.
func (c *Client) Torrent(ctx context.Context, item media.ItemID) ([]byte, error) {
	var raw []byte
	err := c.do(ctx, http.MethodGet, protocol.PathItems+item.String()+"/torrent", nil, &raw)
	return raw, err
}

// Buy asks for a license.
func (c *Client) Buy(ctx context.Context, req protocol.BuyRequest) (protocol.BuyResponse, error) {
	var out protocol.BuyResponse
	err := c.do(ctx, http.MethodPost, protocol.PathBuy, req, &out)
	return out, err
}

// Renew asks for a fresh licence of a title this box owns (free; refused for rentals).
func (c *Client) Renew(ctx context.Context, req protocol.RenewRequest) (protocol.RenewResponse, error) {
	var out protocol.RenewResponse
	err := c.do(ctx, http.MethodPost, protocol.PathRenew, req, &out)
	return out, err
}
