package storage

// What the box keeps for the head-end while it cannot reach it: the household's wishlist edits
// not yet carried by a sync, the head-end's wishlist version the box last adopted, and the last
// plan's peers (who may connect, and whom to fetch from), so a box restarted offline goes on
// serving and fetching on its LAN.

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"swarmbox/media"
)

// pendingSchema is box.db version 6.
const pendingSchema = `
CREATE TABLE wish_edits (
	seq INTEGER PRIMARY KEY AUTOINCREMENT,
	op TEXT NOT NULL,
	item TEXT NOT NULL DEFAULT '',
	pos INTEGER NOT NULL DEFAULT 0,
	list TEXT NOT NULL DEFAULT '[]'
);
INSERT OR IGNORE INTO meta (key, value) VALUES ('adopted_wish_version', 0);
INSERT OR IGNORE INTO meta (key, value) VALUES ('plan_strict', 0);
CREATE TABLE plan_accept (addr TEXT PRIMARY KEY);
CREATE TABLE plan_sources (item TEXT NOT NULL, box TEXT NOT NULL, addr TEXT NOT NULL, dial INTEGER NOT NULL, PRIMARY KEY (item, addr));
`

// The kinds of wishlist edit.
const (
	EditSet    = "set"    // WishEdit.List replaces the list
	EditMove   = "move"   // WishEdit.Item goes to position WishEdit.Pos (1 = first), added if missing
	EditRemove = "remove" // WishEdit.Item leaves the list
)

// WishEdit is one change the household made to the wishlist.
type WishEdit struct {
	Op   string
	Item media.ItemID
	Pos  int            // EditMove: 1-based; past the end means last
	List []media.ItemID // EditSet
}

// PendingEdit is a wishlist edit no sync has carried to the head-end yet, numbered in the order
// it was made.
type PendingEdit struct {
	Seq int64
	WishEdit
}

// ErrBadEdit is returned for an edit of an unknown kind or a position below 1.
var ErrBadEdit = errors.New("bad wishlist edit")

// Apply returns list with e applied; list is not changed. The result has each item once: a
// list that repeats an item (never one this package stored) keeps its first, before the edit,
// so a move lands where it was asked.
func (e WishEdit) Apply(list []media.ItemID) ([]media.ItemID, error) {
	var out []media.ItemID
	switch e.Op {
	case EditSet:
		out = unique(e.List)
	case EditMove:
		if e.Pos < 1 {
			return nil, fmt.Errorf("%w: position %d, positions start at 1", ErrBadEdit, e.Pos)
		}
		out = slices.DeleteFunc(unique(list), func(x media.ItemID) bool { return x == e.Item })
		out = slices.Insert(out, min(e.Pos-1, len(out)), e.Item)
	case EditRemove:
		out = slices.DeleteFunc(unique(list), func(x media.ItemID) bool { return x == e.Item })
	default:
		return nil, fmt.Errorf("%w: unknown kind %q", ErrBadEdit, e.Op)
	}
	return out, nil
}

// unique returns a copy of list with each item's first occurrence only.
func unique(list []media.ItemID) []media.ItemID {
	seen := map[media.ItemID]bool{}
	return slices.DeleteFunc(slices.Clone(list), func(x media.ItemID) bool {
		dup := seen[x]
		seen[x] = true
		return dup
	})
}

// EditWishlist applies e to the stored wishlist and keeps e as pending for the head-end, in one
// transaction, and returns the new list. A sync carries it (AckEdits); if the household edited
// the list in the browser meanwhile, AdoptWishlist applies it again on top of theirs.
func (s *Store) EditWishlist(ctx context.Context, e WishEdit) ([]media.ItemID, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	list, err := wishlistIn(ctx, tx)
	if err != nil {
		return nil, err
	}
	if list, err = e.Apply(list); err != nil {
		return nil, err
	}
	if err := writeWishlist(ctx, tx, list); err != nil {
		return nil, err
	}
	lj, err := json.Marshal(ids(e.List))
	if err != nil {
		return nil, err
	}
	item := ""
	if e.Op != EditSet {
		item = e.Item.String()
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO wish_edits (op, item, pos, list) VALUES (?, ?, ?, ?)`, e.Op, item, e.Pos, string(lj)); err != nil {
		return nil, err
	}
	return list, tx.Commit()
}

// PendingEdits lists the wishlist edits no sync has carried yet, oldest first.
func (s *Store) PendingEdits(ctx context.Context) ([]PendingEdit, error) {
	return pendingIn(ctx, s.db)
}

// AckEdits forgets the pending edits up to seq: a sync that carried them succeeded.
func (s *Store) AckEdits(ctx context.Context, seq int64) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM wish_edits WHERE seq <= ?`, seq)
	return err
}

