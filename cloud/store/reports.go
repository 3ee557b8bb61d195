package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"swarmbox/cloud/throughput"
	"swarmbox/media"
	"swarmbox/sync/protocol"
)

// The scheduler's view of a box beyond wishes and holdings: link caps, network, NAT, free space
// per area, LAN neighbours and measured peer rates. Its tables: migrations/0004_box_reports.sql.

// Report is what the scheduler knows of a box beyond its wishes and holdings.
type Report struct {
	Box        media.BoxID
	Region     string // the account's region
	Network    string // the network the head-end located the box in at its last sync
	Located    string // the region its address was in then (SCHED-15); "" = not known
	NAT        bool
	Uplink     int64 // bytes/s, 0 = unknown
	Downlink   int64
	FreeWish   int64
	FreeCache  int64
	CacheItems []media.ItemID // holdings in the cache area
	Neighbors  []media.BoxID
	Rates      []PeerRate // measured from each peer into this box
	// Deadlines are the household's "ready by" times of its last report (SCHED-18).
	Deadlines []protocol.WishDeadline
	// LastServed is the last report with new bytes for one of the box's own wishes (SCHED-8);
	// LastUploaded the last time another box reported receiving from this one; Updated the
	// last report.
	LastServed, LastUploaded, Updated time.Time
}

// PeerRate is what a box measured receiving from one peer box: the totals of its last report
// (since its transfer engine started) and the decayed estimate the reports added up to
// (SCHED-5).
type PeerRate struct {
	Box            media.BoxID
	Bytes          int64
	BytesPerSecond int64
	Measured       throughput.Estimate
}

// Reports returns every registered box's report with its account's region; a box that never
// reported has only Box and Region set.
func (s *Store) Reports(ctx context.Context) ([]Report, error) { return s.reports(ctx, "") }

// Report returns one box's report (see Reports).
func (s *Store) Report(ctx context.Context, box media.BoxID) (Report, error) {
	r, err := s.reports(ctx, box.String())
	if err != nil {
		return Report{}, err
	}
	if len(r) == 0 {
		return Report{}, fmt.Errorf("box %s: %w", box, ErrNotFound)
	}
	return r[0], nil
}

