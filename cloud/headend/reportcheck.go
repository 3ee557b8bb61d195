package headend

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"swarmbox/cloud/store"
	"swarmbox/media"
	"swarmbox/sync/protocol"
)

// Bounds on what one sync may report (issue 13 item 9: a box's report is input, not truth).
const (
	// MaxReportEntries bounds each of a sync's lists of items (wishlist, holdings, transfers).
	MaxReportEntries = 4096
	// MaxReportPeers bounds a sync's LAN neighbours and peer rates.
	MaxReportPeers = 1024
	// maxReportAreas bounds a sync's storage areas (there are three kinds).
	maxReportAreas = 8
	// transferFactor and transferSlack bound the bytes a box may report receiving for one
	// item: transferFactor times its container plus transferSlack, for pieces fetched again
	// after a failed check or a crash.
	transferFactor = 4
	transferSlack  = 16 << 20
	// maxReportBytes bounds byte counts that belong to no item (free space, quotas: 1 PiB) and
	// maxReportRate rates (bytes per second: 1 TB/s).
	maxReportBytes = 1 << 50
	maxReportRate  = 1 << 40
	// catalogReload is how often at most a report naming an item the head-end does not know
	// makes it read the catalog again.
	catalogReload = time.Second
)

// errCatalog marks a screenReport error that is the head-end's (the catalog could not be
// read), not the report's.
var errCatalog = errors.New("catalog unavailable")

// admitReport screens a sync's report (screenReport) and answers the request itself when it is
// refused: 400 naming the field, or 500 when the catalog could not be read. Holdings and
// transfers of unknown items are dropped, counted on /metrics and logged.
func (s *Server) admitReport(w http.ResponseWriter, r *http.Request, b store.Box, req *protocol.SyncRequest) bool {
	dropped, err := s.screenReport(r.Context(), req)
	switch {
	case errors.Is(err, errCatalog):
		s.internal(w, r, err)
		return false
	case err != nil:
		s.metrics.reportRefused.Inc()
		writeError(w, http.StatusBadRequest, "bad_report", err.Error()+": the box's report is refused; nothing of this sync was stored")
		return false
	case dropped > 0:
		s.metrics.reportDropped.Add(float64(dropped))
		s.cfg.Log.Warn("sync named items the catalog does not know; their holdings and transfers were dropped", "box", b.ID, "dropped", dropped)
	}
	return true
}

// itemBounds is what the report check needs of a catalog item.
type itemBounds struct {
	sealedSize int64
	pieces     int
}

// itemIndex caches the catalog's item sizes for the report check. Items are never changed once
// in the catalog, so the cache is read again only when a report names an item it lacks, and
// at most once per catalogReload (a box naming made-up items cannot make every sync read the
// catalog).
type itemIndex struct {
	mu     sync.Mutex
	items  map[media.ItemID]itemBounds
	loaded time.Time
}

// lookup returns the bounds of the items in ids that the catalog knows, reading the catalog
// again when one is missing and the last read is older than catalogReload.
func (s *Server) lookupItems(ctx context.Context, ids []media.ItemID) (map[media.ItemID]itemBounds, error) {
	x := &s.itemIndex
	x.mu.Lock()
	defer x.mu.Unlock()
	missing := x.items == nil
	for _, id := range ids {
		if _, ok := x.items[id]; !ok {
			missing = true
			break
		}
	}
	if now := time.Now(); missing && (x.items == nil || now.Sub(x.loaded) >= catalogReload) {
		c, err := s.cfg.Store.Catalog(ctx)
		if err != nil {
			return nil, fmt.Errorf("%w: read the catalog to check a report: %w", errCatalog, err)
		}
		items := make(map[media.ItemID]itemBounds, len(c.Items))
		for _, it := range c.Items {
			items[it.ID] = itemBounds{sealedSize: it.SealedSize, pieces: it.Pieces}
		}
		x.items, x.loaded = items, now
	}
	return x.items, nil
}

