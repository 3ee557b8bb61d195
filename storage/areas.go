package storage

import (
	"bytes"
	"context"
	"crypto/sha1"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/anacrolix/torrent/metainfo"

	"swarmbox/media"
)

// Storage areas of the box's disk (the same names as protocol.Area*).
const (
	AreaPreload  = "preload"  // written at the factory, read-only to the box, held and seedable
	AreaWishlist = "wishlist" // what the household asked for
	AreaCache    = "cache"    // space lent to the swarm for items the scheduler places; evicted first
)

// Areas lists the three areas in report order.
var Areas = []string{AreaPreload, AreaWishlist, AreaCache}

// ErrNoSpace is returned when an item does not fit in its area even after every allowed eviction.
var ErrNoSpace = errors.New("no space")

// ErrNotEvictable is returned for an eviction the rules forbid (preload, or being played).
var ErrNotEvictable = errors.New("item cannot be evicted")

// SetQuotas sets each area's byte quota (0 = bounded by the disk only). Unknown areas are refused.
func (s *Store) SetQuotas(q map[string]int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for a, n := range q {
		if !slices.Contains(Areas, a) {
			return fmt.Errorf("quota for unknown area %q: the areas are %s", a, strings.Join(Areas, ", "))
		}
		if n < 0 {
			return fmt.Errorf("quota for area %s is negative (%d)", a, n)
		}
	}
	s.quotas = map[string]int64{}
	for a, n := range q {
		s.quotas[a] = n
	}
	return nil
}

// Space is one area's quota and use, in bytes.
type Space struct {
	Area  string
	Quota int64 // 0 = no quota of its own: used + what the disk has left
	Used  int64
	Free  int64 // what can still be written: min(quota - used, free disk)
	Full  bool  // nothing more fits without an eviction
	// Room is what the area can take in with the eviction rules applied (expired rentals, cache,
	// unwished titles make way): what a planner may count on. Set by Rooms, not Spaces.
	Room int64
}

// Rooms is Spaces with Room filled in: the same arithmetic makeRoom does before it evicts, so
// what the box reports it can take in, it can.
func (s *Store) Rooms(ctx context.Context, now time.Time) ([]Space, error) {
	spaces, err := s.Spaces(ctx)
	if err != nil {
		return nil, err
	}
	cands, err := s.EvictionCandidates(ctx, now)
	if err != nil {
		return nil, err
	}
	reclaim := map[string]int64{}
	var all int64
	for _, c := range cands {
		reclaim[c.Area] += c.Size
		all += c.Size
	}
	disk := s.diskFree()
	for i, sp := range spaces {
		if sp.Area == AreaPreload {
			continue
		}
		room := disk + all
		if sp.Quota > 0 {
			room = min(room, max(0, sp.Quota-sp.Used)+reclaim[sp.Area])
		}
		spaces[i].Room = max(0, room)
	}
	return spaces, nil
}

// Spaces reports every area's quota and use.
func (s *Store) Spaces(ctx context.Context) ([]Space, error) {
	used, err := s.usedByArea(ctx, s.db)
	if err != nil {
		return nil, err
	}
	disk := s.diskFree()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Space
	for _, a := range Areas {
		sp := Space{Area: a, Quota: s.quotas[a], Used: used[a], Free: disk}
		if sp.Quota > 0 {
			sp.Free = max(0, min(disk, sp.Quota-sp.Used))
		}
		if a == AreaPreload {
			sp.Free = 0 // the box never writes there
		}
		sp.Full = sp.Free == 0 && a != AreaPreload
		out = append(out, sp)
	}
	return out, nil
}

type querier interface {
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
}

