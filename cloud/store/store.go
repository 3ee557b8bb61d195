// Package store keeps the head-end's state: the catalog, the wrapped content keys, accounts and
// their ledger, customers' sign-in and sessions, registered boxes, what every box holds and
// wishes, what boxes reported about their transfers, what the web seed served, issued licenses
// and the audit log of every license decision.
//
// One implementation serves two engines through database/sql: SQLite (modernc.org/sqlite, the
// embedded default: a file path) and PostgreSQL (github.com/jackc/pgx/v5, a postgres:// URL),
// for operators who run several head-end instances on one database. Queries are written in the
// SQL both engines share; dialect.go rewrites placeholders and schema types for PostgreSQL.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver

	"swarmbox/internal/sqlitedb"
	"swarmbox/media"
	"swarmbox/sync/protocol"
)

// ErrNotFound is returned when a row asked for by id does not exist.
var ErrNotFound = errors.New("not found")

// Store is the head-end's database.
type Store struct {
	db    *db
	group *groupWriter // RecordSync's group commit
}

// IsPostgres reports whether dsn names a PostgreSQL database rather than a SQLite file.
func IsPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// Open opens or creates the database: a postgres:// or postgresql:// URL opens PostgreSQL,
// anything else is the path of a SQLite file.
func Open(ctx context.Context, dsn string) (*Store, error) {
	if !IsPostgres(dsn) {
		d, err := sqlitedb.Connect(ctx, dsn)
		if err != nil {
			return nil, err
		}
		if err := migrate(ctx, d, false, migrations); err != nil {
			d.Close()
			return nil, fmt.Errorf("migrate %s: %w", dsn, err)
		}
		// Keep connections (and the statements prepared on each) instead of the pool's default
		// of two idle ones: under load, opening and re-preparing was most of a sync. Open ones
		// stay unlimited: some store calls query outside the transaction they hold.
		d.SetMaxIdleConns(32)
		s := &Store{db: &db{sql: d}}
		s.startWriters(1)
		return s, nil
	}
	d, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("open PostgreSQL: %w", err)
	}
	d.SetMaxOpenConns(16)
	d.SetMaxIdleConns(16)
	if err := d.PingContext(ctx); err != nil {
		d.Close()
		return nil, fmt.Errorf("connect to PostgreSQL: %w (is the server running and the URL right?)", err)
	}
	if err := migrate(ctx, d, true, migrations); err != nil {
		d.Close()
		return nil, fmt.Errorf("migrate PostgreSQL: %w", err)
	}
	s := &Store{db: &db{sql: d, postgres: true}}
	s.startWriters(4)
	return s, nil
}

// Engine names the database engine: "sqlite" or "postgres".
func (s *Store) Engine() string {
	if s.db.postgres {
		return "postgres"
	}
	return "sqlite"
}

// Close closes the database.
func (s *Store) Close() error {
	s.group.stop()
	s.db.closeStmts()
	return s.db.sql.Close()
}

// Item is a catalog row plus what only the head-end keeps.
type Item struct {
	protocol.CatalogItem
	Torrent []byte // bencoded metainfo
}

// AddItem records a new title and its wrapped content key in one transaction and bumps the
// catalog version.
func (s *Store) AddItem(ctx context.Context, it Item, wrappedKey []byte) error {
	cat, err := protocol.ParseCategory(it.Category)
	if err != nil {
		return err
	}
	return s.tx(ctx, func(tx *tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO items (id, title, kind, price_cents, size, sealed_size, info_hash, pieces, torrent, added, category)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			it.ID.String(), it.Title, it.Kind, it.PriceCents, it.Size, it.SealedSize, it.InfoHash, it.Pieces, it.Torrent, it.Added.UnixMilli(), cat); err != nil {
			return fmt.Errorf("insert item: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO item_keys (item, wrapped) VALUES (?, ?)`, it.ID.String(), wrappedKey); err != nil {
			return fmt.Errorf("insert key: %w", err)
		}
		_, err := tx.ExecContext(ctx, `UPDATE meta SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT) WHERE key = 'catalog_version'`)
		return err
	})
}

const itemCols = `id, title, kind, price_cents, size, sealed_size, info_hash, pieces, torrent, added, category`

func scanItem(row interface{ Scan(...any) error }) (Item, error) {
	var it Item
	var id string
	var added int64
	if err := row.Scan(&id, &it.Title, &it.Kind, &it.PriceCents, &it.Size, &it.SealedSize, &it.InfoHash, &it.Pieces, &it.Torrent, &added, &it.Category); err != nil {
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

// CatalogVersion returns the catalog version alone, which every sync answer carries.
func (s *Store) CatalogVersion(ctx context.Context) (int64, error) {
	var v int64
	err := s.db.QueryRowContext(ctx, `SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'catalog_version'`).Scan(&v)
	return v, err
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

func (s *Store) tx(ctx context.Context, f func(*tx) error) error {
	t, err := s.db.sql.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := f(&tx{tx: t, d: s.db}); err != nil {
		t.Rollback()
		return err
	}
	return t.Commit()
}
