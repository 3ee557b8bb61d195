package firmware

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"time"

	"swarmbox/firmware/boxbus"
	"swarmbox/media"
	"swarmbox/storage"
	"swarmbox/sync/cloudclient"
	"swarmbox/sync/protocol"
)

// How the box renews owned licences (LIC-4). A licence of period P is due when between P/2 and
// P/3 of it remains, at a point of that window drawn from the box and the licence (so a million
// boxes that bought at once do not renew at one instant, and a restart keeps the box's point).
// A renewal that fails to reach the head-end is retried with backoff; one the head-end refuses
// (a suspended account) is recorded, shown, and tried again every refusedRetry, and at once when
// the account is active again. An owned title plays without the head-end for what remains of its
// licence: up to the full period (30 days by default) right after a renewal.
const (
	defaultRenewPoll = time.Minute
	backoffMin       = 30 * time.Second
	backoffMax       = time.Hour
	refusedRetry     = time.Hour
)

// renewDue is when lic (owned, of box) is due for renewal.
func renewDue(box media.BoxID, lic media.License) time.Time {
	p := lic.Expires.Sub(lic.Issued)
	window := p / 6
	var jitter time.Duration
	if window > 0 {
		h := sha256.Sum256(append(box[:], lic.ID...))
		jitter = time.Duration(binary.BigEndian.Uint64(h[:8]) % uint64(window))
	}
	return lic.Expires.Add(-p/3 - jitter)
}

// renewRequestID is the request id of lic's renewal: the same for every retry of it, so a
// renewal whose answer was lost is answered again with the same licence.
func renewRequestID(lic media.License) string {
	h := sha256.Sum256([]byte("renew " + lic.ID))
	return hex.EncodeToString(h[:16])
}

// keepLicences wires the box's head-end client to the secure clock (it signs with it, and
// every answer's vouched time raises it) and starts renewing owned licences in the background.
// It returns a function that stops the renewals and waits for them.
func (b *Box) keepLicences(ctx context.Context) (stop func()) {
	b.client.Now, b.client.OnAnswer = b.api.now, b.api.clock.answer
	poll := b.cfg.RenewPoll
	if poll <= 0 {
		poll = defaultRenewPoll
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	r := &renewer{b: b, retry: map[media.ItemID]time.Time{}, fails: map[media.ItemID]int{}}
	go func() {
		defer close(done)
		r.run(ctx, poll)
	}()
	return func() {
		cancel()
		<-done
	}
}

// renewer is the renewal loop's state.
type renewer struct {
	b     *Box
	retry map[media.ItemID]time.Time // no try before this (secure clock)
	fails map[media.ItemID]int       // failures in a row, for the backoff
}

func (r *renewer) run(ctx context.Context, poll time.Duration) {
	tick := time.NewTicker(poll)
	defer tick.Stop()
	changes := r.b.api.Subscribe(ctx)
	for {
		if err := r.pass(ctx); err != nil && ctx.Err() == nil {
			r.b.log.Warn("licence renewals", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case c, ok := <-changes:
			if !ok {
				changes = r.b.api.Subscribe(ctx)
				continue
			}
			if c.Kind != AccountChanged || c.Account.Status != "active" {
				continue
			}
			clear(r.retry) // the account is active again: refused renewals are tried at once
		}
	}
}

// pass renews every owned licence that is due and not waiting for a retry.
func (r *renewer) pass(ctx context.Context) error {
	b := r.b
	if err := b.api.clock.save(ctx); err != nil {
		return err
	}
	id, err := b.store.Identity(ctx)
	if err != nil || id.HeadendKey == nil {
		return err // not registered yet
	}
	lics, err := b.store.Licences(ctx)
	if err != nil {
		return err
	}
	for _, sl := range lics {
		lic, err := media.ParseLicense(sl.Envelope, id.HeadendKey)
		if err != nil || lic.Kind != media.Owned {
			continue // rentals end as bought
		}
		now := b.api.now()
		if now.Before(renewDue(id.Box, lic)) || now.Before(r.retry[lic.Item]) {
			continue
		}
		r.renew(ctx, id, lic)
		if ctx.Err() != nil {
			return nil
		}
	}
	return nil
}

// renew asks the head-end for a fresh licence of lic's title and keeps it, or records why not.
func (r *renewer) renew(ctx context.Context, id storage.Identity, lic media.License) {
	b, item := r.b, lic.Item
	resp, err := b.client.Renew(ctx, protocol.RenewRequest{Item: item, RequestID: renewRequestID(lic)})
	if err == nil {
		err = r.keep(ctx, id, lic, resp.License)
	}
	now := b.api.now()
	var api *cloudclient.APIError
	switch {
	case err == nil:
		delete(r.retry, item)
		delete(r.fails, item)
	case errors.As(err, &api) && (api.Status == http.StatusForbidden || api.Status == http.StatusNotFound):
		// The head-end's answer, not a failure to reach it: kept and shown until a renewal passes.
		b.log.Warn("licence renewal refused", "item", item, "code", api.Code, "reason", api.Message, "expires", lic.Expires)
		if err := b.store.SetRenewalRefused(ctx, item, storage.RenewalRefusal{Code: api.Code, Detail: api.Message, At: now}); err != nil {
			b.log.Error("cannot record a refused renewal", "item", item, "err", err)
		}
		b.api.announce(ctx, item)
		r.retry[item] = now.Add(refusedRetry)
	default:
		r.fails[item]++
		d := min(backoffMin<<min(r.fails[item]-1, 16), backoffMax)
		d = d/2 + rand.N(d/2+1) // jitter, so boxes cut off together do not come back together
		b.log.Warn("licence renewal failed; will retry", "item", item, "err", err, "in", d, "expires", lic.Expires)
		r.retry[item] = now.Add(d)
	}
}

// keep checks and stores a renewed licence, raises the secure clock to its issue time, and
// announces the title.
func (r *renewer) keep(ctx context.Context, id storage.Identity, old media.License, env []byte) error {
	b := r.b
	lic, err := media.ParseLicense(env, id.HeadendKey)
	if err != nil {
		return fmt.Errorf("the head-end sent a renewed licence this box cannot verify: %w", err)
	}
	if lic.Item != old.Item || lic.Kind != media.Owned || lic.Box != id.Box {
		return fmt.Errorf("the head-end sent a licence for %s (%s) as the renewal of %s: kept the old one", lic.Item, lic.Kind, old.Item)
	}
	if !lic.Expires.After(old.Expires) {
		return fmt.Errorf("the renewed licence of %s ends %s, no later than the one the box has", old.Item, lic.Expires.Format(time.RFC3339))
	}
	if err := b.store.SaveLicense(ctx, lic.Item, env, lic.Expires); err != nil {
		return err
	}
	if err := b.store.ClearRenewalRefused(ctx, lic.Item); err != nil {
		return err
	}
	b.api.clock.vouch(ctx, lic.Issued)
	b.api.expireAt(lic.Item, lic.Expires)
	b.api.announce(ctx, lic.Item)
	b.log.Info("licence renewed", "item", lic.Item, "expires", lic.Expires)
	return nil
}

// renewalNote fills in why the head-end refused to renew an owned licence, if it did.
func (a *API) renewalNote(ctx context.Context, item media.ItemID, lic media.License, info *boxbus.Item) error {
	if lic.Kind != media.Owned {
		return nil
	}
	r, ok, err := a.store.RenewalRefused(ctx, item)
	if ok {
		info.RenewalRefused = r.Code + ": " + r.Detail
	}
	return err
}