func (s *Store) usedByArea(ctx context.Context, db querier) (map[string]int64, error) {
	rows, err := db.QueryContext(ctx, `SELECT area, SUM(size) FROM items GROUP BY area`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	used := map[string]int64{}
	for rows.Next() {
		var a string
		var n int64
		if err := rows.Scan(&a, &n); err != nil {
			return nil, err
		}
		used[a] = n
	}
	return used, rows.Err()
}

func torrentLength(torrent []byte) (int64, error) {
	info, err := torrentInfo(torrent)
	if err != nil {
		return 0, err
	}
	return info.TotalLength(), nil
}

func torrentInfo(torrent []byte) (metainfo.Info, error) {
	mi, err := metainfo.Load(bytes.NewReader(torrent))
	if err != nil {
		return metainfo.Info{}, err
	}
	return mi.UnmarshalInfo()
}

// pieceSpan is the byte span [off, end) of the container that the pieces r cover; r must be
// Valid for info. A torrent whose piece count disagrees with its length is refused.
func pieceSpan(info *metainfo.Info, r media.PieceRange) (off, end int64, err error) {
	off = int64(r.Begin) * info.PieceLength
	end = min(int64(r.End)*info.PieceLength, info.TotalLength())
	if info.PieceLength <= 0 || end <= off {
		return 0, 0, fmt.Errorf("the torrent's %d pieces of %d bytes do not fit its length of %d bytes", info.NumPieces(), info.PieceLength, info.TotalLength())
	}
	return off, end, nil
}

// fillSizes sets the size of rows written before sizes were kept (schema version 2).
func (s *Store) fillSizes(ctx context.Context) error {
	items, err := s.Items(ctx)
	if err != nil {
		return err
	}
	for _, it := range items {
		if it.Size != 0 {
			continue
		}
		if n, err := torrentLength(it.Torrent); err == nil && n > 0 {
			if _, err := s.db.ExecContext(ctx, `UPDATE items SET size = ? WHERE id = ?`, n, it.ID.String()); err != nil {
				return err
			}
		}
	}
	return nil
}

// sweepOrphans removes container files in the media folder that no item row owns: an eviction
// deletes the row first, so a crash before the file went leaves only such an orphan.
func (s *Store) sweepOrphans(ctx context.Context) error {
	items, err := s.Items(ctx)
	if err != nil {
		return err
	}
	own := map[string]bool{}
	for _, it := range items {
		own[it.ID.String()+".sbx"] = true
	}
	ents, err := os.ReadDir(s.MediaDir())
	if err != nil {
		return fmt.Errorf("read media folder: %w", err)
	}
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".sbx") || own[e.Name()] {
			continue
		}
		if err := os.Remove(filepath.Join(s.MediaDir(), e.Name())); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("remove orphaned container %s: %w", e.Name(), err)
		}
	}
	return nil
}

// Reserve admits a new item into area (AreaWishlist or AreaCache): it checks the area's quota and
// the disk, evicts what the rules allow if needed (see EvictionCandidates), records the item and
// allocates its whole container file up front, so a later write can never meet a full disk half
// way through a piece. An item already on the box keeps its progress; a cache placement of an item
// the household now wishes for moves to the wishlist area without copying, and a range placement
// (see ReserveRange) is widened to the whole item in area. It returns what it evicted; the caller
// must stop serving those first (see the evict callback).
func (s *Store) Reserve(ctx context.Context, id media.ItemID, infoHash string, torrent []byte, total int, area string, now time.Time, evict func(media.ItemID)) ([]media.ItemID, error) {
	if area == "" {
		area = AreaWishlist
	}
	if area != AreaWishlist && area != AreaCache {
		return nil, fmt.Errorf("items are fetched into the wishlist or cache area, not %q", area)
	}
	size, err := torrentLength(torrent)
	if err != nil {
		return nil, fmt.Errorf("metainfo of %s: %w", id, err)
	}
	if have, err := s.GetItem(ctx, id); err == nil {
		if !have.Range.Empty() {
			return s.widen(ctx, have, area, now, evict)
		}
		if have.Area == AreaCache && area == AreaWishlist {
			_, err := s.db.ExecContext(ctx, `UPDATE items SET area = ? WHERE id = ?`, AreaWishlist, id.String())
			return nil, err
		}
		return nil, nil
	} else if !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	return s.admit(ctx, id, infoHash, torrent, total, area, size, media.PieceRange{}, 0, size, now, evict)
}

