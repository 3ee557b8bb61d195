package store

import (
	"context"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"time"

	"swarmbox/cloud/throughput"
	"swarmbox/media"
	"swarmbox/sync/protocol"
)

// The sync path's own columns and tables: hashes of what a box last reported, so an unchanged
// wishlist, holdings or neighbour list is not rewritten on every sync; the signatures of recent
// box requests (replay protection shared by every head-end instance); and the latest plan of
// each region, which the instance holding the region's lease publishes for the others
// (migrations/0007_sync_hashes_replays_plans.sql; holdings' ranges: 0008_holding_ranges.sql;
// peer rates' decayed estimates: 0010_decayed_peer_rates.sql; where the box's address is:
// 0011_box_report_region.sql).

// ErrReplayed is returned by RecordSync when the request's replay key was already recorded.
var ErrReplayed = errors.New("this signed request was already received")

// SyncRecord is everything one box sync writes.
type SyncRecord struct {
	Box      media.BoxID
	PeerAddr string
	Req      protocol.SyncRequest // Req.Network: the network the head-end located the box in
	// Region is the region the box's address is in (SCHED-15); "" leaves it to its account's.
	Region string
	Now    time.Time
	// Replay, when set, is recorded until ReplayUntil (to the second); a second sync with the
	// same key and time fails with ErrReplayed and writes nothing. Every instance on the
	// database shares the record. ReplayUntil must follow from the request alone (its signed
	// date), so that a replay brings the same one.
	Replay      []byte
	ReplayUntil time.Time
}

// SyncResult is what RecordSync tells the syncing box beyond its plan, and what the planner
// needs of the box that the request does not carry.
type SyncResult struct {
	// WishlistVersion is the head-end's version of the box's wishlist; when it is newer than
	// the version the box sent, Wishlist is the list the box must adopt (a customer changed it
	// in the browser) and the wishlist the box reported was not saved.
	WishlistVersion int64
	Wishlist        []media.ItemID
	Adopt           bool
	// LastServed is when one of the box's own wishes last received bytes (now, if this report
	// has new ones), never a cache fill or range placement (SCHED-8); LastUploaded when
	// another box last reported receiving from it.
	LastServed, LastUploaded time.Time
	CatalogVersion           int64 // the catalog version the sync was saved against
	// AccountStatus and BalanceCents are the box's account's, as the sync was saved.
	AccountStatus string
	BalanceCents  int64
	Account       string // the box's account as the sync was saved; Unpaired until it is paired
	Located       string // SyncRecord.Region, as saved
}

// SaveSync records a sync without a replay key (see RecordSync).
func (s *Store) SaveSync(ctx context.Context, box media.BoxID, peerAddr string, req protocol.SyncRequest, now time.Time) (SyncResult, error) {
	return s.RecordSync(ctx, SyncRecord{Box: box, PeerAddr: peerAddr, Req: req, Now: now})
}

// RecordSync records a sync in one transaction: the box's wishlist, holdings, transfer reports
// and scheduling report (caps, network, NAT, areas, neighbours, peer rates). Items the catalog
// does not know are dropped, and piece counts are clamped to the item's, so one box's bad report
// cannot make the whole snapshot invalid. A wishlist reported against an older version than the
// head-end's is not saved: the customer's change in the browser wins and goes back to the box
// in the result.
//
// Concurrent calls are committed together (group commit, see commitBatch): one transaction for
// many boxes' syncs, one failing sync never undoing the others; every caller returns only after
// the transaction holding its writes committed.
func (s *Store) RecordSync(ctx context.Context, r SyncRecord) (SyncResult, error) {
	var res SyncResult
	err := s.grouped(ctx, r.Box.String(), func(ctx context.Context, tx *tx) error {
		var err error
		res, err = saveSync(ctx, tx, r)
		return err
	})
	return res, err
}

