package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"swarmbox/media"
	"swarmbox/sync/protocol"
)

// ErrKeyMismatch is returned when a box id is registered again with other keys.
var ErrKeyMismatch = errors.New("box is registered with other keys")

// Box is a registered set-top box.
type Box struct {
	ID         media.BoxID
	Account    string
	Region     string // the account's region
	SignKey    []byte
	KEMKey     []byte
	PeerAddr   string
	FreeBytes  int64
	Registered time.Time
	LastSync   time.Time
	Paired     time.Time // when it was paired to Account; zero while Unpaired
}

// RegisterBox records a box under an existing account, or under no household (Unpaired) when
// b.Account is empty: such a box pairs later (pairing.go). Registering the same box with the same
// keys again is a no-op, so a box can retry after a lost answer.
func (s *Store) RegisterBox(ctx context.Context, b Box) (Box, error) {
	if err := s.tx(ctx, func(tx *tx) error { return registerIn(ctx, tx, b) }); err != nil {
		return Box{}, err
	}
	return s.Box(ctx, b.ID)
}

func registerIn(ctx context.Context, tx *tx, b Box) error {
	var status string
	err := tx.QueryRowContext(ctx, `SELECT status FROM accounts WHERE id = ?`, b.Account).Scan(&status)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("account %q: %w", b.Account, ErrNotFound)
	}
	if err != nil {
		return err
	}
	var sk, kk []byte
	err = tx.QueryRowContext(ctx, `SELECT sign_key, kem_key FROM boxes WHERE id = ?`, b.ID.String()).Scan(&sk, &kk)
	switch {
	case err == nil:
		if !bytes.Equal(sk, b.SignKey) || !bytes.Equal(kk, b.KEMKey) {
			return ErrKeyMismatch
		}
		return nil
	case !errors.Is(err, sql.ErrNoRows):
		return err
	}
	var paired int64
	if b.Account != Unpaired {
		paired = b.Registered.UnixMilli()
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO boxes (id, account, sign_key, kem_key, registered, paired) VALUES (?, ?, ?, ?, ?, ?)`,
		b.ID.String(), b.Account, b.SignKey, b.KEMKey, b.Registered.UnixMilli(), paired)
	return err
}

// Box returns a registered box.
func (s *Store) Box(ctx context.Context, id media.BoxID) (Box, error) {
	b := Box{ID: id}
	var reg, last, paired int64
	err := s.db.QueryRowContext(ctx, `SELECT b.account, a.region, b.sign_key, b.kem_key, b.peer_addr, b.free_bytes, b.registered, b.last_sync, b.paired
		FROM boxes b JOIN accounts a ON a.id = b.account WHERE b.id = ?`, id.String()).
		Scan(&b.Account, &b.Region, &b.SignKey, &b.KEMKey, &b.PeerAddr, &b.FreeBytes, &reg, &last, &paired)
	if errors.Is(err, sql.ErrNoRows) {
		return b, fmt.Errorf("box %s: %w", id, ErrNotFound)
	}
	b.Registered, b.LastSync = time.UnixMilli(reg).UTC(), time.UnixMilli(last).UTC()
	if paired != 0 {
		b.Paired = time.UnixMilli(paired).UTC()
	}
	return b, err
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// replaceWishes stores a box's wishlist in order, dropping unknown items and repeats.
func replaceWishes(ctx context.Context, q querier, box string, items []media.ItemID) error {
	if _, err := q.ExecContext(ctx, `DELETE FROM wishes WHERE box = ?`, box); err != nil {
		return err
	}
	for rank, it := range items {
		if _, err := q.ExecContext(ctx, `INSERT INTO wishes (box, item, rank) SELECT ?, id, CAST(? AS INTEGER) FROM items WHERE id = ?
			ON CONFLICT (box, item) DO NOTHING`, box, rank, it.String()); err != nil {
			return err
		}
	}
	return nil
}

// wishlist returns one box's wishlist in priority order.
func wishlist(ctx context.Context, q querier, box string) ([]media.ItemID, error) {
	rows, err := q.QueryContext(ctx, `SELECT item FROM wishes WHERE box = ? ORDER BY rank`, box)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []media.ItemID{}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		id, err := media.ParseItemID(s)
		if err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// BoxState is a box as the scheduler sees it.
type BoxState struct {
	ID       media.BoxID
	PeerAddr string
	Wishlist []media.ItemID
	Holdings []protocol.Holding
}

// BoxStates returns every box with its wishlist (in priority order) and holdings.
func (s *Store) BoxStates(ctx context.Context) ([]BoxState, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, peer_addr FROM boxes ORDER BY id`)
	if err != nil {
		return nil, err
	}
	var out []BoxState
	idx := map[string]int{}
	for rows.Next() {
		var id, addr string
		if err := rows.Scan(&id, &addr); err != nil {
			rows.Close()
			return nil, err
		}
		bid, err := media.ParseBoxID(id)
		if err != nil {
			rows.Close()
			return nil, err
		}
		idx[id] = len(out)
		out = append(out, BoxState{ID: bid, PeerAddr: addr})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if err := s.eachRow(ctx, `SELECT box, item FROM wishes ORDER BY box, rank`, func(box string, item media.ItemID, _ ...int64) {
		if i, ok := idx[box]; ok {
			out[i].Wishlist = append(out[i].Wishlist, item)
		}
	}); err != nil {
		return nil, err
	}
	if err := s.eachRow(ctx, `SELECT box, item, pieces, complete, range_begin, range_end FROM holdings ORDER BY box, item`, func(box string, item media.ItemID, v ...int64) {
		if i, ok := idx[box]; ok {
			out[i].Holdings = append(out[i].Holdings, protocol.Holding{Item: item, Pieces: int(v[0]), Complete: v[1] != 0, Range: holdingRange(v[2], v[3])})
		}
	}); err != nil {
		return nil, err
	}
	return out, nil
}

