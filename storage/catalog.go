package storage

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"swarmbox/media"
)

// ErrBadCatalog is returned for catalog JSON the box cannot take in; the stored replica is kept.
var ErrBadCatalog = errors.New("catalog from the head-end is malformed")

// CatalogChange counts what one SaveCatalog changed in the replica (an item that only moved in
// the list counts as unchanged).
type CatalogChange struct {
	Added, Changed, Removed, Unchanged int
}

// catalogEntry is one item of the catalog as sent, and where it stands in the list; kind and
// category are copied into columns for browsing.
type catalogEntry struct {
	pos            int
	raw            []byte
	kind, category string
}

// parseCatalog splits catalog JSON {"version":N,"items":[{"id":...},...]} into its version and
// one raw JSON object per item id; the rest of an item's fields are kept as sent.
func parseCatalog(js []byte) (int64, map[media.ItemID]catalogEntry, error) {
	var c struct {
		Version *int64            `json:"version"`
		Items   []json.RawMessage `json:"items"`
	}
	if err := json.Unmarshal(js, &c); err != nil {
		return 0, nil, fmt.Errorf("%w: %w", ErrBadCatalog, err)
	}
	if c.Version == nil || *c.Version < 0 {
		return 0, nil, fmt.Errorf("%w: no version", ErrBadCatalog)
	}
	items := make(map[media.ItemID]catalogEntry, len(c.Items))
	for i, raw := range c.Items {
		var head struct {
			ID       string `json:"id"`
			Kind     string `json:"kind"`
			Category string `json:"category"`
		}
		if err := json.Unmarshal(raw, &head); err != nil {
			return 0, nil, fmt.Errorf("%w: item %d: %w", ErrBadCatalog, i, err)
		}
		id, err := media.ParseItemID(head.ID)
		if err != nil {
			return 0, nil, fmt.Errorf("%w: item %d: %w", ErrBadCatalog, i, err)
		}
		if _, dup := items[id]; dup {
			return 0, nil, fmt.Errorf("%w: item %s listed twice", ErrBadCatalog, id)
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, raw); err != nil {
			return 0, nil, fmt.Errorf("%w: item %d: %w", ErrBadCatalog, i, err)
		}
		items[id] = catalogEntry{i, compact.Bytes(), head.Kind, head.Category}
	}
	return *c.Version, items, nil
}

// SaveCatalog brings the local catalog replica to the head-end's catalog js (the JSON of
// protocol.Catalog), so the box can browse with the head-end unreachable. Only rows that differ
// are written, in one transaction with the new version; a catalog whose version is not newer
// than the replica's is ignored, and malformed JSON changes nothing.
func (s *Store) SaveCatalog(ctx context.Context, version int64, js []byte) (CatalogChange, error) {
	var ch CatalogChange
	v, items, err := parseCatalog(js)
	if err != nil {
		return ch, err
	}
	if v != version {
		return ch, fmt.Errorf("%w: body has version %d, the sync answer said %d", ErrBadCatalog, v, version)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return ch, err
	}
	defer tx.Rollback()
	var have int64
	if err := tx.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'catalog_version'`).Scan(&have); err != nil {
		return ch, err
	}
	if version <= have {
		return ch, nil
	}
	rows, err := tx.QueryContext(ctx, `SELECT id, pos, json FROM catalog_items`)
	if err != nil {
		return ch, err
	}
	old := map[string]catalogEntry{}
	for rows.Next() {
		var id string
		var e catalogEntry
		if err := rows.Scan(&id, &e.pos, &e.raw); err != nil {
			rows.Close()
			return ch, err
		}
		old[id] = e
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return ch, err
	}
	for id, e := range items {
		prev, ok := old[id.String()]
		delete(old, id.String())
		switch {
		case ok && bytes.Equal(prev.raw, e.raw):
			ch.Unchanged++
			if prev.pos != e.pos { // only moved in the list
				if _, err := tx.ExecContext(ctx, `UPDATE catalog_items SET pos = ? WHERE id = ?`, e.pos, id.String()); err != nil {
					return ch, err
				}
			}
			continue
		case ok:
			ch.Changed++
		default:
			ch.Added++
		}
		if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO catalog_items (id, pos, json, version, kind, category) VALUES (?, ?, ?, ?, ?, ?)`,
			id.String(), e.pos, e.raw, version, e.kind, e.category); err != nil {
			return ch, err
		}
	}
	for id := range old {
		ch.Removed++
		if _, err := tx.ExecContext(ctx, `DELETE FROM catalog_items WHERE id = ?`, id); err != nil {
			return ch, err
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE meta SET value = ? WHERE key = 'catalog_version'`, version); err != nil {
		return ch, err
	}
	return ch, tx.Commit()
}

// Catalog returns the local catalog replica as protocol.Catalog JSON, items in the head-end's
// order, and its
// version (0 and nil when the box never fetched one).
func (s *Store) Catalog(ctx context.Context) (int64, []byte, error) {
	var v int64
	if err := s.db.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'catalog_version'`).Scan(&v); err != nil {
		return 0, nil, err
	}
	if v == 0 {
		return 0, nil, nil
	}
	rows, err := s.db.QueryContext(ctx, `SELECT json FROM catalog_items ORDER BY pos, id`)
	if err != nil {
		return 0, nil, err
	}
	defer rows.Close()
	out := struct {
		Version int64             `json:"version"`
		Items   []json.RawMessage `json:"items"`
	}{Version: v, Items: []json.RawMessage{}}
	for rows.Next() {
		var raw []byte
		if err := rows.Scan(&raw); err != nil {
			return 0, nil, err
		}
		out.Items = append(out.Items, raw)
	}
	if err := rows.Err(); err != nil {
		return 0, nil, err
	}
	js, err := json.Marshal(out)
	return v, js, err
}

// Shelf is one category of the catalog replica and how many titles it holds, counting those of
// the categories beneath it ("films" counts "films/drama"). The empty Category is the titles
// without one.
type Shelf struct {
	Category string
	Titles   int
}

// Shelves lists the categories of the catalog replica that hold titles of kind (every kind when
// empty), parents included, sorted by name with the uncategorised titles last.
func (s *Store) Shelves(ctx context.Context, kind string) ([]Shelf, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT category, COUNT(*) FROM catalog_items WHERE ? = '' OR kind = ? GROUP BY category`, kind, kind)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	count := map[string]int{}
	for rows.Next() {
		var c string
		var n int
		if err := rows.Scan(&c, &n); err != nil {
			return nil, err
		}
		count[c] += n
		// A parent ("films" of "films/drama") shows everything beneath it.
		for i := strings.LastIndexByte(c, '/'); i > 0; i = strings.LastIndexByte(c[:i], '/') {
			count[c[:i]] += n
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]Shelf, 0, len(count))
	for c, n := range count {
		out = append(out, Shelf{c, n})
	}
	slices.SortFunc(out, func(a, b Shelf) int {
		if (a.Category == "") != (b.Category == "") {
			if a.Category == "" {
				return 1
			}
			return -1
		}
		return strings.Compare(a.Category, b.Category)
	})
	return out, nil
}