func saveSync(ctx context.Context, tx *tx, r SyncRecord) (SyncResult, error) {
	var res SyncResult
	id, at, req := r.Box.String(), r.Now.UnixMilli(), r.Req
	var wishH, holdH, nbrH, served, uploaded int64
	err := tx.QueryRowContext(ctx, `SELECT b.wish_version, b.wish_hash, b.hold_hash, b.nbr_hash,
		COALESCE(r.last_served, 0), COALESCE(r.last_uploaded, 0),
		(SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'catalog_version'), a.status, a.balance_cents, a.id
		FROM boxes b JOIN accounts a ON a.id = b.account LEFT JOIN box_reports r ON r.box = b.id WHERE b.id = ?`, id).
		Scan(&res.WishlistVersion, &wishH, &holdH, &nbrH, &served, &uploaded, &res.CatalogVersion, &res.AccountStatus, &res.BalanceCents, &res.Account)
	if errors.Is(err, sql.ErrNoRows) {
		return res, clean(fmt.Errorf("box %s: %w", r.Box, ErrNotFound))
	}
	if err != nil {
		return res, err
	}
	if len(r.Replay) > 0 { // the first write: a refusal before it leaves nothing to undo
		n, err := tx.ExecContext(ctx, `INSERT INTO replays (key) VALUES (?) ON CONFLICT (key) DO NOTHING`, replayKey(r.ReplayUntil, r.Replay))
		if err != nil {
			return res, err
		}
		if k, err := n.RowsAffected(); err != nil || k != 1 {
			return res, clean(ErrReplayed)
		}
	}
	// The hashes cover the catalog version: what was dropped as unknown is tried again once
	// the catalog changed.
	newWish, newHold, newNbr := listHash(res.CatalogVersion, req.Wishlist, nil), holdingsHash(res.CatalogVersion, req.Holdings), neighborsHash(req.Neighbors)
	res.Adopt = req.WishlistVersion < res.WishlistVersion
	if res.Adopt {
		newWish = wishH // the stored list stays
	}
	if _, err := tx.ExecContext(ctx, `UPDATE boxes SET peer_addr = ?, free_bytes = ?, last_sync = ?, wish_hash = ?, hold_hash = ?, nbr_hash = ? WHERE id = ?`,
		r.PeerAddr, req.FreeBytes, at, newWish, newHold, newNbr, id); err != nil {
		return res, err
	}
	switch {
	case res.Adopt:
		if res.Wishlist, err = wishlist(ctx, tx, id); err != nil {
			return res, err
		}
	case newWish != wishH:
		if err := replaceWishes(ctx, tx, id, req.Wishlist); err != nil {
			return res, err
		}
	}
	if newHold != holdH {
		if _, err := tx.ExecContext(ctx, `DELETE FROM holdings WHERE box = ?`, id); err != nil {
			return res, err
		}
		for _, h := range req.Holdings {
			var r media.PieceRange
			if h.Range != nil {
				r = *h.Range
			}
			// A range outside the item's pieces is kept as none: the planner then sees a
			// partial holding of the whole item, never an impossible range.
			if _, err := tx.ExecContext(ctx, `INSERT INTO holdings (box, item, pieces, complete, range_begin, range_end)
				SELECT ?, id, CASE WHEN CAST(? AS INTEGER) < 0 THEN 0 WHEN CAST(? AS INTEGER) > pieces THEN pieces ELSE CAST(? AS INTEGER) END, CAST(? AS INTEGER),
					CASE WHEN CAST(? AS INTEGER) >= 0 AND CAST(? AS INTEGER) > CAST(? AS INTEGER) AND CAST(? AS INTEGER) <= pieces THEN CAST(? AS INTEGER) ELSE 0 END,
					CASE WHEN CAST(? AS INTEGER) >= 0 AND CAST(? AS INTEGER) > CAST(? AS INTEGER) AND CAST(? AS INTEGER) <= pieces THEN CAST(? AS INTEGER) ELSE 0 END
				FROM items WHERE id = ?
				ON CONFLICT (box, item) DO UPDATE SET pieces = excluded.pieces, complete = excluded.complete,
					range_begin = excluded.range_begin, range_end = excluded.range_end`,
				id, h.Pieces, h.Pieces, h.Pieces, b2i(h.Complete),
				r.Begin, r.End, r.Begin, r.End, r.Begin,
				r.Begin, r.End, r.Begin, r.End, r.End,
				h.Item.String()); err != nil {
				return res, err
			}
		}
	}
	received, err := ownWishReceived(ctx, tx, id, req, res)
	if err != nil {
		return res, err
	}
	for _, t := range req.Transfers {
		if _, err := tx.ExecContext(ctx, `INSERT INTO transfers (box, item, bytes_from_server, bytes_from_peers, complete, updated)
			VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (box, item) DO UPDATE SET bytes_from_server = excluded.bytes_from_server,
				bytes_from_peers = excluded.bytes_from_peers, complete = excluded.complete, updated = excluded.updated`,
			id, t.Item.String(), t.BytesFromServer, t.BytesFromPeers, b2i(t.Complete), at); err != nil {
			return res, err
		}
	}
	if received {
		served = at
	}
	res.LastServed, res.LastUploaded = millis(served), millis(uploaded)
	res.Located = r.Region
	freeWish, freeCache := FreeSpace(req)
	cache := []media.ItemID{}
	for _, h := range req.Holdings {
		if h.Area == protocol.AreaCache {
			cache = append(cache, h.Item)
		}
	}
	cj, err := json.Marshal(cache)
	if err != nil {
		return res, err
	}
	dl := req.Deadlines
	if dl == nil {
		dl = []protocol.WishDeadline{}
	}
	dj, err := json.Marshal(dl)
	if err != nil {
		return res, err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO box_reports (box, network, region, nat, uplink, downlink, free_wish, free_cache, cache_items, deadlines, last_served, updated)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (box) DO UPDATE SET network = excluded.network, region = excluded.region, nat = excluded.nat, uplink = excluded.uplink,
			downlink = excluded.downlink, free_wish = excluded.free_wish, free_cache = excluded.free_cache,
			cache_items = excluded.cache_items, deadlines = excluded.deadlines, last_served = excluded.last_served, updated = excluded.updated`,
		id, req.Network, r.Region, b2i(req.BehindNAT), req.UplinkBytesPerSecond, req.DownlinkBytesPerSecond, freeWish, freeCache, string(cj), string(dj), served, at); err != nil {
		return res, err
	}
	if newNbr != nbrH {
		if _, err := tx.ExecContext(ctx, `DELETE FROM box_neighbors WHERE box = ?`, id); err != nil {
			return res, err
		}
		for _, n := range req.Neighbors {
			if _, err := tx.ExecContext(ctx, `INSERT INTO box_neighbors (box, neighbor) VALUES (?, ?) ON CONFLICT (box, neighbor) DO NOTHING`, id, n.Box.String()); err != nil {
				return res, err
			}
		}
	}
	for _, pr := range req.PeerRates {
		var before, beforeBPS, estAt int64
		var est throughput.Estimate
		err := tx.QueryRowContext(ctx, `SELECT bytes, bps, est_bytes, est_seconds, est_at FROM peer_rates WHERE box = ? AND peer = ?`, id, pr.Box.String()).
			Scan(&before, &beforeBPS, &est.Bytes, &est.Seconds, &estAt)
		if err != nil && err != sql.ErrNoRows {
			return res, err
		}
		// The box reports running totals; what they add since its last report is a sample of
		// the pair's decayed estimate (SCHED-5).
		est.At = millis(estAt)
		n, secs := throughput.Sample(before, beforeBPS, pr.Bytes, pr.BytesPerSecond)
		if est = est.Add(n, secs, r.Now); !est.At.IsZero() {
			estAt = est.At.UnixMilli()
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO peer_rates (box, peer, bytes, bps, est_bytes, est_seconds, est_at) VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (box, peer) DO UPDATE SET bytes = excluded.bytes, bps = excluded.bps,
				est_bytes = excluded.est_bytes, est_seconds = excluded.est_seconds, est_at = excluded.est_at`,
			id, pr.Box.String(), pr.Bytes, pr.BytesPerSecond, est.Bytes, est.Seconds, estAt); err != nil {
			return res, err
		}
		if pr.Bytes > before { // the peer sent since the last report: it was uploading
			if _, err := tx.ExecContext(ctx, `INSERT INTO box_reports (box, last_uploaded) SELECT id, CAST(? AS BIGINT) FROM boxes WHERE id = ?
				ON CONFLICT (box) DO UPDATE SET last_uploaded = excluded.last_uploaded`, at, pr.Box.String()); err != nil {
				return res, err
			}
		}
	}
	return res, nil
}