// AdoptedWishVersion is the head-end's wishlist version the box last adopted (0: none).
func (s *Store) AdoptedWishVersion(ctx context.Context) (int64, error) {
	var v int64
	err := s.db.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'adopted_wish_version'`).Scan(&v)
	return v, err
}

// AdoptWishlist takes the head-end's list at version (the customer changed it in the browser)
// and applies the pending edits on top of it, in order, in one transaction with recording the
// version; it returns the list the box now has. A version not newer than the adopted one changes
// nothing.
func (s *Store) AdoptWishlist(ctx context.Context, version int64, list []media.ItemID) ([]media.ItemID, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	var have int64
	if err := tx.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'adopted_wish_version'`).Scan(&have); err != nil {
		return nil, err
	}
	if version <= have {
		return wishlistIn(ctx, tx)
	}
	pend, err := pendingIn(ctx, tx)
	if err != nil {
		return nil, err
	}
	merged := slices.Clone(list)
	for _, p := range pend {
		if next, err := p.Apply(merged); err == nil {
			merged = next
		}
	}
	if err := writeWishlist(ctx, tx, merged); err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE meta SET value = ? WHERE key = 'adopted_wish_version'`, version); err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	return merged, nil
}

// querier is what runs a query, in a transaction or not.
type rowQuerier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func pendingIn(ctx context.Context, q rowQuerier) ([]PendingEdit, error) {
	rows, err := q.QueryContext(ctx, `SELECT seq, op, item, pos, list FROM wish_edits ORDER BY seq`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []PendingEdit
	for rows.Next() {
		var p PendingEdit
		var item, lj string
		if err := rows.Scan(&p.Seq, &p.Op, &item, &p.Pos, &lj); err != nil {
			return nil, err
		}
		if item != "" {
			if p.Item, err = media.ParseItemID(item); err != nil {
				return nil, fmt.Errorf("pending wishlist edit %d: %w", p.Seq, err)
			}
		}
		var ss []string
		if err := json.Unmarshal([]byte(lj), &ss); err != nil {
			return nil, fmt.Errorf("pending wishlist edit %d: %w", p.Seq, err)
		}
		for _, x := range ss {
			id, err := media.ParseItemID(x)
			if err != nil {
				return nil, fmt.Errorf("pending wishlist edit %d: %w", p.Seq, err)
			}
			p.List = append(p.List, id)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

func wishlistIn(ctx context.Context, q rowQuerier) ([]media.ItemID, error) {
	rows, err := q.QueryContext(ctx, `SELECT item FROM wishlist ORDER BY rank`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []media.ItemID
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

// writeWishlist replaces the wishlist in tx and bumps its local version.
func writeWishlist(ctx context.Context, tx *sql.Tx, items []media.ItemID) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM wishlist`); err != nil {
		return err
	}
	seen := map[media.ItemID]bool{}
	rank := 0
	for _, it := range items {
		if seen[it] {
			continue
		}
		seen[it] = true
		if _, err := tx.ExecContext(ctx, `INSERT INTO wishlist (item, rank) VALUES (?, ?)`, it.String(), rank); err != nil {
			return err
		}
		rank++
	}
	_, err := tx.ExecContext(ctx, `UPDATE meta SET value = value + 1 WHERE key = 'wish_version'`)
	return err
}

func ids(items []media.ItemID) []string {
	out := []string{}
	for _, it := range items {
		out = append(out, it.String())
	}
	return out
}

// PlanSource is a peer the last plan named as a source of an item.
type PlanSource struct {
	Item media.ItemID
	Box  media.BoxID
	Addr string // host:port
	Dial bool   // this box dials it
}

// PlanPeers is what the box keeps of its last plan: who may connect (Strict: only Accept) and
// whom it fetched each item from.
type PlanPeers struct {
	Strict  bool
	Accept  []string
	Sources []PlanSource
}

// SavePlanPeers replaces the kept plan peers.
func (s *Store) SavePlanPeers(ctx context.Context, p PlanPeers) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, q := range []string{`DELETE FROM plan_accept`, `DELETE FROM plan_sources`} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	strict := 0
	if p.Strict {
		strict = 1
	}
	if _, err := tx.ExecContext(ctx, `UPDATE meta SET value = ? WHERE key = 'plan_strict'`, strict); err != nil {
		return err
	}
	for _, a := range p.Accept {
		if _, err := tx.ExecContext(ctx, `INSERT INTO plan_accept (addr) VALUES (?) ON CONFLICT (addr) DO NOTHING`, a); err != nil {
			return err
		}
	}
	for _, src := range p.Sources {
		if _, err := tx.ExecContext(ctx, `INSERT INTO plan_sources (item, box, addr, dial) VALUES (?, ?, ?, ?) ON CONFLICT (item, addr) DO NOTHING`,
			src.Item.String(), src.Box.String(), src.Addr, src.Dial); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// LastPlanPeers returns the kept plan peers (none before the first plan).
func (s *Store) LastPlanPeers(ctx context.Context) (PlanPeers, error) {
	var p PlanPeers
	if err := s.db.QueryRowContext(ctx, `SELECT value != 0 FROM meta WHERE key = 'plan_strict'`).Scan(&p.Strict); err != nil {
		return p, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT addr FROM plan_accept ORDER BY addr`)
	if err != nil {
		return p, err
	}
	for rows.Next() {
		var a string
		if err := rows.Scan(&a); err != nil {
			rows.Close()
			return p, err
		}
		p.Accept = append(p.Accept, a)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return p, err
	}
	rows, err = s.db.QueryContext(ctx, `SELECT item, box, addr, dial FROM plan_sources ORDER BY item, addr`)
	if err != nil {
		return p, err
	}
	defer rows.Close()
	for rows.Next() {
		var item, box string
		var src PlanSource
		if err := rows.Scan(&item, &box, &src.Addr, &src.Dial); err != nil {
			return p, err
		}
		if src.Item, err = media.ParseItemID(item); err != nil {
			return p, fmt.Errorf("kept plan source: %w", err)
		}
		if src.Box, err = media.ParseBoxID(box); err != nil {
			return p, fmt.Errorf("kept plan source: %w", err)
		}
		p.Sources = append(p.Sources, src)
	}
	return p, rows.Err()
}
