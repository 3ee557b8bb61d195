// Package storage keeps a box's state on its disk: one SQLite database (identity, wishlist,
// local items and their transfer figures, licenses, BitTorrent piece completion, the catalog
// replica) and the media folder that holds sealed containers. It knows nothing of the network.
package storage

import (
	"context"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"swarmbox/internal/sqlitedb"
	"swarmbox/media"
)

// ErrNotFound is returned for a row that does not exist.
var ErrNotFound = errors.New("not found")

var migrations = []string{`
CREATE TABLE identity (
	id INTEGER PRIMARY KEY CHECK (id = 1),
	sign_seed BLOB NOT NULL,
	kem_key BLOB NOT NULL,
	headend_url TEXT NOT NULL,
	headend_key BLOB,
	account TEXT NOT NULL,
	registered INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT INTO meta VALUES ('wish_version', 0);
CREATE TABLE wishlist (item TEXT PRIMARY KEY, rank INTEGER NOT NULL);
CREATE TABLE items (
	id TEXT PRIMARY KEY,
	info_hash TEXT NOT NULL,
	torrent BLOB NOT NULL,
	complete INTEGER NOT NULL DEFAULT 0,
	pieces INTEGER NOT NULL DEFAULT 0,
	bytes_from_server INTEGER NOT NULL DEFAULT 0,
	bytes_from_peers INTEGER NOT NULL DEFAULT 0,
	updated INTEGER NOT NULL
);
CREATE TABLE licenses (item TEXT PRIMARY KEY, envelope BLOB NOT NULL, expires INTEGER NOT NULL);
CREATE TABLE pieces (info_hash TEXT NOT NULL, idx INTEGER NOT NULL, complete INTEGER NOT NULL, PRIMARY KEY (info_hash, idx));
CREATE TABLE catalog (version INTEGER NOT NULL, json BLOB NOT NULL);
`, `
ALTER TABLE items ADD COLUMN total INTEGER NOT NULL DEFAULT 0;
`, `
ALTER TABLE items ADD COLUMN area TEXT NOT NULL DEFAULT 'wishlist';
ALTER TABLE items ADD COLUMN size INTEGER NOT NULL DEFAULT 0;
CREATE TABLE playing (item TEXT PRIMARY KEY, until INTEGER NOT NULL);
CREATE TABLE evictions (item TEXT NOT NULL, area TEXT NOT NULL, reason TEXT NOT NULL, at INTEGER NOT NULL);
CREATE TABLE refusals (item TEXT PRIMARY KEY, area TEXT NOT NULL, reason TEXT NOT NULL, at INTEGER NOT NULL);
CREATE TABLE catalog_items (id TEXT PRIMARY KEY, pos INTEGER NOT NULL, json BLOB NOT NULL, version INTEGER NOT NULL);
INSERT INTO catalog_items (id, pos, json, version)
	SELECT json_extract(j.value, '$.id'), j.key, j.value, c.version FROM catalog c, json_each(c.json, '$.items') j
	WHERE json_valid(c.json) AND json_extract(j.value, '$.id') IS NOT NULL;
INSERT OR REPLACE INTO meta (key, value) SELECT 'catalog_version', COALESCE(MAX(version), 0) FROM catalog;
INSERT OR IGNORE INTO meta (key, value) VALUES ('catalog_version', 0);
DROP TABLE catalog;
`, `
ALTER TABLE catalog_items ADD COLUMN kind TEXT NOT NULL DEFAULT '';
ALTER TABLE catalog_items ADD COLUMN category TEXT NOT NULL DEFAULT '';
UPDATE catalog_items SET
	kind = COALESCE(json_extract(CAST(json AS TEXT), '$.kind'), ''),
	category = COALESCE(json_extract(CAST(json AS TEXT), '$.category'), '')
	WHERE json_valid(CAST(json AS TEXT));
CREATE INDEX catalog_items_shelf ON catalog_items (category, kind);
`, `
ALTER TABLE items ADD COLUMN range_begin INTEGER NOT NULL DEFAULT 0;
ALTER TABLE items ADD COLUMN range_end INTEGER NOT NULL DEFAULT 0;
`, pendingSchema, `
CREATE TABLE renewal_refusals (item TEXT PRIMARY KEY, code TEXT NOT NULL, detail TEXT NOT NULL, at INTEGER NOT NULL);
`, `
ALTER TABLE identity ADD COLUMN pairing_code TEXT NOT NULL DEFAULT '';
ALTER TABLE identity ADD COLUMN pairing_url TEXT NOT NULL DEFAULT '';
ALTER TABLE identity ADD COLUMN pairing_expires INTEGER NOT NULL DEFAULT 0;
`}

