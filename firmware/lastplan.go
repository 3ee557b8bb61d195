package firmware

// The last plan's peers, kept on the disk: which boxes may connect to this one and whom it
// fetches each item from. A box restarted while its head-end is unreachable goes on serving the
// neighbours it served and fetching from the sources it had; the next plan replaces them.

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"swarmbox/media"
	"swarmbox/storage"
	"swarmbox/sync/protocol"
)

// keepPlan stores the plan's peers when they changed since the last plan kept.
func (b *Box) keepPlan(ctx context.Context, resp protocol.SyncResponse) {
	p := storage.PlanPeers{Strict: resp.Accept != nil, Accept: slices.Sorted(slices.Values(resp.Accept))}
	for _, f := range resp.Fetches {
		for _, peer := range f.Peers {
			p.Sources = append(p.Sources, storage.PlanSource{Item: f.Item, Box: peer.Box, Addr: peer.Addr, Dial: peer.Dial})
		}
	}
	key := fmt.Sprint(p)
	if key == b.keptPlan {
		return
	}
	if err := b.store.SavePlanPeers(ctx, p); err != nil {
		b.log.Warn("the plan's peers are not kept for an offline restart", "err", err)
		return
	}
	b.keptPlan = key
}

// restorePlan lets the last plan's peers connect again and fetches unfinished items from the
// sources the last plan named, until the head-end sends a new plan.
func (b *Box) restorePlan(ctx context.Context) error {
	p, err := b.store.LastPlanPeers(ctx)
	if err != nil {
		return err
	}
	b.keptPlan = fmt.Sprint(p)
	if p.Strict {
		b.engine.StrictPeers(true)
	}
	for _, a := range p.Accept {
		if ip, err := parseHost(a); err == nil {
			b.engine.Allow(ip, "plan")
		}
	}
	bySource := map[media.ItemID][]protocol.Peer{}
	for _, s := range p.Sources {
		bySource[s.Item] = append(bySource[s.Item], protocol.Peer{Box: s.Box, Addr: s.Addr, Dial: s.Dial})
	}
	for id, peers := range bySource {
		it, err := b.store.GetItem(ctx, id)
		if err != nil || it.Complete {
			continue // gone, or nothing left to fetch
		}
		var names []string
		for _, peer := range peers {
			if _, err := netip.ParseAddrPort(peer.Addr); err == nil {
				b.peerBox[peer.Addr] = peer.Box
			}
			names = append(names, peer.Box.String()[:8])
		}
		desc := strings.Join(names, ",") + " (last plan)"
		b.planned[id] = desc
		if err := b.engine.Fetch(id, it.Torrent, protocol.Fetch{Item: id, InfoHash: it.InfoHash, Peers: peers, Range: pieceRange(it)}); err != nil {
			return fmt.Errorf("resume %s from the last plan's peers: %w", id, err)
		}
		b.log.Info("fetching", "item", id, "from", desc)
	}
	if len(p.Accept) > 0 {
		b.log.Info("serving the last plan's peers", "accept", strings.Join(p.Accept, ","))
	}
	return nil
}