// ReserveRange admits item id into the cache area holding only the pieces r of its torrent: a
// range placement, so that in a flash crowd idle boxes can each serve one part of a title. Only
// the range's bytes count against the quota and get blocks; the container file still has the
// item's full length, so pieces sit at the torrent's offsets. Room is made as Reserve makes it.
// An item already on the box, whole or as a range, is kept as it is (nil, nil). It returns what
// it evicted; the caller must stop serving those first.
func (s *Store) ReserveRange(ctx context.Context, id media.ItemID, infoHash string, torrent []byte, total int, r media.PieceRange, now time.Time, evict func(media.ItemID)) ([]media.ItemID, error) {
	info, err := torrentInfo(torrent)
	if err != nil {
		return nil, fmt.Errorf("metainfo of %s: %w", id, err)
	}
	if n := info.NumPieces(); !r.Valid(n) {
		return nil, fmt.Errorf("piece range [%d, %d) of %s: the torrent has %d pieces", r.Begin, r.End, id, n)
	}
	off, end, err := pieceSpan(&info, r)
	if err != nil {
		return nil, fmt.Errorf("piece range [%d, %d) of %s: %w", r.Begin, r.End, id, err)
	}
	if _, err := s.GetItem(ctx, id); err == nil {
		return nil, nil
	} else if !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	return s.admit(ctx, id, infoHash, torrent, total, AreaCache, info.TotalLength(), r, off, end, now, evict)
}