// Store is a box's disk.
type Store struct {
	db  *sql.DB
	dir string

	mu     sync.Mutex
	quotas map[string]int64 // area -> bytes; 0 or missing = bounded by the disk only
	floor  time.Time        // TimeFloor, kept in meta
	// diskFree reports the bytes still writable on the media filesystem; a test replaces it.
	diskFree func() int64
	// readOnly is why the store takes no writes (OpenReadOnly on a full disk); nil normally.
	readOnly error
}

// Open opens the box state in dir (box.db, media/ and preload/), creating it on first start,
// and brings the schema up to date. It also finishes what a crash may have interrupted: a
// container file whose database row is gone (an eviction cut short) is removed.
func Open(ctx context.Context, dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("box state folder: %w", err)
	}
	for _, sub := range []string{"media", "preload"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			return nil, fmt.Errorf("box state folder: %w", err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "box.db")); err == nil {
		// A state folder of an older version: it holds the box's private keys, so only the
		// owner may list it (a new one is made 0700 above).
		if err := sqlitedb.MakeFolderPrivate(dir); err != nil {
			return nil, fmt.Errorf("box state folder: %w", err)
		}
	}
	db, err := sqlitedb.Open(ctx, filepath.Join(dir, "box.db"), migrations)
	if err != nil {
		return nil, explainOpen(dir, err) // a full disk says so, in words (fulldisk.go)
	}
	s := &Store{db: db, dir: dir, quotas: map[string]int64{}}
	s.diskFree = s.statfsFree
	if err := s.fillSizes(ctx); err != nil {
		db.Close()
		return nil, explainOpen(dir, err)
	}
	if err := s.sweepOrphans(ctx); err != nil {
		db.Close()
		return nil, explainOpen(dir, err)
	}
	if err := s.loadTimeFloor(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// MediaDir is the folder of sealed containers the box fetched (wishlist and cache areas).
func (s *Store) MediaDir() string { return filepath.Join(s.dir, "media") }

// PreloadDir is the folder of containers written at the factory (the preload area).
func (s *Store) PreloadDir() string { return filepath.Join(s.dir, "preload") }

// ContainerPath is where item's sealed container lives: the preload folder if the factory put
// it there, else the media folder.
func (s *Store) ContainerPath(item media.ItemID) string {
	name := item.String() + ".sbx"
	if p := filepath.Join(s.PreloadDir(), name); fileExists(p) {
		return p
	}
	return filepath.Join(s.MediaDir(), name)
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// FreeBytes is the space left on the media folder's filesystem for unprivileged writers.
func (s *Store) FreeBytes() int64 { return s.diskFree() }

func (s *Store) statfsFree() int64 {
	var st syscall.Statfs_t
	if err := syscall.Statfs(s.MediaDir(), &st); err != nil {
		return 0
	}
	return int64(st.Bavail) * int64(st.Bsize)
}

// Identity is who the box is and whom it trusts.
type Identity struct {
	Box        media.BoxID
	SignKey    ed25519.PrivateKey
	KEMKey     *ecdh.PrivateKey
	HeadendURL string
	HeadendKey ed25519.PublicKey // nil until the first registration
	// Account is the household the head-end last said the box is paired to; empty while it
	// is not paired (pairing.go).
	Account    string
	Registered bool
}

// ErrNoIdentity is returned by Identity before the box's first start.
var ErrNoIdentity = errors.New("this box has no identity yet: start it once with 'swarmboxd run -headend URL'")

// Identity returns the box's identity.
func (s *Store) Identity(ctx context.Context) (Identity, error) {
	var seed, kem, hk []byte
	var id Identity
	err := s.db.QueryRowContext(ctx, `SELECT sign_seed, kem_key, headend_url, headend_key, account, registered FROM identity WHERE id = 1`).
		Scan(&seed, &kem, &id.HeadendURL, &hk, &id.Account, &id.Registered)
	if errors.Is(err, sql.ErrNoRows) {
		return id, ErrNoIdentity
	}
	if err != nil {
		return id, err
	}
	if len(seed) != ed25519.SeedSize {
		return id, errors.New("box identity is damaged: re-provision the box")
	}
	id.SignKey = ed25519.NewKeyFromSeed(seed)
	id.Box = media.BoxIDFromKey(id.SignKey.Public().(ed25519.PublicKey))
	if id.KEMKey, err = ecdh.X25519().NewPrivateKey(kem); err != nil {
		return id, fmt.Errorf("box identity is damaged: %w", err)
	}
	if len(hk) == ed25519.PublicKeySize {
		id.HeadendKey = hk
	}
	return id, nil
}

// EnsureIdentity returns the box's identity, making new key pairs on first start. headendURL,
// when not empty, replaces the stored one (a box can be moved to another head-end address); on
// first start it is required. account is what the box starts believing it belongs to (tests;
// the daemon and the factory pass "" and learn it from the head-end when paired); when not
// empty later, it must be the stored one.
func (s *Store) EnsureIdentity(ctx context.Context, headendURL, account string) (Identity, error) {
	id, err := s.Identity(ctx)
	if errors.Is(err, ErrNoIdentity) {
		if headendURL == "" {
			return id, errors.New("first start: give the head-end URL (-headend)")
		}
		_, sk, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return id, err
		}
		kk, err := ecdh.X25519().GenerateKey(rand.Reader)
		if err != nil {
			return id, err
		}
		if _, err := s.db.ExecContext(ctx, `INSERT INTO identity (id, sign_seed, kem_key, headend_url, account) VALUES (1, ?, ?, ?, ?)`,
			sk.Seed(), kk.Bytes(), headendURL, account); err != nil {
			return id, err
		}
		return s.Identity(ctx)
	}
	if err != nil {
		return id, err
	}
	if headendURL != "" && headendURL != id.HeadendURL {
		if _, err := s.db.ExecContext(ctx, `UPDATE identity SET headend_url = ? WHERE id = 1`, headendURL); err != nil {
			return id, err
		}
		id.HeadendURL = headendURL
	}
	if account != "" && account != id.Account {
		return id, fmt.Errorf("this box belongs to account %q, not %q", id.Account, account)
	}
	return id, nil
}

// SetRegistered records a successful registration and the head-end's key. A box that already
// knows a head-end key refuses a different one: that would be another head-end.
func (s *Store) SetRegistered(ctx context.Context, headendKey ed25519.PublicKey) error {
	id, err := s.Identity(ctx)
	if err != nil {
		return err
	}
	if id.HeadendKey != nil && !id.HeadendKey.Equal(headendKey) {
		return errors.New("the head-end's key differs from the one this box was provisioned with: refusing it")
	}
	_, err = s.db.ExecContext(ctx, `UPDATE identity SET registered = 1, headend_key = ? WHERE id = 1`, []byte(headendKey))
	return err
}

// SetHeadendKey pins the head-end's key before registration (the factory does this).
func (s *Store) SetHeadendKey(ctx context.Context, key ed25519.PublicKey) error {
	_, err := s.db.ExecContext(ctx, `UPDATE identity SET headend_key = ? WHERE id = 1`, []byte(key))
	return err
}

// SetWishlist replaces the wishlist; the first item is the most wanted.
func (s *Store) SetWishlist(ctx context.Context, items []media.ItemID) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := writeWishlist(ctx, tx, items); err != nil {
		return err
	}
	return tx.Commit()
}