// screenReport checks the numbers of a sync's report beyond what checkReport does, against
// the catalog: every count non-negative and bounded (transfer bytes by the item's size times a
// small factor, piece counts by the item's pieces, lists by MaxReportEntries), and drops the
// holdings and transfers of items the catalog does not know, returning how many it dropped.
// An error says which field is wrong; the sync is then refused and nothing of it stored.
func (s *Server) screenReport(ctx context.Context, req *protocol.SyncRequest) (dropped int, err error) {
	switch {
	case len(req.Wishlist) > MaxReportEntries:
		return 0, fmt.Errorf("wishlist: %d items, at most %d", len(req.Wishlist), MaxReportEntries)
	case len(req.Holdings) > MaxReportEntries:
		return 0, fmt.Errorf("holdings: %d entries, at most %d", len(req.Holdings), MaxReportEntries)
	case len(req.Transfers) > MaxReportEntries:
		return 0, fmt.Errorf("transfers: %d entries, at most %d", len(req.Transfers), MaxReportEntries)
	case len(req.Neighbors) > MaxReportPeers:
		return 0, fmt.Errorf("neighbors: %d entries, at most %d", len(req.Neighbors), MaxReportPeers)
	case len(req.PeerRates) > MaxReportPeers:
		return 0, fmt.Errorf("peer_rates: %d entries, at most %d", len(req.PeerRates), MaxReportPeers)
	case len(req.Areas) > maxReportAreas:
		return 0, fmt.Errorf("areas: %d entries, at most %d", len(req.Areas), maxReportAreas)
	case req.FreeBytes > maxReportBytes:
		return 0, fmt.Errorf("free_bytes: %d is more than any box holds", req.FreeBytes)
	case req.UplinkBytesPerSecond > maxReportRate || req.DownlinkBytesPerSecond > maxReportRate:
		return 0, fmt.Errorf("uplink_bps, downlink_bps: beyond %d bytes per second", int64(maxReportRate))
	}
	if req.RefusedPeers < 0 {
		return 0, fmt.Errorf("refused_peers: negative (%d)", req.RefusedPeers)
	}
	// A box answers only the challenges of the last answer (a handful); a proof is a nonce and
	// a SHA-256 in hex.
	if len(req.Proofs) > MaxReportProofs {
		return 0, fmt.Errorf("proofs: %d entries, at most %d", len(req.Proofs), MaxReportProofs)
	}
	for i, p := range req.Proofs {
		if len(p.Nonce) > maxProofField || len(p.Hash) > maxProofField {
			return 0, fmt.Errorf("proofs[%d]: nonce or hash longer than %d characters", i, maxProofField)
		}
	}
	for i, a := range req.Areas {
		if a.Quota > maxReportBytes || a.Used > maxReportBytes || a.Free > maxReportBytes {
			return 0, fmt.Errorf("areas[%d]: quota, used or free beyond %d bytes", i, int64(maxReportBytes))
		}
	}
	for i, r := range req.PeerRates {
		if r.Bytes > maxReportBytes || r.BytesPerSecond > maxReportRate {
			return 0, fmt.Errorf("peer_rates[%d]: bytes or bytes_per_second beyond any link", i)
		}
	}
	ids := make([]media.ItemID, 0, len(req.Holdings)+len(req.Transfers))
	for _, h := range req.Holdings {
		ids = append(ids, h.Item)
	}
	for _, t := range req.Transfers {
		ids = append(ids, t.Item)
	}
	if len(ids) == 0 {
		return 0, nil
	}
	items, err := s.lookupItems(ctx, ids)
	if err != nil {
		return 0, err
	}
	holdings := req.Holdings[:0:0]
	for i, h := range req.Holdings {
		it, ok := items[h.Item]
		if !ok {
			dropped++
			continue
		}
		if h.Pieces < 0 || h.Pieces > it.pieces {
			return 0, fmt.Errorf("holdings[%d].pieces: %d, but item %s has %d pieces", i, h.Pieces, h.Item, it.pieces)
		}
		holdings = append(holdings, h)
	}
	transfers := req.Transfers[:0:0]
	for i, t := range req.Transfers {
		it, ok := items[t.Item]
		if !ok {
			dropped++
			continue
		}
		limit := transferFactor*it.sealedSize + transferSlack
		switch {
		case t.BytesFromServer < 0 || t.BytesFromPeers < 0 || t.HashFailures < 0:
			return 0, fmt.Errorf("transfers[%d]: negative bytes_from_server, bytes_from_peers or hash_failures", i)
		case t.BytesFromServer > limit || t.BytesFromPeers > limit-t.BytesFromServer:
			return 0, fmt.Errorf("transfers[%d]: %d bytes from the server and %d from peers for item %s of %d bytes: more than %d× its size",
				i, t.BytesFromServer, t.BytesFromPeers, t.Item, it.sealedSize, transferFactor)
		case t.HashFailures > int64(transferFactor*it.pieces+16):
			return 0, fmt.Errorf("transfers[%d].hash_failures: %d for item %s of %d pieces", i, t.HashFailures, t.Item, it.pieces)
		case len(t.BadSources) > MaxBadSources:
			return 0, fmt.Errorf("transfers[%d].bad_sources: %d entries, at most %d", i, len(t.BadSources), MaxBadSources)
		}
		for j, b := range t.BadSources {
			if b.Pieces < 1 || b.Pieces > int64(transferFactor*it.pieces+16) {
				return 0, fmt.Errorf("transfers[%d].bad_sources[%d].pieces: %d for item %s of %d pieces", i, j, b.Pieces, t.Item, it.pieces)
			}
		}
		transfers = append(transfers, t)
	}
	if dropped > 0 {
		req.Holdings, req.Transfers = holdings, transfers
	}
	return dropped, nil
}

// MaxBadSources is the most bad sources one transfer report may name (a box fetches an item
// from at most 16 peer connections).
const MaxBadSources = 16

// MaxReportProofs is the most possession proofs one sync may carry.
const MaxReportProofs = 64

// maxProofField bounds a proof's nonce and hash (hex of 32 bytes is 64 characters).
const maxProofField = 128
