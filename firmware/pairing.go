package firmware

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/godbus/dbus/v5"

	"swarmbox/firmware/boxbus"
	"swarmbox/storage"
	"swarmbox/sync/cloudclient"
	"swarmbox/sync/protocol"
)

// Pairing, the box's side (the head-end's is cloud/headend/pairing.go): a box registers with
// no household and shows the code the head-end gives it until a household enters it on the
// browser catalog; until then it browses but cannot buy. It learns that it was paired (or
// unpaired) by asking PathPairing while unpaired and from every sync's account, without a
// restart; the state is kept in the box's store, so the TV shows the code after a restart too.

// ErrNotPaired is returned by Buy while the box is not paired to a household.
var ErrNotPaired = errors.New("this box is not paired to a household yet")

// Pairing returns whether the box is paired and, while it is not, the code to show and where
// to enter it.
func (a *API) Pairing(ctx context.Context) (boxbus.Pairing, error) {
	p, err := a.store.Pairing(ctx)
	if err != nil {
		return boxbus.Pairing{}, err
	}
	return busPairing(p), nil
}

func busPairing(p storage.Pairing) boxbus.Pairing {
	bp := boxbus.Pairing{Paired: p.Paired, Code: p.Code, URL: p.URL}
	if !p.Expires.IsZero() {
		bp.Expires = p.Expires.Unix()
	}
	return bp
}

// PairingHint is what the TV and the command line say to an unpaired box's household.
func PairingHint(p boxbus.Pairing) string {
	switch {
	case p.Paired:
		return "paired"
	case p.Code == "":
		return "not paired to a household yet: waiting for the head-end to give a pairing code"
	default:
		return fmt.Sprintf("To buy on this box, sign in at %s and enter %s", p.URL, p.Code)
	}
}

// checkPaired refuses a purchase on a box that is not paired, saying how to pair it.
func (a *API) checkPaired(ctx context.Context) error {
	p, err := a.Pairing(ctx)
	if err != nil {
		return err
	}
	if p.Paired {
		return nil
	}
	return fmt.Errorf("%w: %s", ErrNotPaired, PairingHint(p))
}

// setPairing records the box's pairing and announces it when it changed.
func (a *API) setPairing(ctx context.Context, p storage.Pairing) error {
	old, err := a.store.Pairing(ctx)
	if err != nil {
		return err
	}
	if err := a.store.SetPairing(ctx, p); err != nil {
		return err
	}
	now, err := a.store.Pairing(ctx)
	if err != nil {
		return err
	}
	if now != old {
		a.hub.publish(Change{Kind: PairingChanged, Pairing: busPairing(now), PairedAccount: now.Account})
	}
	return nil
}

// Pairing returns whether the box is paired and, if not, the code, where to enter it and
// until when it lasts (Unix seconds).
func (o *dbusObject) Pairing(msg dbus.Message) (bool, string, string, int64, *dbus.Error) {
	if derr := checkArgs(msg); derr != nil {
		return false, "", "", 0, derr
	}
	ctx, cancel := callCtx()
	defer cancel()
	p, err := o.api.Pairing(ctx)
	return p.Paired, p.Code, p.URL, p.Expires, dbusError(err)
}

// notePairing records what a registration or PathPairing answer says of the box's pairing.
func (b *Box) notePairing(ctx context.Context, st protocol.PairingState) {
	p := storage.Pairing{Paired: st.Paired, Account: st.Account, Code: st.Code, URL: st.PairURL, Expires: st.Expires}
	if err := b.api.setPairing(ctx, p); err != nil {
		b.log.Error("cannot record the box's pairing", "err", err)
		return
	}
	if st.Paired {
		b.log.Info("paired", "account", st.Account, "region", st.Region)
	} else if st.Code != "" {
		b.log.Info("not paired to a household", "code", st.Code, "pair_url", st.PairURL, "expires", st.Expires)
	}
}

// registeredPairing records a registration answer's pairing.
func (b *Box) registeredPairing(ctx context.Context, resp protocol.RegisterResponse) {
	if resp.Account != "" {
		b.notePairing(ctx, protocol.PairingState{Paired: true, Account: resp.Account, Region: resp.Region})
	} else if resp.Pairing != nil {
		b.notePairing(ctx, *resp.Pairing)
	}
}

// syncedAccount notes a sync answer's account: a box paired or unpaired since it last looked
// learns it here (an unpaired box then asks for its code in pollPairing).
func (b *Box) syncedAccount(ctx context.Context, ai *protocol.AccountInfo) {
	if ai == nil {
		return
	}
	p, err := b.store.Pairing(ctx)
	if err != nil || p.Paired == (ai.ID != "") && p.Account == ai.ID {
		return
	}
	if ai.ID != "" {
		b.notePairing(ctx, protocol.PairingState{Paired: true, Account: ai.ID})
		return
	}
	b.notePairing(ctx, protocol.PairingState{}) // unpaired: the code comes from pollPairing
}

// pollPairing asks the head-end, while the box is not paired, whether it is now, every interval
// the head-end names (RFC 8628 §3.4's polling), fetching a new code when the shown one ran out.
// It runs until ctx ends; a paired box only checks its own store.
func (b *Box) pollPairing(ctx context.Context) {
	interval := 5 * time.Second
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(interval):
		}
		if !b.api.Link().Registered {
			continue // the background loop registers first (online.go)
		}
		p, err := b.store.Pairing(ctx)
		if err != nil || p.Paired {
			continue
		}
		st, err := b.client.Pairing(ctx, p.Code != "" && !b.cfg.Now().Before(p.Expires))
		var api *cloudclient.APIError
		switch {
		case errors.As(err, &api):
			b.log.Warn("the head-end refused the pairing question", "err", err)
			continue
		case err != nil:
			continue // unreachable: ask again next time
		}
		if st.IntervalSeconds > 0 {
			interval = time.Duration(st.IntervalSeconds) * time.Second
		}
		b.notePairing(ctx, st)
	}
}