// Wishlist returns the wishlist in priority order and its version, which grows on every change.
func (s *Store) Wishlist(ctx context.Context) ([]media.ItemID, int64, error) {
	var version int64
	if err := s.db.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'wish_version'`).Scan(&version); err != nil {
		return nil, 0, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT item FROM wishlist ORDER BY rank`)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var out []media.ItemID
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, 0, err
		}
		id, err := media.ParseItemID(s)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, id)
	}
	return out, version, rows.Err()
}

// Item is a title the box holds or is fetching.
type Item struct {
	ID              media.ItemID
	InfoHash        string
	Torrent         []byte
	Complete        bool
	Pieces          int // verified
	Total           int // in the torrent
	BytesFromServer int64
	BytesFromPeers  int64
	Updated         time.Time
	Area            string // AreaPreload, AreaWishlist or AreaCache
	Size            int64  // bytes reserved in the area from the start: the container's, or its range's
	// Range is the pieces a range placement holds (see ReserveRange); empty for the whole item.
	Range media.PieceRange
}

// AddItem records a title in the wishlist area without a quota check (Reserve checks quotas and
// makes room). size is the container's length (transfer.ParseMeta). Adding it again keeps its
// progress.
func (s *Store) AddItem(ctx context.Context, id media.ItemID, infoHash string, torrent []byte, total int, size int64, now time.Time) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO items (id, info_hash, torrent, total, updated, area, size) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
		id.String(), infoHash, torrent, total, now.UnixMilli(), AreaWishlist, size)
	return err
}

