package firmware

// The box's link to its head-end. The box works without it: the daemon starts storage, the
// API, the transfer engine and LAN sharing at once, and reaches the head-end in the background
// (registration on a first start, then syncs), backing off with jitter while it cannot. The API
// shows the link (Online, OfflineSince, Registered on D-Bus) and refuses a purchase at once
// while the box is offline.

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"swarmbox/firmware/boxbus"
	"swarmbox/sync/cloudclient"
)

// ErrOffline is returned for a purchase while the box cannot reach its head-end.
var ErrOffline = errors.New("buying needs the connection to the operator")

// linkState is the API's record of the link; tracked only in the daemon.
type linkState struct {
	mu      sync.Mutex
	tracked bool
	l       boxbus.Link
}

// Link is the box's connection to its head-end. The API in process (no daemon) does not follow
// it and says online.
func (a *API) Link() boxbus.Link {
	a.link.mu.Lock()
	defer a.link.mu.Unlock()
	if !a.link.tracked {
		return boxbus.Link{Online: true, Registered: true}
	}
	return a.link.l
}

// followLink starts following the link: offline since now until the head-end answers.
func (a *API) followLink(now time.Time, registered bool) {
	a.link.mu.Lock()
	defer a.link.mu.Unlock()
	a.link.tracked = true
	a.link.l = boxbus.Link{OfflineSince: now.Unix(), Registered: registered}
}

// setLink records whether the last try reached the head-end and announces a change. It
// reports whether the box was offline before (so the caller can log the return).
func (a *API) setLink(online, registered bool, now time.Time) (wasOnline bool) {
	a.link.mu.Lock()
	old := a.link.l
	n := boxbus.Link{Online: online, Registered: registered || old.Registered, OfflineSince: old.OfflineSince}
	switch {
	case online:
		n.OfflineSince = 0
	case old.Online || old.OfflineSince == 0:
		n.OfflineSince = now.Unix()
	}
	a.link.l = n
	a.link.mu.Unlock()
	if n != old {
		a.hub.publish(Change{Kind: LinkChanged, Link: n})
	}
	return old.Online
}

// offline says why a purchase cannot be made now, or nil while the box is online.
func (a *API) offline() error {
	l := a.Link()
	switch {
	case l.Online:
		return nil
	case !l.Registered:
		return fmt.Errorf("%w: the box has not reached it yet. Your titles still play; buying works once it is connected", ErrOffline)
	default:
		return fmt.Errorf("%w, and the box has been offline since %s. Your titles still play; try again when the connection is back",
			ErrOffline, time.Unix(l.OfflineSince, 0).In(a.now().Location()).Format("15:04"))
	}
}

// maxBackoff caps the wait between tries to reach the head-end.
const maxBackoff = time.Minute

// backoff is how long to wait after failures tries in a row failed: doubling from a second up
// to maxBackoff, drawn at random from the upper half of that, so that boxes that lost their
// head-end together do not all come back at one instant. draw(n) returns a number in [0, n).
func backoff(failures int, draw func(n int64) int64) time.Duration {
	d := maxBackoff
	if failures < 7 {
		d = min(time.Second<<max(failures-1, 0), maxBackoff)
	}
	half := d / 2
	return half + time.Duration(draw(int64(d-half)+1))
}

// reachable says whether err means the head-end answered (a refusal is an answer).
func reachable(err error) bool {
	var api *cloudclient.APIError
	return err == nil || (errors.As(err, &api) && api.Status < 500)
}

// reach talks to the head-end once: registers the box if it never was, fetches the catalog if
// the box has none yet, and syncs. It records the link and returns when to try again.
func (b *Box) reach(ctx context.Context) time.Duration {
	after, err := b.reachOnce(ctx)
	now := b.cfg.Now()
	if err != nil {
		var api *cloudclient.APIError
		if errors.As(err, &api) && api.Status == http.StatusUnauthorized {
			b.registered = false // the head-end does not know this box (any more): enrol again, a no-op if it does
		}
		b.failures++
		wait := backoff(b.failures, rand.Int64N)
		if b.api.setLink(reachable(err), b.registered, now) {
			b.log.Warn("head-end lost; the box works offline", "err", err, "retry_in", wait.Round(time.Millisecond))
		} else {
			b.log.Warn("head-end not reached; will retry", "err", err, "in", wait.Round(time.Millisecond), "failures", b.failures)
		}
		return wait
	}
	b.failures = 0
	if !b.api.setLink(true, true, now) {
		b.log.Info("head-end reached", "headend", b.id.HeadendURL)
	}
	return after
}

func (b *Box) reachOnce(ctx context.Context) (time.Duration, error) {
	if !b.registered {
		if err := b.register(ctx); err != nil {
			return 0, err
		}
	}
	if b.catalogV == 0 {
		// The catalog first, so a household's wishes right after are checked against it.
		b.fetchCatalog(ctx, 0)
	}
	return b.sync(ctx)
}

// register enrolls the box with its head-end, once; reach tries again later.
func (b *Box) register(ctx context.Context) error {
	resp, err := b.client.Register(ctx, b.cfg.Enroll, b.id.KEMKey.PublicKey().Bytes())
	if err != nil {
		var api *cloudclient.APIError
		if errors.As(err, &api) && api.Status/100 == 4 {
			return fmt.Errorf("registration refused (a refused enrollment token: ask the operator for a new one, or start without it and pair with the code the TV shows): %w", err)
		}
		return err
	}
	if err := b.store.SetRegistered(ctx, resp.HeadendKey); err != nil {
		return err
	}
	b.id.HeadendKey = resp.HeadendKey
	b.registered = true
	b.registeredPairing(ctx, resp)
	b.log.Info("registered", "account", resp.Account, "region", resp.Region)
	return nil
}