// ownWishReceived says whether the sync reports bytes newly received (since the box's last
// report) for one of the household's own wishes: an item on the box's wishlist that it does not
// hold in its cache area or as a range placement. Lending cache to others (range placements
// never complete) and a stalled download receive nothing for the household (SCHED-8).
func ownWishReceived(ctx context.Context, tx *tx, box string, req protocol.SyncRequest, res SyncResult) (bool, error) {
	if len(req.Transfers) == 0 {
		return false, nil
	}
	wish := req.Wishlist
	if res.Adopt {
		wish = res.Wishlist
	}
	own := make(map[media.ItemID]bool, len(wish))
	for _, id := range wish {
		own[id] = true
	}
	for _, h := range req.Holdings {
		if h.Area == protocol.AreaCache || h.Range != nil {
			delete(own, h.Item)
		}
	}
	if len(own) == 0 {
		return false, nil
	}
	rows, err := tx.QueryContext(ctx, `SELECT item, bytes_from_server + bytes_from_peers FROM transfers WHERE box = ?`, box)
	if err != nil {
		return false, err
	}
	defer rows.Close()
	before := map[string]int64{}
	for rows.Next() {
		var item string
		var n int64
		if err := rows.Scan(&item, &n); err != nil {
			return false, err
		}
		before[item] = n
	}
	if err := rows.Err(); err != nil {
		return false, err
	}
	for _, t := range req.Transfers {
		n := t.BytesFromServer + t.BytesFromPeers
		prev, ok := before[t.Item.String()]
		// A total below the last means the box counts again from zero (it fetched anew).
		if own[t.Item] && n > 0 && (!ok || n != prev) {
			return true, nil
		}
	}
	return false, nil
}