// UpdateItem records progress: pieces verified, whether complete, and bytes received from the
// server and from peers since the last update (deltas, so figures survive restarts).
func (s *Store) UpdateItem(ctx context.Context, id media.ItemID, pieces int, complete bool, addServer, addPeers int64, now time.Time) error {
	_, err := s.db.ExecContext(ctx, `UPDATE items SET pieces = ?, complete = ?, bytes_from_server = bytes_from_server + ?,
		bytes_from_peers = bytes_from_peers + ?, updated = ? WHERE id = ?`, pieces, complete, addServer, addPeers, now.UnixMilli(), id.String())
	return err
}

// Items lists every local title.
func (s *Store) Items(ctx context.Context) ([]Item, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+itemColumns+` FROM items ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Item
	for rows.Next() {
		it, err := scanItem(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, it)
	}
	return out, rows.Err()
}

// GetItem returns one local title.
func (s *Store) GetItem(ctx context.Context, id media.ItemID) (Item, error) {
	it, err := scanItem(s.db.QueryRowContext(ctx, `SELECT `+itemColumns+` FROM items WHERE id = ?`, id.String()))
	if errors.Is(err, sql.ErrNoRows) {
		return it, fmt.Errorf("item %s: %w", id, ErrNotFound)
	}
	return it, err
}

const itemColumns = `id, info_hash, torrent, complete, pieces, total, bytes_from_server, bytes_from_peers, updated, area, size, range_begin, range_end`

func scanItem(row interface{ Scan(...any) error }) (Item, error) {
	var it Item
	var id string
	var upd int64
	if err := row.Scan(&id, &it.InfoHash, &it.Torrent, &it.Complete, &it.Pieces, &it.Total, &it.BytesFromServer, &it.BytesFromPeers, &upd, &it.Area, &it.Size, &it.Range.Begin, &it.Range.End); err != nil {
		return it, err
	}
	it.Updated = time.UnixMilli(upd).UTC()
	var err error
	it.ID, err = media.ParseItemID(id)
	return it, err
}

// SaveLicense stores the license envelope for an item, replacing an older one.
func (s *Store) SaveLicense(ctx context.Context, item media.ItemID, envelope []byte, expires time.Time) error {
	_, err := s.db.ExecContext(ctx, `INSERT OR REPLACE INTO licenses (item, envelope, expires) VALUES (?, ?, ?)`,
		item.String(), envelope, expires.UnixMilli())
	return err
}

// License returns the stored license envelope for an item.
func (s *Store) License(ctx context.Context, item media.ItemID) ([]byte, error) {
	var env []byte
	err := s.db.QueryRowContext(ctx, `SELECT envelope FROM licenses WHERE item = ?`, item.String()).Scan(&env)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("license for %s: %w", item, ErrNotFound)
	}
	return env, err
}
