// Package store keeps the head-end's state in SQLite: the catalog, the wrapped content keys,
// accounts and their ledger, registered boxes, what every box holds and wishes, what boxes
// reported about their transfers, what the web seed served, and issued licenses.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"swarmbox/internal/sqlitedb"
	"swarmbox/media"
	"swarmbox/sync/protocol"
)

// ErrNotFound is returned when a row asked for by id does not exist.
var ErrNotFound = errors.New("not found")

var migrations = []string{`
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO meta VALUES ('catalog_version', '0');
CREATE TABLE items (
	id TEXT PRIMARY KEY,
	title TEXT NOT NULL,
	kind TEXT NOT NULL,
	price_cents INTEGER NOT NULL,
	size INTEGER NOT NULL,
	sealed_size INTEGER NOT NULL,
	info_hash TEXT NOT NULL UNIQUE,
	pieces INTEGER NOT NULL,
	torrent BLOB NOT NULL,
	added INTEGER NOT NULL
);
CREATE TABLE item_keys (item TEXT PRIMARY KEY REFERENCES items(id), wrapped BLOB NOT NULL);
CREATE TABLE accounts (
	id TEXT PRIMARY KEY,
	status TEXT NOT NULL CHECK (status IN ('active', 'suspended', 'closed')),
	region TEXT NOT NULL,
	balance_cents INTEGER NOT NULL CHECK (balance_cents >= 0)
);
CREATE TABLE ledger (
	id INTEGER PRIMARY KEY,
	account TEXT NOT NULL REFERENCES accounts(id),
	kind TEXT NOT NULL,
	amount_cents INTEGER NOT NULL,
	item TEXT,
	at INTEGER NOT NULL
);
CREATE TABLE boxes (
	id TEXT PRIMARY KEY,
	account TEXT NOT NULL REFERENCES accounts(id),
	sign_key BLOB NOT NULL,
	kem_key BLOB NOT NULL,
	peer_addr TEXT NOT NULL DEFAULT '',
	free_bytes INTEGER NOT NULL DEFAULT 0,
	registered INTEGER NOT NULL,
	last_sync INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE wishes (
	box TEXT NOT NULL REFERENCES boxes(id),
	item TEXT NOT NULL,
	rank INTEGER NOT NULL,
	PRIMARY KEY (box, item)
);
CREATE TABLE holdings (
	box TEXT NOT NULL REFERENCES boxes(id),
	item TEXT NOT NULL,
	pieces INTEGER NOT NULL,
	complete INTEGER NOT NULL,
	PRIMARY KEY (box, item)
);
CREATE TABLE transfers (
	box TEXT NOT NULL REFERENCES boxes(id),
	item TEXT NOT NULL,
	bytes_from_server INTEGER NOT NULL,
	bytes_from_peers INTEGER NOT NULL,
	complete INTEGER NOT NULL,
	updated INTEGER NOT NULL,
	PRIMARY KEY (box, item)
);
CREATE TABLE served (
	box TEXT NOT NULL,
	item TEXT NOT NULL,
	bytes INTEGER NOT NULL,
	PRIMARY KEY (box, item)
);
CREATE TABLE licenses (
	id TEXT PRIMARY KEY,
	request_id TEXT NOT NULL,
	box TEXT NOT NULL REFERENCES boxes(id),
	item TEXT NOT NULL REFERENCES items(id),
	kind TEXT NOT NULL,
	expires INTEGER NOT NULL,
	charged_cents INTEGER NOT NULL,
	envelope BLOB NOT NULL,
	UNIQUE (box, request_id)
);
`}

// Store is the head-end's database.
type Store struct {
	db *sql.DB
}

// Open opens or creates the database at path.
func Open(ctx context.Context, path string) (*Store, error) {
	db, err := sqlitedb.Open(ctx, path, migrations)
	if err != nil {
		return nil, err
	}
	return &Store{db: db}, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// Item is a catalog row plus what only the head-end keeps.
type Item struct {
	protocol.CatalogItem
	Torrent []byte // bencoded metainfo
}

// AddItem records a new title and its wrapped content key in one transaction and bumps the
// catalog version.
func (s *Store) AddItem(ctx context.Context, it Item, wrappedKey []byte) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO items (id, title, kind, price_cents, size, sealed_size, info_hash, pieces, torrent, added)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			it.ID.String(), it.Title, it.Kind, it.PriceCents, it.Size, it.SealedSize, it.InfoHash, it.Pieces, it.Torrent, it.Added.UnixMilli()); err != nil {
			return fmt.Errorf("insert item: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO item_keys (item, wrapped) VALUES (?, ?)`, it.ID.String(), wrappedKey); err != nil {
			return fmt.Errorf("insert key: %w", err)
		}
		_, err := tx.ExecContext(ctx, `UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'catalog_version'`)
		return err
	})
}

const itemCols = `id, title, kind, price_cents, size, sealed_size, info_hash, pieces, torrent, added`

func scanItem(row interface{ Scan(...any) error }) (Item, error) {
	var it Item
	var id string
	var added int64
	if err := row.Scan(&id, &it.Title, &it.Kind, &it.PriceCents, &it.Size, &it.SealedSize, &it.InfoHash, &it.Pieces, &it.Torrent, &added); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return it, ErrNotFound
		}
		return it, err
	}
	var err error
	it.ID, err = media.ParseItemID(id)
	it.Added = time.UnixMilli(added).UTC()
	return it, err
}

// Item returns one title.
func (s *Store) Item(ctx context.Context, id media.ItemID) (Item, error) {
	it, err := scanItem(s.db.QueryRowContext(ctx, `SELECT `+itemCols+` FROM items WHERE id = ?`, id.String()))
	if err != nil {
		return it, fmt.Errorf("item %s: %w", id, err)
	}
	return it, nil
}

// ItemByInfoHash returns the title whose torrent has the given hex info hash.
func (s *Store) ItemByInfoHash(ctx context.Context, infoHash string) (Item, error) {
	it, err := scanItem(s.db.QueryRowContext(ctx, `SELECT `+itemCols+` FROM items WHERE info_hash = ?`, infoHash))
	if err != nil {
		return it, fmt.Errorf("info hash %s: %w", infoHash, err)
	}
	return it, nil
}

// Catalog returns every title, newest first, with the catalog version.
func (s *Store) Catalog(ctx context.Context) (protocol.Catalog, error) {
	var c protocol.Catalog
	if err := s.db.QueryRowContext(ctx, `SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'catalog_version'`).Scan(&c.Version); err != nil {
		return c, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+itemCols+` FROM items ORDER BY added DESC, id`)
	if err != nil {
		return c, err
	}
	defer rows.Close()
	c.Items = []protocol.CatalogItem{}
	for rows.Next() {
		it, err := scanItem(rows)
		if err != nil {
			return c, err
		}
		c.Items = append(c.Items, it.CatalogItem)
	}
	return c, rows.Err()
}

// WrappedKey returns an item's content key as wrapped by the key vault.
func (s *Store) WrappedKey(ctx context.Context, id media.ItemID) ([]byte, error) {
	var b []byte
	err := s.db.QueryRowContext(ctx, `SELECT wrapped FROM item_keys WHERE item = ?`, id.String()).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("key for item %s: %w", id, ErrNotFound)
	}
	return b, err
}

func (s *Store) tx(ctx context.Context, f func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := f(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}