// FreeSpace is the free bytes a sync reports for wishes and for the cache: a box without a
// wishlist area figure has the disk's free bytes for its wishes; without a cache area it lends
// nothing.
func FreeSpace(req protocol.SyncRequest) (wish, cache int64) {
	wish = req.FreeBytes
	for _, a := range req.Areas {
		switch a.Area {
		case protocol.AreaWishlist:
			wish = a.Free
		case protocol.AreaCache:
			cache = a.Free
		}
	}
	return wish, cache
}

// listHash hashes an ordered list of ids with the catalog version; 0 is kept for "unknown".
func listHash(version int64, ids []media.ItemID, extra func(i int) []byte) int64 {
	h := fnv.New64a()
	var buf [8]byte
	binary.LittleEndian.PutUint64(buf[:], uint64(version))
	h.Write(buf[:])
	for i, id := range ids {
		h.Write(id[:])
		if extra != nil {
			h.Write(extra(i))
		}
	}
	return nonZero(h.Sum64())
}

func holdingsHash(version int64, hs []protocol.Holding) int64 {
	ids := make([]media.ItemID, len(hs))
	for i, h := range hs {
		ids[i] = h.Item
	}
	var buf [25]byte
	return listHash(version, ids, func(i int) []byte {
		binary.LittleEndian.PutUint64(buf[:8], uint64(hs[i].Pieces))
		buf[8] = byte(b2i(hs[i].Complete))
		var r media.PieceRange
		if hs[i].Range != nil {
			r = *hs[i].Range
		}
		binary.LittleEndian.PutUint64(buf[9:17], uint64(r.Begin))
		binary.LittleEndian.PutUint64(buf[17:], uint64(r.End))
		return buf[:]
	})
}