// admit records a new item holding the bytes [off, end) of its length-byte container in area
// (r is the pieces they are, empty for the whole item), after making room for them.
func (s *Store) admit(ctx context.Context, id media.ItemID, infoHash string, torrent []byte, total int, area string, length int64, r media.PieceRange, off, end int64, now time.Time, evict func(media.ItemID)) ([]media.ItemID, error) {
	size := end - off
	what := fmt.Sprintf("item %s (%d bytes)", id, size)
	if !r.Empty() {
		what = fmt.Sprintf("item %s pieces [%d, %d) (%d bytes)", id, r.Begin, r.End, size)
	}
	evicted, err := s.makeRoom(ctx, area, size, size, id, now, evict)
	if err != nil {
		err = fmt.Errorf("%s into the %s area: %w", what, area, err)
		if errors.Is(err, ErrNoSpace) {
			s.refuse(ctx, id, area, err, now)
		}
		return evicted, err
	}
	if _, err := s.db.ExecContext(ctx, `INSERT INTO items (id, info_hash, torrent, total, updated, area, size, range_begin, range_end) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		id.String(), infoHash, torrent, total, now.UnixMilli(), area, size, r.Begin, r.End); err != nil {
		return evicted, err
	}
	if err := allocate(s.ContainerPath(id), length, off, end); err != nil {
		s.db.ExecContext(ctx, `DELETE FROM items WHERE id = ?`, id.String())
		os.Remove(s.ContainerPath(id))
		if errors.Is(err, syscall.ENOSPC) {
			err = fmt.Errorf("%s: the disk is full: %w", what, ErrNoSpace)
			s.refuse(ctx, id, area, err, now)
			return evicted, err
		}
		return evicted, fmt.Errorf("allocate %s: %w", s.ContainerPath(id), err)
	}
	_, err = s.db.ExecContext(ctx, `DELETE FROM refusals WHERE item = ?`, id.String())
	return evicted, err
}

// widen turns the range placement have into the whole item in area, keeping its pieces: room is
// made for the bytes it lacks (all of them against area's quota if it changes area), never by
// evicting the item itself. If that fails the range placement stays as it was.
func (s *Store) widen(ctx context.Context, have Item, area string, now time.Time, evict func(media.ItemID)) ([]media.ItemID, error) {
	size, err := torrentLength(have.Torrent)
	if err != nil {
		return nil, fmt.Errorf("metainfo of %s: %w", have.ID, err)
	}
	diskNeed := max(0, size-have.Size)
	quotaNeed := diskNeed
	if have.Area != area {
		quotaNeed = size
	}
	what := fmt.Sprintf("item %s (%d bytes, %d held as pieces [%d, %d))", have.ID, size, have.Size, have.Range.Begin, have.Range.End)
	evicted, err := s.makeRoom(ctx, area, quotaNeed, diskNeed, have.ID, now, evict)
	if err != nil {
		err = fmt.Errorf("%s into the %s area: %w", what, area, err)
		if errors.Is(err, ErrNoSpace) {
			s.refuse(ctx, have.ID, area, err, now)
		}
		return evicted, err
	}
	// Blocks first, row second: a failure or crash in between leaves the range row, which
	// counts fewer bytes than are allocated, never more.
	if err := allocate(s.ContainerPath(have.ID), size, 0, size); err != nil {
		if errors.Is(err, syscall.ENOSPC) {
			err = fmt.Errorf("%s: the disk is full: %w", what, ErrNoSpace)
			s.refuse(ctx, have.ID, area, err, now)
			return evicted, err
		}
		return evicted, fmt.Errorf("allocate %s: %w", s.ContainerPath(have.ID), err)
	}
	if _, err := s.db.ExecContext(ctx, `UPDATE items SET area = ?, size = ?, range_begin = 0, range_end = 0 WHERE id = ?`, area, size, have.ID.String()); err != nil {
		return evicted, err
	}
	_, err = s.db.ExecContext(ctx, `DELETE FROM refusals WHERE item = ?`, have.ID.String())
	return evicted, err
}

// refuse records why an item could not be admitted, for the box's status; best effort, since
// the disk may be too full for even that.
func (s *Store) refuse(ctx context.Context, id media.ItemID, area string, why error, now time.Time) {
	s.db.ExecContext(ctx, `INSERT OR REPLACE INTO refusals (item, area, reason, at) VALUES (?, ?, ?, ?)`, id.String(), area, why.Error(), now.UnixMilli())
}

// Refusal is an item the box could not take in for lack of space.
type Refusal struct {
	Item   media.ItemID
	Area   string
	Reason string
	At     time.Time
}

// Refusals lists items refused for lack of space and not admitted since.
func (s *Store) Refusals(ctx context.Context) ([]Refusal, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT item, area, reason, at FROM refusals ORDER BY at, item`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Refusal
	for rows.Next() {
		var r Refusal
		var id string
		var at int64
		if err := rows.Scan(&id, &r.Area, &r.Reason, &at); err != nil {
			return nil, err
		}
		if r.Item, err = media.ParseItemID(id); err != nil {
			return nil, err
		}
		r.At = time.UnixMilli(at).UTC()
		out = append(out, r)
	}
	return out, rows.Err()
}

// allocate makes the file at path size bytes long with the blocks of [off, end) allocated
// (fallocate), so the space is taken now rather than when the last piece arrives.
func allocate(path string, size, off, end int64) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	if err := f.Truncate(size); err != nil {
		f.Close()
		return err
	}
	if end > off {
		if err := syscall.Fallocate(int(f.Fd()), 0, off, end-off); err != nil && !errors.Is(err, syscall.EOPNOTSUPP) {
			f.Close()
			return err
		}
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// makeRoom evicts candidates other than keep until quotaNeed more bytes fit in area's quota and
// diskNeed on the disk. It works out the whole choice first, so an item that cannot fit evicts
// nothing.
func (s *Store) makeRoom(ctx context.Context, area string, quotaNeed, diskNeed int64, keep media.ItemID, now time.Time, evict func(media.ItemID)) ([]media.ItemID, error) {
	spaces, err := s.Spaces(ctx)
	if err != nil {
		return nil, err
	}
	sp := spaces[slices.IndexFunc(spaces, func(x Space) bool { return x.Area == area })]
	quotaShort := int64(0)
	if sp.Quota > 0 {
		quotaShort = sp.Used + quotaNeed - sp.Quota
	}
	diskShort := diskNeed - s.diskFree()
	if quotaShort <= 0 && diskShort <= 0 {
		return nil, nil
	}
	cands, err := s.EvictionCandidates(ctx, now)
	if err != nil {
		return nil, err
	}
	var chosen []Candidate
	for _, c := range cands {
		if quotaShort <= 0 && diskShort <= 0 {
			break
		}
		if c.Item == keep {
			continue
		}
		// Evicting from another area helps a disk shortage, never a quota.
		if quotaShort > 0 && c.Area != area && diskShort <= 0 {
			continue
		}
		chosen = append(chosen, c)
		diskShort -= c.Size
		if c.Area == area {
			quotaShort -= c.Size
		}
	}
	switch {
	case quotaShort > 0:
		return nil, fmt.Errorf("%w: the %s area's quota is %d bytes, %d are used and the eviction rules free too little: remove a wish or raise the quota", ErrNoSpace, area, sp.Quota, sp.Used)
	case diskShort > 0:
		return nil, fmt.Errorf("%w: the disk is full (%d bytes free) and the eviction rules free too little: remove a wish", ErrNoSpace, s.diskFree())
	}
	var evicted []media.ItemID
	for _, c := range chosen {
		if evict != nil {
			evict(c.Item)
		}
		if err := s.evict(ctx, c.Item, c.Reason, now); err != nil {
			return evicted, err
		}
		evicted = append(evicted, c.Item)
	}
	return evicted, nil
}

// Candidate is an item the eviction rules allow to go, and why.
type Candidate struct {
	Item   media.ItemID
	Area   string
	Size   int64
	Reason string
}

// Eviction reasons, in the order the rules take them.
const (
	ReasonExpiredRental = "expired rental"
	ReasonCache         = "cache placement"
	ReasonUnwished      = "no longer wished"
	ReasonScheduler     = "scheduler"
)

// EvictionCandidates lists, in the order they go, the items the box may delete to make room:
//
//  1. items whose only license is a rental that has expired;
//  2. cache placements, least recently updated first;
//  3. items in the wishlist area the household no longer wishes for and has no license for.
//
// Never listed: preload items (read-only), items being played (see Playing), items on the
// wishlist, items with a license still valid or owned. The scheduler's evictions (Evict) are
// honoured apart from the first two.
func (s *Store) EvictionCandidates(ctx context.Context, now time.Time) ([]Candidate, error) {
	items, err := s.Items(ctx)
	if err != nil {
		return nil, err
	}
	wish, _, err := s.Wishlist(ctx)
	if err != nil {
		return nil, err
	}
	id, err := s.Identity(ctx)
	if err != nil && !errors.Is(err, ErrNoIdentity) {
		return nil, err
	}
	var rentals, cache, unwished []Candidate
	slices.SortStableFunc(items, func(a, b Item) int { return a.Updated.Compare(b.Updated) })
	for _, it := range items {
		if it.Area == AreaPreload {
			continue
		}
		if playing, err := s.isPlaying(ctx, it.ID, now); err != nil {
			return nil, err
		} else if playing {
			continue
		}
		lic, licErr := s.License(ctx, it.ID)
		hasLicense := licErr == nil
		if licErr != nil && !errors.Is(licErr, ErrNotFound) {
			return nil, licErr
		}
		if hasLicense {
			l, err := media.ParseLicense(lic, id.HeadendKey)
			if err == nil && l.Kind == media.Rental && !now.Before(l.Expires) {
				rentals = append(rentals, Candidate{it.ID, it.Area, it.Size, ReasonExpiredRental})
			}
			continue
		}
		switch {
		case it.Area == AreaCache && !slices.Contains(wish, it.ID):
			cache = append(cache, Candidate{it.ID, it.Area, it.Size, ReasonCache})
		case it.Area == AreaWishlist && !slices.Contains(wish, it.ID):
			unwished = append(unwished, Candidate{it.ID, it.Area, it.Size, ReasonUnwished})
		}
	}
	return slices.Concat(rentals, cache, unwished), nil
}

// Evict deletes an item the scheduler asked the box to drop. Preload items and items being
// played are refused with ErrNotEvictable. The caller stops serving the item first.
func (s *Store) Evict(ctx context.Context, item media.ItemID, now time.Time) error {
	it, err := s.GetItem(ctx, item)
	if err != nil {
		return err
	}
	if it.Area == AreaPreload {
		return fmt.Errorf("%s is a factory preload, read-only to the box: %w", item, ErrNotEvictable)
	}
	if playing, err := s.isPlaying(ctx, item, now); err != nil {
		return err
	} else if playing {
		return fmt.Errorf("%s is being played: %w", item, ErrNotEvictable)
	}
	return s.evict(ctx, item, ReasonScheduler, now)
}

// evict removes the item's rows (item, piece completion) in one transaction, then its file. A
// crash in between leaves an orphaned file that the next Open removes.
func (s *Store) evict(ctx context.Context, item media.ItemID, reason string, now time.Time) error {
	it, err := s.GetItem(ctx, item)
	if err != nil {
		return err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, q := range []string{`DELETE FROM items WHERE id = ?`, `DELETE FROM pieces WHERE info_hash = ?`} {
		arg := item.String()
		if strings.Contains(q, "pieces") {
			arg = it.InfoHash
		}
		if _, err := tx.ExecContext(ctx, q, arg); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO evictions (item, area, reason, at) VALUES (?, ?, ?, ?)`, item.String(), it.Area, reason, now.UnixMilli()); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	if err := os.Remove(filepath.Join(s.MediaDir(), item.String()+".sbx")); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("evicted %s but could not remove its file (removed on next start): %w", item, err)
	}
	return nil
}

// Eviction is one past eviction.
type Eviction struct {
	Item   media.ItemID
	Area   string
	Reason string
	At     time.Time
}

// Evictions lists past evictions, oldest first.
func (s *Store) Evictions(ctx context.Context) ([]Eviction, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT item, area, reason, at FROM evictions ORDER BY rowid`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Eviction
	for rows.Next() {
		var e Eviction
		var id string
		var at int64
		if err := rows.Scan(&id, &e.Area, &e.Reason, &at); err != nil {
			return nil, err
		}
		if e.Item, err = media.ParseItemID(id); err != nil {
			return nil, err
		}
		e.At = time.UnixMilli(at).UTC()
		out = append(out, e)
	}
	return out, rows.Err()
}

// Playing marks item as being played until the given time (a lease the player renews), so no
// eviction touches it; a zero until ends it.
func (s *Store) Playing(ctx context.Context, item media.ItemID, until time.Time) error {
	if until.IsZero() {
		_, err := s.db.ExecContext(ctx, `DELETE FROM playing WHERE item = ?`, item.String())
		return err
	}
	_, err := s.db.ExecContext(ctx, `INSERT OR REPLACE INTO playing (item, until) VALUES (?, ?)`, item.String(), until.UnixMilli())
	return err
}

func (s *Store) isPlaying(ctx context.Context, item media.ItemID, now time.Time) (bool, error) {
	var until int64
	err := s.db.QueryRowContext(ctx, `SELECT until FROM playing WHERE item = ?`, item.String()).Scan(&until)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil && now.UnixMilli() < until, err
}

// AddPreloaded records a container the factory wrote into the preload area: the file must
// already be at PreloadDir()/<item>.sbx and match the torrent. Every piece is verified against
// the torrent's hashes here, and recorded complete, so the box seeds it from its first start
// without a recheck. Running it again for the same item changes nothing.
func (s *Store) AddPreloaded(ctx context.Context, item media.ItemID, torrent []byte, now time.Time) error {
	mi, err := metainfo.Load(bytes.NewReader(torrent))
	if err != nil {
		return fmt.Errorf("preload %s: metainfo: %w", item, err)
	}
	info, err := mi.UnmarshalInfo()
	if err != nil {
		return fmt.Errorf("preload %s: metainfo info: %w", item, err)
	}
	if info.Private == nil || !*info.Private {
		return fmt.Errorf("preload %s: the torrent is not marked private", item)
	}
	if want := item.String() + ".sbx"; info.Name != want || len(info.Files) > 0 {
		return fmt.Errorf("preload %s: the torrent names %q, want the single file %q", item, info.Name, want)
	}
	path := filepath.Join(s.PreloadDir(), item.String()+".sbx")
	if err := verifyPieces(path, &info); err != nil {
		return fmt.Errorf("preload %s: %w", item, err)
	}
	ih := mi.HashInfoBytes()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `INSERT INTO items (id, info_hash, torrent, complete, pieces, total, updated, area, size) VALUES (?, ?, ?, 1, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET area = excluded.area, complete = 1, pieces = excluded.pieces, size = excluded.size, range_begin = 0, range_end = 0`,
		item.String(), ih.HexString(), torrent, info.NumPieces(), info.NumPieces(), now.UnixMilli(), AreaPreload, info.TotalLength()); err != nil {
		return err
	}
	for i := range info.NumPieces() {
		if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO pieces (info_hash, idx, complete) VALUES (?, ?, 1)`, ih.HexString(), i); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// verifyPieces checks the file at path against every piece hash of info.
func verifyPieces(path string, info *metainfo.Info) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("the container is not in the preload folder: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if fi.Size() != info.TotalLength() {
		return fmt.Errorf("%s has %d bytes, the torrent says %d", path, fi.Size(), info.TotalLength())
	}
	buf := make([]byte, info.PieceLength)
	for i := range info.NumPieces() {
		p := info.Piece(i)
		b := buf[:p.Length()]
		if _, err := f.ReadAt(b, p.Offset()); err != nil {
			return fmt.Errorf("read piece %d: %w", i, err)
		}
		want, ok := p.V1Hash().AsTuple()
		if !ok || sha1.Sum(b) != [20]byte(want) {
			return fmt.Errorf("piece %d of %s does not match the torrent: the container is damaged", i, path)
		}
	}
	return nil
}