// reports loads the reports of every box, or of one when box is not empty.
func (s *Store) reports(ctx context.Context, box string) ([]Report, error) {
	// One box's report is read on every sync: a query of its own, so the box's key is used
	// rather than a scan of every box.
	where, boxWhere, args := ``, ``, []any{}
	if box != "" {
		where, boxWhere, args = ` WHERE box = ?`, ` WHERE b.id = ?`, []any{box}
	}
	rows, err := s.db.QueryContext(ctx, `SELECT b.id, a.region, COALESCE(r.network, ''), COALESCE(r.region, ''), COALESCE(r.nat, 0), COALESCE(r.uplink, 0),
		COALESCE(r.downlink, 0), COALESCE(r.free_wish, b.free_bytes), COALESCE(r.free_cache, 0), COALESCE(r.cache_items, '[]'),
		COALESCE(r.deadlines, '[]'), COALESCE(r.last_served, 0), COALESCE(r.last_uploaded, 0), COALESCE(r.updated, b.last_sync)
		FROM boxes b JOIN accounts a ON a.id = b.account LEFT JOIN box_reports r ON r.box = b.id`+boxWhere+` ORDER BY b.id`, args...)
	if err != nil {
		return nil, err
	}
	var out []Report
	idx := map[string]int{}
	for rows.Next() {
		var r Report
		var id, cj, dj string
		var served, uploaded, updated int64
		if err := rows.Scan(&id, &r.Region, &r.Network, &r.Located, &r.NAT, &r.Uplink, &r.Downlink, &r.FreeWish, &r.FreeCache, &cj, &dj, &served, &uploaded, &updated); err != nil {
			rows.Close()
			return nil, err
		}
		if r.Box, err = media.ParseBoxID(id); err == nil {
			err = json.Unmarshal([]byte(cj), &r.CacheItems)
		}
		if err == nil {
			err = json.Unmarshal([]byte(dj), &r.Deadlines)
		}
		if err != nil {
			rows.Close()
			return nil, err
		}
		r.LastServed, r.LastUploaded, r.Updated = millis(served), millis(uploaded), millis(updated)
		idx[id] = len(out)
		out = append(out, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if err := s.boxPairs(ctx, `SELECT box, neighbor, 0, 0 FROM box_neighbors`+where+` ORDER BY box, neighbor`, args, func(box string, peer media.BoxID, _, _ int64) {
		if i, ok := idx[box]; ok {
			out[i].Neighbors = append(out[i].Neighbors, peer)
		}
	}); err != nil {
		return nil, err
	}
	rows, err = s.db.QueryContext(ctx, `SELECT box, peer, bytes, bps, est_bytes, est_seconds, est_at FROM peer_rates`+where+` ORDER BY box, peer`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var box, peer string
		var pr PeerRate
		var at int64
		if err := rows.Scan(&box, &peer, &pr.Bytes, &pr.BytesPerSecond, &pr.Measured.Bytes, &pr.Measured.Seconds, &at); err != nil {
			return nil, err
		}
		if pr.Box, err = media.ParseBoxID(peer); err != nil {
			return nil, err
		}
		pr.Measured.At = millis(at)
		if i, ok := idx[box]; ok {
			out[i].Rates = append(out[i].Rates, pr)
		}
	}
	return out, rows.Err()
}

func millis(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

// boxPairs runs a query of (box, other box, integer, integer) rows.
func (s *Store) boxPairs(ctx context.Context, query string, args []any, f func(box string, peer media.BoxID, a, b int64)) error {
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var box, peer string
		var a, b int64
		if err := rows.Scan(&box, &peer, &a, &b); err != nil {
			return err
		}
		p, err := media.ParseBoxID(peer)
		if err != nil {
			return err
		}
		f(box, p, a, b)
	}
	return rows.Err()
}

// holdingRange is a stored holding's range placement: nil for the whole item.
func holdingRange(begin, end int64) *media.PieceRange {
	if end <= begin {
		return nil
	}
	return &media.PieceRange{Begin: int(begin), End: int(end)}
}

// BoxState returns one box's wishlist (in priority order), holdings and peer address.
func (s *Store) BoxState(ctx context.Context, box media.BoxID) (BoxState, error) {
	st := BoxState{ID: box}
	id := box.String()
	err := s.db.QueryRowContext(ctx, `SELECT peer_addr FROM boxes WHERE id = ?`, id).Scan(&st.PeerAddr)
	if err == sql.ErrNoRows {
		return st, fmt.Errorf("box %s: %w", box, ErrNotFound)
	}
	if err != nil {
		return st, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT item FROM wishes WHERE box = ? ORDER BY rank`, id)
	if err != nil {
		return st, err
	}
	defer rows.Close()
	for rows.Next() {
		var item string
		if err := rows.Scan(&item); err != nil {
			return st, err
		}
		it, err := media.ParseItemID(item)
		if err != nil {
			return st, err
		}
		st.Wishlist = append(st.Wishlist, it)
	}
	if err := rows.Err(); err != nil {
		return st, err
	}
	hr, err := s.db.QueryContext(ctx, `SELECT item, pieces, complete, range_begin, range_end FROM holdings WHERE box = ? ORDER BY item`, id)
	if err != nil {
		return st, err
	}
	defer hr.Close()
	for hr.Next() {
		var item string
		var h protocol.Holding
		var begin, end int64
		if err := hr.Scan(&item, &h.Pieces, &h.Complete, &begin, &end); err != nil {
			return st, err
		}
		h.Range = holdingRange(begin, end)
		if h.Item, err = media.ParseItemID(item); err != nil {
			return st, err
		}
		st.Holdings = append(st.Holdings, h)
	}
	return st, hr.Err()
}