func neighborsHash(ns []protocol.Neighbor) int64 {
	h := fnv.New64a()
	for _, n := range ns {
		h.Write(n.Box[:])
	}
	return nonZero(h.Sum64())
}

func nonZero(h uint64) int64 {
	if h == 0 {
		return 1
	}
	return int64(h)
}

// replayKey is a replay key as stored: when it may be forgotten (Unix seconds, big-endian)
// followed by the caller's key. Keys sort by time, so new ones go to the end of the table's
// b-tree (a sync touches one hot page, not a random one plus an index) and expired ones are a
// range at its start. The time must come from the request itself (its signed date), so that a
// replay makes the same key.
func replayKey(until time.Time, key []byte) []byte {
	out := binary.BigEndian.AppendUint64(make([]byte, 0, 8+len(key)), uint64(until.Unix()))
	return append(out, key...)
}

// PruneReplays forgets replay keys that ran out before now.
func (s *Store) PruneReplays(ctx context.Context, now time.Time) error {
	return s.grouped(ctx, "", func(ctx context.Context, tx *tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM replays WHERE key < ?`, replayKey(now, nil))
		return err
	})
}

// Regions lists the regions of every account (not Unpaired's: unpaired boxes are not planned).
func (s *Store) Regions(ctx context.Context) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT DISTINCT region FROM accounts WHERE id <> '' ORDER BY region`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var r string
		if err := rows.Scan(&r); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// ErrNotHolder is returned by SavePlan when holder does not hold the region's lease (any more).
var ErrNotHolder = errors.New("not the holder of the region's planner lease")

// SavePlan publishes a region's plan, if holder holds lease at now, and returns the plan's new
// version.
func (s *Store) SavePlan(ctx context.Context, region, lease, holder string, body []byte, now time.Time) (int64, error) {
	var v int64
	err := s.grouped(ctx, "", func(ctx context.Context, tx *tx) error {
		var ok int
		err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM leases WHERE name = ? AND holder = ? AND expires > ?`, lease, holder, now.UnixMilli()).Scan(&ok)
		if err != nil {
			return err
		}
		if ok == 0 {
			return clean(fmt.Errorf("plan of region %q: %w", region, ErrNotHolder))
		}
		return tx.QueryRowContext(ctx, `INSERT INTO plans (region, version, holder, at, body) VALUES (?, 1, ?, ?, ?)
			ON CONFLICT (region) DO UPDATE SET version = plans.version + 1, holder = excluded.holder, at = excluded.at, body = excluded.body
			RETURNING version`, region, holder, now.UnixMilli(), body).Scan(&v)
	})
	return v, err
}

// PlanVersion returns the version of a region's published plan (0: none yet).
func (s *Store) PlanVersion(ctx context.Context, region string) (int64, error) {
	var v int64
	err := s.db.QueryRowContext(ctx, `SELECT version FROM plans WHERE region = ?`, region).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return v, err
}

// Plan returns a region's published plan with its version.
func (s *Store) Plan(ctx context.Context, region string) (int64, []byte, error) {
	var v int64
	var body []byte
	err := s.db.QueryRowContext(ctx, `SELECT version, body FROM plans WHERE region = ?`, region).Scan(&v, &body)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil, fmt.Errorf("plan of region %q: %w", region, ErrNotFound)
	}
	return v, body, err
}