// eachRow runs a query whose first two columns are a box id and an item id, followed by integers.
func (s *Store) eachRow(ctx context.Context, query string, f func(box string, item media.ItemID, v ...int64)) error {
	rows, err := s.db.QueryContext(ctx, query)
	if err != nil {
		return err
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	for rows.Next() {
		var box, item string
		v := make([]int64, len(cols)-2)
		dst := []any{&box, &item}
		for i := range v {
			dst = append(dst, &v[i])
		}
		if err := rows.Scan(dst...); err != nil {
			return err
		}
		id, err := media.ParseItemID(item)
		if err != nil {
			return err
		}
		f(box, id, v...)
	}
	return rows.Err()
}

// AddServed counts bytes the web seed sent to a box for an item.
func (s *Store) AddServed(ctx context.Context, box media.BoxID, item media.ItemID, n int64) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO served (box, item, bytes) VALUES (?, ?, ?)
		ON CONFLICT (box, item) DO UPDATE SET bytes = served.bytes + excluded.bytes`, box.String(), item.String(), n)
	return err
}

// Transfer is one box's transfer of one item, as the box reported it, with what the web seed
// counted on the head-end's side.
type Transfer struct {
	Box             media.BoxID  `json:"box"`
	Item            media.ItemID `json:"item"`
	Title           string       `json:"title"`
	BytesFromServer int64        `json:"bytes_from_server"`
	BytesFromPeers  int64        `json:"bytes_from_peers"`
	ServerCounted   int64        `json:"server_counted_bytes"`
	Complete        bool         `json:"complete"`
}

// Transfers lists every reported transfer, oldest report first.
func (s *Store) Transfers(ctx context.Context) ([]Transfer, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT t.box, t.item, COALESCE(i.title, ''), t.bytes_from_server, t.bytes_from_peers,
		COALESCE(sv.bytes, 0), t.complete
		FROM transfers t LEFT JOIN items i ON i.id = t.item LEFT JOIN served sv ON sv.box = t.box AND sv.item = t.item
		ORDER BY t.updated, t.box`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Transfer{}
	for rows.Next() {
		var t Transfer
		var box, item string
		if err := rows.Scan(&box, &item, &t.Title, &t.BytesFromServer, &t.BytesFromPeers, &t.ServerCounted, &t.Complete); err != nil {
			return nil, err
		}
		if t.Box, err = media.ParseBoxID(box); err != nil {
			return nil, err
		}
		if t.Item, err = media.ParseItemID(item); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// ServedBytes returns how many bytes of an item the web seed sent to all boxes together.
func (s *Store) ServedBytes(ctx context.Context, item media.ItemID) (int64, error) {
	var n int64
	err := s.db.QueryRowContext(ctx, `SELECT COALESCE(SUM(bytes), 0) FROM served WHERE item = ?`, item.String()).Scan(&n)
	return n, err
}

// PeerBytesReported sums the bytes boxes last reported receiving from other boxes.
func (s *Store) PeerBytesReported(ctx context.Context) (int64, error) {
	var n int64
	err := s.db.QueryRowContext(ctx, `SELECT COALESCE(SUM(bytes_from_peers), 0) FROM transfers`).Scan(&n)
	return n, err
}
